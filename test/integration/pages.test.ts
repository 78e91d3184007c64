import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../_setup.ts';

describe('pages and their modules are served; their type-checking files are not', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startServer({ analyzers: [] });
  });
  afterAll(async () => {
    await t?.close();
  });

  it.each([
    ['/', /text\/html/],
    ['/capture.html', /text\/html/],
    ['/viewer.html', /text\/html/],
    ['/capture.js', /javascript/],
    ['/capture/ingest-client.js', /javascript/],
    ['/viewer/player-settings.js', /javascript/],
    ['/vendor/dash.all.min.js', /javascript/],
  ])('GET %s → 200', async (path, type) => {
    const res = await fetch(`${t.url}${path}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(type);
  });

  it.each(['/tsconfig.json', '/globals.d.ts'])('GET %s → 404', async (path) => {
    const res = await fetch(`${t.url}${path}`);
    expect(res.status).toBe(404);
  });
});
