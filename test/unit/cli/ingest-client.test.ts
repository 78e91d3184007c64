import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocketServer } from 'ws';
import { parseServerMessage } from '../../../src/cli/ingest-client.ts';
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

  it('survives text that is not JSON, reports the error, exits 1 and removes its signal handlers', async () => {
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((r) => wss?.once('listening', () => r()));
    const { port } = wss.address() as { port: number };
    wss.on('connection', (socket) => {
      socket.once('message', () => {
        socket.send('this is not JSON {');
        socket.send(JSON.stringify({ type: 'error', code: 'DR_ERR_INGEST_STREAM_BUSY', message: 'busy' }));
        socket.close(4009, 'busy');
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
      '--input',
      'testsrc2',
      '--input-format',
      'lavfi',
    ]);

    expect(code).toBe(1);
    expect(errors.join('\n')).toMatch(/not part of the protocol/);
    expect(errors.join('\n')).toMatch(/DR_ERR_INGEST_STREAM_BUSY/);
    expect({ int: process.listenerCount('SIGINT'), term: process.listenerCount('SIGTERM') }).toEqual(before);
  });
});
