import { EventEmitter } from 'node:events';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { LiveFile } from '../../../src/live/live-file.ts';
import { createDeliveryCounters, deliverFile } from '../../../src/origin/deliver-file.ts';
import { eventually } from '../../_setup.ts';

const headers = { 'Content-Type': 'video/mp4' };
const b = (s: string): Buffer => Buffer.from(s);

function mediaFile(...chunks: string[]): LiveFile {
  const file = new LiveFile('seg-0-00001.m4s', { kind: 'media', representation: 0, number: 1 });
  for (const c of chunks) file.append(b(c));
  return file;
}

function fileListeners(file: LiveFile): number {
  return file.listenerCount('chunk') + file.listenerCount('end') + file.listenerCount('abort');
}

/**
 * The part of a ServerResponse deliverFile uses. Written bytes stay "unsent" (counted in
 * `writableLength`) until `flush()`, like a viewer that stopped reading.
 */
class FakeResponse extends EventEmitter {
  status = 0;
  sentHeaders: Record<string, string> = {};
  headersFlushed = false;
  readonly written: Buffer[] = [];
  writableLength = 0;
  ended = false;
  destroyed = false;
  destroyCalls = 0;

  writeHead(status: number, h: Record<string, string>): this {
    this.status = status;
    this.sentHeaders = h;
    return this;
  }
  flushHeaders(): void {
    this.headersFlushed = true;
  }
  write(chunk: Buffer): boolean {
    this.written.push(chunk);
    this.writableLength += chunk.length;
    return true;
  }
  end(chunk?: Buffer): this {
    if (chunk) this.write(chunk);
    this.ended = true;
    this.emit('close');
    return this;
  }
  destroy(): this {
    this.destroyCalls++;
    this.destroyed = true;
    this.emit('close');
    return this;
  }
  flush(): void {
    this.writableLength = 0;
  }
  body(): string {
    return Buffer.concat(this.written).toString();
  }
  /** deliverFile's parameter type; the fake implements only what it calls. */
  asResponse(): ServerResponse {
    return this as unknown as ServerResponse;
  }
}

describe('deliverFile (fake response)', () => {
  it('sends a complete file whole with Content-Length, opening no response', () => {
    const file = mediaFile('ab', 'cde');
    file.finish();
    const res = new FakeResponse();
    const counters = createDeliveryCounters();
    deliverFile(file, res.asResponse(), headers, 1024, counters);
    expect(res.status).toBe(200);
    expect(res.sentHeaders).toEqual({ 'Content-Type': 'video/mp4', 'Content-Length': '5' });
    expect(res.body()).toBe('abcde');
    expect(res.ended).toBe(true);
    expect(counters).toEqual({ bytesServed: 5, viewersCutOff: 0, openResponses: 0 });
    expect(fileListeners(file)).toBe(0);
  });

  it('sends an incomplete file as it grows, then ends; openResponses goes up and back down', () => {
    const file = mediaFile('first|');
    const res = new FakeResponse();
    const counters = createDeliveryCounters();
    deliverFile(file, res.asResponse(), headers, 1024, counters);
    expect(res.sentHeaders).toEqual(headers);
    expect(res.headersFlushed).toBe(true);
    expect(res.body()).toBe('first|');
    expect(counters.openResponses).toBe(1);

    file.append(b('second|'));
    file.append(b('third'));
    expect(res.written.map(String)).toEqual(['first|', 'second|', 'third']);
    expect(res.ended).toBe(false);

    file.finish();
    expect(res.ended).toBe(true);
    expect(res.destroyed).toBe(false);
    expect(counters).toEqual({ bytesServed: 18, viewersCutOff: 0, openResponses: 0 });
    expect(fileListeners(file)).toBe(0);
    expect(res.listenerCount('close')).toBe(0);
  });

  it('destroys the response when the upload aborts', () => {
    const file = mediaFile('partial');
    const res = new FakeResponse();
    const counters = createDeliveryCounters();
    deliverFile(file, res.asResponse(), headers, 1024, counters);
    file.abort();
    expect(res.destroyed).toBe(true);
    expect(res.ended).toBe(false);
    expect(counters.openResponses).toBe(0);
    expect(fileListeners(file)).toBe(0);
  });

  it('stops sending to a viewer that went away', () => {
    const file = mediaFile('a');
    const res = new FakeResponse();
    const counters = createDeliveryCounters();
    deliverFile(file, res.asResponse(), headers, 1024, counters);
    res.emit('close');
    file.append(b('b'));
    expect(res.body()).toBe('a');
    expect(counters).toEqual({ bytesServed: 1, viewersCutOff: 0, openResponses: 0 });
    expect(fileListeners(file)).toBe(0);
    // A close after cleanup must not count the response twice.
    file.finish();
    res.emit('close');
    expect(counters.openResponses).toBe(0);
  });

  it('cuts off a viewer whose unsent backlog passes maxBufferedBytes', () => {
    const file = mediaFile();
    const res = new FakeResponse();
    const other = new FakeResponse();
    const counters = createDeliveryCounters();
    deliverFile(file, res.asResponse(), headers, 10, counters);
    deliverFile(file, other.asResponse(), headers, 10, counters);
    expect(counters.openResponses).toBe(2);

    file.append(b('123456'));
    other.flush();
    file.append(b('789012'));
    other.flush();
    // `res` has 12 bytes unsent, over the bound of 10: this chunk is not written to it.
    file.append(b('345'));
    expect(res.destroyed).toBe(true);
    expect(res.body()).toBe('123456789012');
    expect(other.destroyed).toBe(false);
    expect(other.body()).toBe('123456789012345');
    expect(counters).toEqual({ bytesServed: 12 + 15, viewersCutOff: 1, openResponses: 1 });
    expect(res.listenerCount('close')).toBe(0);

    file.finish();
    expect(other.ended).toBe(true);
    expect(counters.openResponses).toBe(0);
    expect(counters.viewersCutOff).toBe(1);
    expect(fileListeners(file)).toBe(0);
  });

  // Regression: the catch-up loop went on after the cut-off, counting one viewer once per remaining chunk.
  it('cuts off a viewer while catching up on the chunks so far, counted once', () => {
    const file = mediaFile('1234', '5678', '9abc', 'defg');
    const res = new FakeResponse();
    const counters = createDeliveryCounters();
    deliverFile(file, res.asResponse(), headers, 5, counters);
    expect(res.destroyCalls).toBe(1);
    expect(res.body()).toBe('12345678');
    expect(counters).toEqual({ bytesServed: 8, viewersCutOff: 1, openResponses: 0 });
    expect(fileListeners(file)).toBe(0);
    expect(res.listenerCount('close')).toBe(0);
  });
});

