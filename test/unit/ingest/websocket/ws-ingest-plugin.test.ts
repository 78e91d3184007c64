import { EventEmitter } from 'node:events';
import fastifyWebsocket from '@fastify/websocket';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { createError } from '../../../../src/errors/errors.ts';
import { type IngestSession, wsIngestPlugin } from '../../../../src/ingest/websocket/ws-ingest-plugin.ts';
import { eventually, sleep, TestPublisher } from '../../../_setup.ts';

/** A session double: records pushes, lets the test raise its events. */
class FakeSession extends EventEmitter implements IngestSession {
  readonly info = { sessionId: 'fake-session' };
  readonly state: Record<string, string> = { packager: 'running' };
  readonly pushed: Buffer[] = [];
  paused = false;
  ended = false;
  get bytesReceived(): number {
    return this.pushed.reduce((n, b) => n + b.length, 0);
  }
  push(chunk: Buffer): void {
    this.pushed.push(chunk);
  }
  bitrateBps(): number {
    return 8000;
  }
  async end(): Promise<void> {
    this.ended = true;
  }
}

const ebmlHeader = Buffer.from([0x1a, 0x45, 0xdf, 0xa3, 0x9f]);
const hello = JSON.stringify({ type: 'hello', mimeType: 'video/x-matroska;codecs=avc1' });

describe('wsIngestPlugin (real WebSocket, fake session)', () => {
  let app: FastifyInstance | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  async function start(
    openSession: () => Promise<{ session: IngestSession; archive: string }>,
    idleTimeoutMs?: number,
  ) {
    app = Fastify({ logger: false });
    await app.register(fastifyWebsocket);
    await app.register(wsIngestPlugin, { openSession, statusIntervalMs: 50, idleTimeoutMs });
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    return address.replace(/^http/, 'ws');
  }

  it('sends ready, status, then passes media to the session in order', async () => {
    const session = new FakeSession();
    const url = await start(async () => ({ session, archive: 'cam/archive/x.mkv' }));
    const pub = new TestPublisher(url, 'cam');
    await pub.opened;
    pub.ws.send(hello);
    const ready = await pub.waitFor('ready');
    expect(ready).toMatchObject({ stream: 'cam', sessionId: 'fake-session', archive: 'cam/archive/x.mkv' });
    pub.ws.send(ebmlHeader);
    pub.ws.send(Buffer.from('more'));
    const status = await pub.waitFor('status');
    expect(status).toMatchObject({ bitrateBps: 8000, packager: 'running' });
    await pub.end();
    expect(Buffer.concat(session.pushed).toString('latin1')).toBe(
      Buffer.concat([ebmlHeader, Buffer.from('more')]).toString('latin1'),
    );
    expect(session.ended).toBe(true);
  });

  it('closes a publisher that sends no media after ready with 4008 DR_ERR_INGEST_IDLE', async () => {
    const session = new FakeSession();
    const url = await start(async () => ({ session, archive: '' }), 300);
    const pub = new TestPublisher(url, 'cam');
    await pub.opened;
    pub.ws.send(hello);
    await pub.waitFor('ready');
    await pub.closed;
    expect(pub.closeCode).toBe(4008);
    expect(pub.messages.at(-1)).toMatchObject({ code: 'DR_ERR_INGEST_IDLE' });
    await eventually(() => session.ended || undefined, 2000, 'session ended');
  });

  it('does not count time the session holds the publisher back, and restarts the watch on each message', async () => {
    const session = new FakeSession();
    const url = await start(async () => ({ session, archive: '' }), 400);
    const pub = new TestPublisher(url, 'cam');
    await pub.opened;
    pub.ws.send(hello);
    await pub.waitFor('ready');
    for (let i = 0; i < 4; i++) {
      pub.ws.send(i === 0 ? ebmlHeader : Buffer.from('more'));
      await sleep(200);
    }
    session.paused = true;
    session.emit('pause');
    await sleep(800);
    expect(pub.closeCode).toBeUndefined();
    session.paused = false;
    session.emit('resume');
    await pub.closed;
    expect(pub.closeCode).toBe(4008);
  });

  it('passes a session warning on and keeps the socket open', async () => {
    const session = new FakeSession();
    const url = await start(async () => ({ session, archive: '' }));
    const pub = new TestPublisher(url, 'cam');
    await pub.opened;
    pub.ws.send(hello);
    await pub.waitFor('ready');
    session.emit('warning', { code: 'DR_ERR_PACKAGER_EXITED', message: 'gone' });
    expect(await pub.waitFor('warning')).toMatchObject({ code: 'DR_ERR_PACKAGER_EXITED', message: 'gone' });
    expect(pub.closeCode).toBeUndefined();
    await pub.end();
  });

  it.each([
    [
      'a catalogue error keeps its code',
      createError('DR_ERR_ARCHIVE_WRITE', 'a.mkv', 'ENOSPC'),
      'DR_ERR_ARCHIVE_WRITE',
      4500,
    ],
    [
      'an uncoded error is an internal error, not the publisher’s bad message',
      new TypeError('bug'),
      'DR_ERR_SERVER_INTERNAL',
      1011,
    ],
  ])('on a fatal session error: %s', async (_why, err, code, closeCode) => {
    const session = new FakeSession();
    const url = await start(async () => ({ session, archive: '' }));
    const pub = new TestPublisher(url, 'cam');
    await pub.opened;
    pub.ws.send(hello);
    await pub.waitFor('ready');
    session.emit('fatal', err);
    await pub.closed;
    expect(pub.messages.at(-1)).toMatchObject({ type: 'error', code });
    expect(pub.closeCode).toBe(closeCode);
  });

  it('reports an uncoded failure to open the session as DR_ERR_SESSION_START', async () => {
    const url = await start(async () => {
      throw new Error('EMFILE: too many open files');
    });
    const pub = new TestPublisher(url, 'cam');
    await pub.opened;
    pub.ws.send(hello);
    await pub.closed;
    expect(pub.messages.at(-1)).toMatchObject({ type: 'error', code: 'DR_ERR_SESSION_START' });
    expect(pub.messages.at(-1)?.message).toMatch(/EMFILE/);
    expect(pub.closeCode).toBe(4502);
  });

  it('refuses bytes that are not a Matroska header however the first message is split', async () => {
    const session = new FakeSession();
    const url = await start(async () => ({ session, archive: '' }));
    const pub = new TestPublisher(url, 'cam');
    await pub.opened;
    pub.ws.send(hello);
    await pub.waitFor('ready');
    pub.ws.send(Buffer.from([0x00]));
    pub.ws.send(Buffer.from([0x00, 0x00, 0x18]));
    await pub.closed;
    expect(pub.closeCode).toBe(4004);
    expect(session.pushed).toHaveLength(0);
  });
});
