import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PutReceiver, type PutTarget } from '../../../../src/packager/ffmpeg/put-receiver.ts';
import { eventually, sleep } from '../../../_setup.ts';
import { startUpload } from '../../../_upload.ts';

/** A session double: journals every call, in order. */
class FakeTarget implements PutTarget {
  readonly journal: string[] = [];
  refuse = false;

  begin(name: string) {
    this.journal.push(`begin ${name}`);
    if (this.refuse) return undefined;
    return {
      append: (chunk: Buffer) => this.journal.push(`append ${name} ${chunk.toString()}`),
      finish: () => this.journal.push(`finish ${name}`),
      abort: () => this.journal.push(`abort ${name}`),
    };
  }
  remove(name: string): void {
    this.journal.push(`remove ${name}`);
  }
  manifest(body: Buffer): void {
    this.journal.push(`manifest ${body.toString()}`);
  }
}

function call(url: string, method: string, body?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('PutReceiver (real loopback HTTP, fake target)', () => {
  let receiver: PutReceiver;
  let target: FakeTarget;
  let base: string;
  let secret: string;

  beforeEach(async () => {
    receiver = new PutReceiver();
    await receiver.start();
    target = new FakeTarget();
    ({ baseUrl: base, path: secret } = receiver.register(target));
    // The uploads in these tests come from this process: it stands for the session's ffmpeg.
    receiver.setOwner(secret, process.pid);
  });
  afterEach(async () => {
    await receiver.close();
  });

  it('gives a base URL on loopback with the secret as its only path segment', () => {
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/[0-9a-f]{32}\/$/);
    expect(new URL(base).pathname).toBe(`/${secret}/`);
  });

  it.each(['PUT', 'POST'])(
    'hands a segment %s to the target piece by piece as it arrives',
    async (method) => {
      const upload = startUpload(`${base}seg-0-00001.m4s`, method);
      await upload.write('moof-1');
      await eventually(() => target.journal.includes('append seg-0-00001.m4s moof-1') || undefined, 2000);
      expect(target.journal).toEqual(['begin seg-0-00001.m4s', 'append seg-0-00001.m4s moof-1']);
      await upload.write('moof-2');
      await eventually(() => target.journal.length === 3 || undefined, 2000);
      expect(await upload.end()).toBe(204);
      expect(target.journal).toEqual([
        'begin seg-0-00001.m4s',
        'append seg-0-00001.m4s moof-1',
        'append seg-0-00001.m4s moof-2',
        'finish seg-0-00001.m4s',
      ]);
    },
  );

  it('takes an init segment, ignoring a query string', async () => {
    expect(await call(`${base}init-0.m4s?x=1`, 'PUT', 'moov')).toBe(204);
    expect(target.journal).toEqual(['begin init-0.m4s', 'append init-0.m4s moov', 'finish init-0.m4s']);
  });

  it('aborts a segment whose upload breaks, never finishing it', async () => {
    const upload = startUpload(`${base}seg-0-00002.m4s`);
    await upload.write('half');
    await eventually(() => target.journal.length === 2 || undefined, 2000);
    upload.break();
    await eventually(() => target.journal.includes('abort seg-0-00002.m4s') || undefined, 2000);
    expect(target.journal).not.toContain('finish seg-0-00002.m4s');
  });

  it('answers 204 and drops the body when the target refuses a segment', async () => {
    target.refuse = true;
    expect(await call(`${base}seg-0-00001.m4s`, 'PUT', 'bytes')).toBe(204);
    expect(target.journal).toEqual(['begin seg-0-00001.m4s']);
  });

  it('hands the manifest over whole, and only once it is complete', async () => {
    const upload = startUpload(`${base}manifest.mpd`);
    await upload.write('<MPD type="dynamic">');
    await sleep(100);
    expect(target.journal).toEqual([]);
    await upload.write('</MPD>');
    await sleep(50);
    expect(target.journal).toEqual([]);
    expect(await upload.end()).toBe(204);
    expect(target.journal).toEqual(['manifest <MPD type="dynamic"></MPD>']);
  });

  it('never publishes a manifest whose upload breaks', async () => {
    const upload = startUpload(`${base}manifest.mpd`);
    await upload.write('<MPD type="dynamic"><Period');
    await sleep(50);
    upload.break();
    await sleep(150);
    // The connection is gone: a later, complete manifest still gets through.
    expect(await call(`${base}manifest.mpd`, 'PUT', '<MPD/>')).toBe(204);
    expect(target.journal).toEqual(['manifest <MPD/>']);
  });

  it('removes a deleted segment', async () => {
    expect(await call(`${base}seg-0-00001.m4s`, 'DELETE')).toBe(204);
    expect(target.journal).toEqual(['remove seg-0-00001.m4s']);
  });

  it('never removes the manifest', async () => {
    expect(await call(`${base}manifest.mpd`, 'DELETE')).toBe(204);
    expect(target.journal).toEqual([]);
  });

  it.each([
    [
      'a wrong secret',
      (b: string) => b.replace(/[0-9a-f]{32}\/$/, `${'0'.repeat(32)}/`),
      'seg-0-00001.m4s',
      403,
    ],
    ['no secret', (b: string) => new URL('/', b).href, 'seg-0-00001.m4s', 403],
    ['extra path segments', (b: string) => b, 'seg-0-00001.m4s/more', 403],
    ['a trailing slash', (b: string) => b, 'seg-0-00001.m4s/', 403],
    ['a path traversal', (b: string) => b, '../init-0.m4s', 403],
    ['an unknown name', (b: string) => b, 'notes.txt', 400],
    ['no name', (b: string) => b, '', 400],
  ])('refuses %s (%s)', async (_why, baseFor, name, status) => {
    const url = `${baseFor(base)}${name}`;
    expect(await call(url, 'PUT', 'x')).toBe(status);
    expect(await call(url, 'DELETE')).toBe(status);
    expect(target.journal).toEqual([]);
  });

  it.each(['GET', 'PATCH'])('answers 405 to %s', async (method) => {
    expect(await call(`${base}seg-0-00001.m4s`, method)).toBe(405);
    expect(await call(`${base}manifest.mpd`, method)).toBe(405);
    expect(target.journal).toEqual([]);
  });

  it('delivers to each session its own uploads only', async () => {
    const other = new FakeTarget();
    const registered = receiver.register(other);
    receiver.setOwner(registered.path, process.pid);
    const otherBase = registered.baseUrl;
    expect(otherBase).not.toBe(base);
    expect(await call(`${otherBase}seg-0-00001.m4s`, 'PUT', 'B')).toBe(204);
    expect(await call(`${base}seg-0-00001.m4s`, 'PUT', 'A')).toBe(204);
    expect(other.journal).toContain('append seg-0-00001.m4s B');
    expect(target.journal).toContain('append seg-0-00001.m4s A');
    expect(target.journal.join()).not.toContain(' B');
  });

  it('stops delivering once the session is unregistered', async () => {
    receiver.unregister(secret);
    expect(await call(`${base}seg-0-00001.m4s`, 'PUT', 'late')).toBe(403);
    expect(await call(`${base}manifest.mpd`, 'PUT', '<MPD/>')).toBe(403);
    expect(await call(`${base}seg-0-00001.m4s`, 'DELETE')).toBe(403);
    expect(target.journal).toEqual([]);
  });

  it('starts and closes idempotently', async () => {
    await receiver.start();
    expect(await call(`${base}init-0.m4s`, 'PUT', 'moov')).toBe(204);
    await receiver.close();
    await receiver.close();
  });
});

