import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { type ApiSource, apiPlugin } from '../../../src/api/api-plugin.ts';
import type { StreamInfo } from '../../../src/api/stream-info.ts';

/** A source with no live streams and no events. */
const emptySource: ApiSource = {
  list: () => [],
  get: (): StreamInfo | undefined => undefined,
  recentEvents: () => [],
  subscribe: () => () => undefined,
};

describe('apiPlugin errors', () => {
  let app: FastifyInstance | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  async function start(): Promise<string> {
    app = Fastify({ logger: false });
    await app.register(apiPlugin, { source: emptySource });
    return app.listen({ host: '127.0.0.1', port: 0 });
  }

  it('answers a stream that is not live with 404 DR_ERR_STREAM_NOT_FOUND', async () => {
    const base = await start();
    const res = await fetch(`${base}/api/streams/cam1`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({
      code: 'DR_ERR_STREAM_NOT_FOUND',
      message: 'No live stream named cam1',
    });
  });

  it.each(['/api/streams/a.b', '/api/streams/a.b/events', '/api/streams/a.b/events/live'])(
    'answers a bad stream name in %s with 400 DR_ERR_API_BAD_REQUEST, not fastify’s FST_ERR_VALIDATION',
    async (path) => {
      const base = await start();
      const res = await fetch(`${base}${path}`);
      expect(res.status).toBe(400);
      const body = (await res.json()) as { code: string; message: string };
      expect(body.code).toBe('DR_ERR_API_BAD_REQUEST');
      expect(body.message).toMatch(/^Bad request: params\/stream/);
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
    },
  );
});
