/** The part of a response an SSE writer needs (`http.ServerResponse` has it). */
export interface SseResponse {
  readonly writableLength: number;
  write(chunk: string): boolean;
}

export interface SseWriter {
  /** `event: <name>` with `data` as one JSON line (WHATWG HTML §9.2.6). False when dropped. */
  event(name: string, data: unknown): boolean;
  /** A comment line (`: <text>`), which clients ignore: a heartbeat for proxies. False when dropped. */
  comment(text: string): boolean;
}

/**
 * Writes Server-Sent Events to one client, never more than `maxBufferedBytes` queued: a client that
 * stops reading loses messages (events and heartbeats alike) rather than growing server memory.
 */
export function createSseWriter(res: SseResponse, maxBufferedBytes: number): SseWriter {
  const write = (text: string): boolean => {
    if (res.writableLength > maxBufferedBytes) return false;
    res.write(text);
    return true;
  };
  return {
    event: (name, data) => write(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`),
    comment: (text) => write(`: ${text}\n\n`),
  };
}