/** A PUT from another process (a local user who read the URL in `ps`); resolves to its status. */
function putFromChild(url: string): { pid: number; status: Promise<number> } {
  const child = spawn(process.execPath, [
    '-e',
    `const r = require('node:http').request(${JSON.stringify(url)}, { method: 'PUT' }, (res) => { console.log(res.statusCode); res.resume(); });
     r.on('error', () => console.log(0)); r.end('forged');`,
  ]);
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const status = new Promise<number>((resolve) => child.once('exit', () => resolve(Number(out.trim()))));
  return { pid: child.pid ?? 0, status };
}

describe("PutReceiver: only the session's own ffmpeg process may upload (Linux)", () => {
  let receiver: PutReceiver;
  beforeEach(async () => {
    receiver = new PutReceiver({ ownerWaitMs: 1000 });
    await receiver.start();
  });
  afterEach(async () => receiver.close());

  it('checks the owning process where /proc lists socket owners', () => {
    expect(receiver.authentication).toBe('process');
  });

  it("refuses 403 an upload to the right path from another process, and takes its owner's", async () => {
    const target = new FakeTarget();
    const { baseUrl, path } = receiver.register(target);
    receiver.setOwner(path, process.pid);
    const forged = putFromChild(`${baseUrl}seg-0-00001.m4s`);
    expect(await forged.status).toBe(403);
    expect(target.journal).toEqual([]);
    expect(await call(`${baseUrl}seg-0-00001.m4s`, 'PUT', 'real')).toBe(204);
    expect(target.journal).toContain('append seg-0-00001.m4s real');
  });

  it('refuses this process once another one is the owner', async () => {
    const target = new FakeTarget();
    const { baseUrl, path } = receiver.register(target);
    receiver.setOwner(path, process.ppid);
    expect(await call(`${baseUrl}init-0.m4s`, 'PUT', 'moov')).toBe(403);
    expect(target.journal).toEqual([]);
  });

  it('holds an upload that comes before its owner is known, then takes it whole', async () => {
    const target = new FakeTarget();
    const { baseUrl, path } = receiver.register(target);
    const pending = call(`${baseUrl}init-0.m4s`, 'PUT', 'moov');
    await sleep(100);
    receiver.setOwner(path, process.pid);
    expect(await pending).toBe(204);
    expect(target.journal).toEqual(['begin init-0.m4s', 'append init-0.m4s moov', 'finish init-0.m4s']);
  });

  it('refuses 403 an upload whose owner never comes, after ownerWaitMs', async () => {
    const target = new FakeTarget();
    const { baseUrl } = receiver.register(target);
    expect(await call(`${baseUrl}init-0.m4s`, 'PUT', 'moov')).toBe(403);
    expect(target.journal).toEqual([]);
  });

  it('with secret-path authentication (macOS), the path alone is enough', async () => {
    const open = new PutReceiver({ authentication: 'secret-path' });
    await open.start();
    try {
      const target = new FakeTarget();
      const { baseUrl } = open.register(target);
      expect(open.authentication).toBe('secret-path');
      expect(await call(`${baseUrl}init-0.m4s`, 'PUT', 'moov')).toBe(204);
    } finally {
      await open.close();
    }
  });
});
