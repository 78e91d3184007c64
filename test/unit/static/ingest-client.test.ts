import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  BACKPRESSURE_HIGH,
  explainClose,
  FIRST_MESSAGE_MIN,
  IngestClient,
  type IngestHandlers,
  ingestUrl,
  isRetryableClose,
  MAX_MESSAGE,
  parseServerMessage,
  retryDelayMs,
} from '../../../static/capture/ingest-client.js';

/** Just enough of the browser's WebSocket for the client; the test drives its events. */
class FakeSocket {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  static last: FakeSocket | undefined;
  readyState = FakeSocket.CONNECTING;
  bufferedAmount = 0;
  binaryType = 'blob';
  readonly sent: (string | ArrayBuffer)[] = [];
  closedWith: [number, string] | undefined;
  onopen: (() => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;

  constructor(readonly url: string) {
    FakeSocket.last = this;
  }
  send(data: string | ArrayBuffer): void {
    this.sent.push(data);
  }
  close(code: number, reason: string): void {
    this.closedWith = [code, reason];
    this.readyState = FakeSocket.CLOSING;
  }
  open(): void {
    this.readyState = FakeSocket.OPEN;
    this.onopen?.();
  }
  receive(data: unknown): void {
    this.onmessage?.({ data: typeof data === 'string' ? data : JSON.stringify(data) });
  }
  end(code: number, reason = ''): void {
    this.readyState = FakeSocket.CLOSED;
    this.onclose?.({ code, reason });
  }
}

function handlers() {
  return {
    hello: vi.fn<IngestHandlers['hello']>(async () => ({
      type: 'hello',
      mimeType: 'video/x-matroska;codecs=avc1',
    })),
    onReady: vi.fn<IngestHandlers['onReady']>(),
    onStatus: vi.fn<IngestHandlers['onStatus']>(),
    onWarning: vi.fn<IngestHandlers['onWarning']>(),
    onSent: vi.fn<IngestHandlers['onSent']>(),
    onBackpressure: vi.fn<IngestHandlers['onBackpressure']>(),
    onSendFailed: vi.fn<IngestHandlers['onSendFailed']>(),
    onClose: vi.fn<IngestHandlers['onClose']>(),
  } satisfies IngestHandlers;
}

function socket(): FakeSocket {
  if (!FakeSocket.last) throw new Error('no socket was opened');
  return FakeSocket.last;
}

/** A client whose socket is open and has sent its hello; `sent` is emptied for the media. */
async function connected(h = handlers()) {
  const client = new IngestClient('ws://x/ingest/s', h);
  const s = socket();
  s.open();
  await vi.waitFor(() => expect(s.sent).toHaveLength(1));
  s.sent.length = 0;
  return { client, s, h };
}

const bytes = (n: number, fill = 1) => new Blob([new Uint8Array(n).fill(fill)]);

describe('ingest client (static/capture/ingest-client.js)', () => {
  beforeEach(() => {
    FakeSocket.last = undefined;
    vi.stubGlobal('WebSocket', FakeSocket);
  });
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('builds the ingest URL from the page location', () => {
    expect(ingestUrl({ protocol: 'http:', host: 'localhost:8080' }, 'cam1')).toBe(
      'ws://localhost:8080/ingest/cam1',
    );
    expect(ingestUrl({ protocol: 'https:', host: 'relay.example' }, 'a b')).toBe(
      'wss://relay.example/ingest/a%20b',
    );
  });

  it('sends hello once the socket is open, not when it closed while hello was being prepared', async () => {
    const h = handlers();
    new IngestClient('ws://x/ingest/s', h);
    expect(socket().binaryType).toBe('arraybuffer');
    socket().open();
    await vi.waitFor(() => expect(socket().sent).toHaveLength(1));
    expect(JSON.parse(String(socket().sent[0]))).toEqual({
      type: 'hello',
      mimeType: 'video/x-matroska;codecs=avc1',
    });

    const late = handlers();
    new IngestClient('ws://x/ingest/s', late);
    const s = socket();
    s.open();
    s.end(1006);
    await Promise.resolve();
    expect(late.hello).toHaveBeenCalledOnce();
    expect(s.sent).toEqual([]);
  });

  it('passes ready, status and warning on and ignores what it does not understand', () => {
    const h = handlers();
    new IngestClient('ws://x/ingest/s', h);
    const s = socket();
    s.receive('not json');
    s.receive({ type: 'surprise' });
    s.onmessage?.({ data: new ArrayBuffer(4) });
    s.receive({ type: 'ready', stream: 's', viewerUrl: '/viewer.html?stream=s' });
    s.receive({ type: 'status', bytesReceived: 42, bitrateBps: 1, packager: 'running' });
    s.receive({ type: 'warning', code: 'DR_ERR_X', message: 'careful' });
    expect(h.onReady).toHaveBeenCalledWith({
      type: 'ready',
      stream: 's',
      viewerUrl: '/viewer.html?stream=s',
    });
    expect(h.onStatus).toHaveBeenCalledWith({ type: 'status', bytesReceived: 42, packager: 'running' });
    expect(h.onWarning).toHaveBeenCalledWith({ type: 'warning', code: 'DR_ERR_X', message: 'careful' });
  });

  it("explains a close with the server's last error message", () => {
    const h = handlers();
    new IngestClient('ws://x/ingest/s', h);
    const s = socket();
    s.open();
    s.receive({
      type: 'error',
      code: 'DR_ERR_INGEST_STREAM_BUSY',
      message: 'Stream s already has a publisher',
    });
    s.end(4009, 'busy');
    expect(h.onClose).toHaveBeenCalledWith({ code: 4009, reason: 'busy' }, [
      'The server stopped the stream',
      'Stream s already has a publisher (DR_ERR_INGEST_STREAM_BUSY)',
      'This name is a camera the server pulls: pick another stream name.',
    ]);
  });

  it('holds chunks back until the first message can hold the EBML header, then sends in order', async () => {
    const { client, s, h } = await connected();
    client.send(bytes(1, 0x1a), true);
    client.send(bytes(0), true);
    client.send(bytes(100, 2), true);
    await client.drained();
    expect(s.sent).toEqual([]);
    client.send(bytes(FIRST_MESSAGE_MIN, 3), true);
    client.send(bytes(10, 4), true);
    await client.drained();
    const sizes = s.sent.map((m) => (m as ArrayBuffer).byteLength);
    expect(sizes).toEqual([1 + 100 + FIRST_MESSAGE_MIN, 10]);
    expect(new Uint8Array(s.sent[0] as ArrayBuffer)[0]).toBe(0x1a);
    expect(client.bytesSent).toBe(1 + 100 + FIRST_MESSAGE_MIN + 10);
    expect(h.onSent).toHaveBeenLastCalledWith(client.bytesSent);
  });

  it('sends a short recording whole once recording has ended', async () => {
    const { client, s } = await connected();
    client.send(bytes(10), false);
    await client.drained();
    expect(s.sent.map((m) => (m as ArrayBuffer).byteLength)).toEqual([10]);
  });

  it('splits chunks above the message limit', async () => {
    const { client, s } = await connected();
    client.send(bytes(2 * MAX_MESSAGE + 5), true);
    await client.drained();
    expect(s.sent.map((m) => (m as ArrayBuffer).byteLength)).toEqual([MAX_MESSAGE, MAX_MESSAGE, 5]);
  });

  it('reports a backlog above the high mark and its end only below the low one', async () => {
    const { client, s, h } = await connected();
    s.bufferedAmount = BACKPRESSURE_HIGH + 1;
    client.send(bytes(2000), true);
    await client.drained();
    expect(h.onBackpressure).toHaveBeenCalledWith(true, BACKPRESSURE_HIGH + 1);
    expect(client.congested).toBe(true);
    s.bufferedAmount = 3 * 1024 * 1024;
    client.checkBackpressure();
    expect(h.onBackpressure).toHaveBeenCalledTimes(1);
    s.bufferedAmount = 1024;
    client.checkBackpressure();
    expect(h.onBackpressure).toHaveBeenLastCalledWith(false, 1024);
    expect(client.congested).toBe(false);
  });

  it('sends nothing once the socket is closing', async () => {
    const { client, s } = await connected();
    client.close(1000, 'publisher stopped');
    client.send(bytes(FIRST_MESSAGE_MIN), true);
    await client.drained();
    expect(s.closedWith).toEqual([1000, 'publisher stopped']);
    expect(s.sent).toEqual([]);
  });
});

describe('parseServerMessage', () => {
  it.each(['', 'null', '[]', '"ready"', '{"type":"hello"}', '{"stream":"s"}'])('ignores %j', (text) => {
    expect(parseServerMessage(text)).toBeNull();
  });

  it('drops fields of the wrong type instead of trusting them', () => {
    expect(parseServerMessage('{"type":"status","bytesReceived":"12","packager":7}')).toEqual({
      type: 'status',
      bytesReceived: undefined,
      packager: undefined,
    });
  });
});

describe('explainClose', () => {
  const session = { serverError: null, opened: true, url: 'ws://relay/ingest/s' };

  it.each([
    {
      what: 'a 4xxx close without an error message',
      close: { code: 4001, reason: 'too slow' },
      s: session,
      title: 'The server closed the connection',
      text: 'too slow (close code 4001).',
    },
    {
      what: 'a socket that never opened',
      close: { code: 1006, reason: '' },
      s: { ...session, opened: false },
      title: 'Cannot reach the server',
      text: 'Could not connect to ws://relay/ingest/s.',
    },
    {
      what: 'a server going away',
      close: { code: 1001, reason: '' },
      s: session,
      title: 'The server is shutting down',
      text: 'It closed the connection.',
    },
    {
      what: 'a dropped connection',
      close: { code: 1006, reason: '' },
      s: session,
      title: 'Connection lost',
      text: 'The connection to the server closed unexpectedly (code 1006); the server may have stopped or the network dropped.',
    },
  ])('explains $what', ({ close, s, title, text }) => {
    const [t, x, hint] = explainClose(close, s);
    expect([t, x]).toEqual([title, text]);
    expect(hint).toMatch(/start/i);
  });

  it('falls back to "try again" for server errors it has no hint for', () => {
    const serverError = { type: 'error' as const, code: 'DR_ERR_NEW', message: 'Something new' };
    expect(explainClose({ code: 4000, reason: '' }, { ...session, serverError })).toEqual([
      'The server stopped the stream',
      'Something new (DR_ERR_NEW)',
      'Press Start to try again.',
    ]);
  });
});

describe('the capture page reconnecting by itself', () => {
  it.each([
    [1001, true], // server restart
    [1006, true], // network drop
    [4008, true], // the server saw no media
    [4500, true],
    [1000, false],
    [4001, false],
    [4005, false],
    [4010, false], // another publisher took the name over
    [4401, false],
    [4403, false],
  ])('close %i → retry %s', (code, retry) => {
    expect(isRetryableClose(code)).toBe(retry);
  });

  it('waits 1 s, 2 s, 4 s … up to 30 s, each within ±20 %', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 10].map((a) => retryDelayMs(a, () => 0.5))).toEqual([
      1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000,
    ]);
    expect(retryDelayMs(0, () => 0)).toBe(800);
    expect(retryDelayMs(0, () => 0.999999)).toBe(1200);
    expect(retryDelayMs(9, () => 0.999999)).toBe(36000);
  });
});