/** A raw HTTP/1.1 client: the bytes on the wire, chunk framing included. */
function rawGet(port: number): { socket: Socket; text: () => string; closed: Promise<void> } {
  const socket = connect(port, '127.0.0.1');
  let text = '';
  socket.setEncoding('latin1');
  socket.on('data', (s: string) => {
    text += s;
  });
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  socket.on('error', () => {});
  socket.write('GET /seg HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n');
  return { socket, text: () => text, closed };
}

describe('deliverFile (real HTTP server, raw socket)', () => {
  let server: Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  async function serve(file: LiveFile) {
    const counters = createDeliveryCounters();
    const srv = createServer((_req, res) => deliverFile(file, res, headers, 1024 * 1024, counters));
    server = srv;
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', () => resolve()));
    return { port: (srv.address() as AddressInfo).port, counters };
  }

  it('sends a complete file with Content-Length and no chunk framing', async () => {
    const file = mediaFile('hello ', 'world');
    file.finish();
    const { port } = await serve(file);
    const viewer = rawGet(port);
    await viewer.closed;
    const [head, body] = viewer.text().split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(head).toMatch(/\r\nContent-Length: 11(\r\n|$)/i);
    expect(head).not.toMatch(/Transfer-Encoding/i);
    expect(body).toBe('hello world');
  });

  it('sends headers at once, each chunk as appended, then the terminating chunk', async () => {
    const file = mediaFile();
    const { port, counters } = await serve(file);
    const viewer = rawGet(port);
    await eventually(() => viewer.text().includes('\r\n\r\n') || undefined, 2000, 'headers');
    expect(viewer.text()).toMatch(/Transfer-Encoding: chunked/i);
    expect(counters.openResponses).toBe(1);

    file.append(b('moof+mdat #1'));
    await eventually(() => viewer.text().endsWith('c\r\nmoof+mdat #1\r\n') || undefined, 2000, 'chunk 1');
    file.append(b('#2'));
    await eventually(() => viewer.text().endsWith('2\r\n#2\r\n') || undefined, 2000, 'chunk 2');

    file.finish();
    await viewer.closed;
    expect(viewer.text().endsWith('\r\n0\r\n\r\n')).toBe(true);
    expect(counters).toEqual({ bytesServed: 14, viewersCutOff: 0, openResponses: 0 });
  });

  it('closes the connection without the terminating chunk when the upload aborts', async () => {
    const file = mediaFile('half a segment');
    const { port, counters } = await serve(file);
    const viewer = rawGet(port);
    await eventually(() => viewer.text().includes('half a segment') || undefined, 2000, 'chunk');
    file.abort();
    await viewer.closed;
    expect(viewer.text()).not.toContain('\r\n0\r\n\r\n');
    expect(counters.openResponses).toBe(0);
  });

  it('lets go of the file when the viewer disconnects', async () => {
    const file = mediaFile('a');
    const { port, counters } = await serve(file);
    const viewer = rawGet(port);
    await eventually(() => counters.openResponses === 1 || undefined, 2000, 'response open');
    viewer.socket.destroy();
    await eventually(() => counters.openResponses === 0 || undefined, 2000, 'response closed');
    expect(fileListeners(file)).toBe(0);
    file.append(b('after'));
    expect(counters.bytesServed).toBe(1);
  });
});
