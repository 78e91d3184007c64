import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocketServer } from 'ws';
import { IngestClient, parseServerMessage } from '../../../src/cli/ingest-client.ts';
import { runPublish } from '../../../src/cli/publish.ts';

describe('parseServerMessage', () => {
  it.each([
    ['not JSON', 'hello?'],
    ['JSON that is not an object', '42'],
    ['null', 'null'],
    ['an unknown type', '{"type":"party"}'],
  ])('returns undefined for %s', (_why, text) => {
    expect(parseServerMessage(text)).toBeUndefined();
  });

  it('reads the protocol messages', () => {
    expect(
      parseServerMessage('{"type":"error","code":"DR_ERR_INGEST_STREAM_BUSY","message":"busy"}'),
    ).toEqual({
      type: 'error',
      code: 'DR_ERR_INGEST_STREAM_BUSY',
      message: 'busy',
    });
    expect(
      parseServerMessage('{"type":"status","bytesReceived":5,"bitrateBps":8,"packager":"running"}'),
    ).toEqual({
      type: 'status',
      bytesReceived: 5,
      bitrateBps: 8,
      packager: 'running',
    });
  });
});

describe('runPublish against a misbehaving server', () => {
  let wss: WebSocketServer | undefined;
  afterEach(async () => {
    vi.restoreAllMocks();
    await new Promise<void>((r) => (wss ? wss.close(() => r()) : r()));
  });

  it('survives text that is not JSON, reports a refusal, exits 5 and removes its signal handlers', async () => {
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((r) => wss?.once('listening', () => r()));
    const { port } = wss.address() as { port: number };
    wss.on('connection', (socket) => {
      socket.once('message', () => {
        socket.send('this is not JSON {');
        socket.send(
          JSON.stringify({
            type: 'error',
            code: 'DR_ERR_INGEST_UNSUPPORTED_MIME',
            message: 'not a container',
          }),
        );
        socket.close(4005, 'unsupported');
      });
    });
    const errors: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void errors.push(args.join(' ')));
    vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const before = { int: process.listenerCount('SIGINT'), term: process.listenerCount('SIGTERM') };

    const code = await runPublish([
      '--server',
      `http://127.0.0.1:${port}`,
      '--stream',
      'cam',
      '--preset',
      'test',
    ]);

    expect(code).toBe(5);
    expect(errors.join('\n')).toMatch(/not part of the protocol/);
    expect(errors.join('\n')).toMatch(
      /the server refused the stream: not a container \[DR_ERR_INGEST_UNSUPPORTED_MIME\]/,
    );
    expect({ int: process.listenerCount('SIGINT'), term: process.listenerCount('SIGTERM') }).toEqual(before);
  });

  it('retries a busy name (4009) after about a second, and stops at a bad name (4001)', async () => {
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((r) => wss?.once('listening', () => r()));
    const { port } = wss.address() as { port: number };
    const connectedAt: number[] = [];
    wss.on('connection', (socket) => {
      connectedAt.push(Date.now());
      const busy = connectedAt.length === 1;
      socket.once('message', () => {
        const code = busy ? 'DR_ERR_INGEST_STREAM_BUSY' : 'DR_ERR_INGEST_STREAM_NAME';
        socket.send(JSON.stringify({ type: 'error', code, message: busy ? 'busy' : 'bad name' }));
        socket.close(busy ? 4009 : 4001, code);
      });
    });
    const errors: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void errors.push(args.join(' ')));
    vi.spyOn(console, 'log').mockImplementation(() => undefined);

    const code = await runPublish([
      '--server',
      `http://127.0.0.1:${port}`,
      '--stream',
      'cam',
      '--preset',
      'test',
    ]);

    expect(code).toBe(5);
    expect(connectedAt).toHaveLength(2);
    const gap = (connectedAt[1] ?? 0) - (connectedAt[0] ?? 0);
    expect(gap).toBeGreaterThan(700);
    expect(gap).toBeLessThan(2500);
    expect(errors.join('\n')).toMatch(
      /stream "cam" is pulled by the server from a camera right now; retrying in [01]\.\d s \(attempt 1\)/,
    );
    expect(errors.join('\n')).toMatch(/refused the stream: bad name \[DR_ERR_INGEST_STREAM_NAME\]/);
  });

  it('with --no-reconnect: exits 6 when no server listens', async () => {
    wss = undefined;
    const errors: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void errors.push(args.join(' ')));
    vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const probe = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((r) => probe.once('listening', () => r()));
    const { port } = probe.address() as { port: number };
    await new Promise<void>((r) => probe.close(() => r()));

    const code = await runPublish([
      '--server',
      `http://127.0.0.1:${port}`,
      '--stream',
      'cam',
      '--preset',
      'test',
      '--no-reconnect',
    ]);

    expect(code).toBe(6);
    expect(errors.join('\n')).toMatch(
      /cannot reach .*ECONNREFUSED.*Is `dashrelay serve` running\?; not reconnecting/,
    );
  });
});

describe('IngestClient silenceTimeoutMs', () => {
  it('drops a connection whose server stopped answering (no messages, no pongs) and says so', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, autoPong: false });
    await new Promise<void>((r) => wss.once('listening', () => r()));
    const { port } = wss.address() as { port: number };
    try {
      const closed = new Promise<number>((resolve) => {
        const client: IngestClient = new IngestClient(
          `ws://127.0.0.1:${port}/ingest/cam`,
          { mimeType: 'video/x-matroska' },
          {
            onReady: () => undefined,
            onClose: (code) => {
              expect(client.silent).toBe(true);
              resolve(code);
            },
            onSocketError: () => undefined,
          },
          { silenceTimeoutMs: 300 },
        );
      });
      const started = Date.now();
      expect(await closed).toBe(1006);
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
    }
  });
});
