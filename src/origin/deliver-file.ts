import type { ServerResponse } from 'node:http';
import type { LiveFile } from '../live/live-file.ts';

/** Per-stream delivery counters, reported by the API and the fan-out benchmark. */
export interface DeliveryCounters {
  /** Bytes written to viewers' responses. */
  bytesServed: number;
  /** Viewers disconnected because their response buffer passed the bound. */
  viewersCutOff: number;
  /** Segment responses currently open. */
  openResponses: number;
}

export function createDeliveryCounters(): DeliveryCounters {
  return { bytesServed: 0, viewersCutOff: 0, openResponses: 0 };
}

/** A streaming rewrite of a file's bytes on their way out (e.g. CmafRetimer): bytes in, bytes ready out. */
export interface ChunkTransform {
  push(chunk: Buffer): Buffer[];
  /** What is left once the file is complete; throws if the file ended where it cannot. */
  end(): Buffer[];
}

/**
 * Sends a live file to one viewer. A complete file goes out with Content-Length; a file still being
 * written goes out with chunked transfer encoding (HTTP/1.1), every piece as soon as the packager
 * delivers it. A viewer whose unsent backlog passes `maxBufferedBytes` is cut off so it can hold neither
 * memory nor the others back.
 */
export function deliverFile(
  file: LiveFile,
  res: ServerResponse,
  headers: Record<string, string>,
  maxBufferedBytes: number,
  counters: DeliveryCounters,
  transform?: () => ChunkTransform,
): void {
  const rewrite = transform?.();
  if (file.complete) {
    let body: Buffer;
    try {
      body = rewrite ? Buffer.concat([...rewrite.push(file.body()), ...rewrite.end()]) : file.body();
    } catch {
      res.destroy();
      return;
    }
    res.writeHead(200, { ...headers, 'Content-Length': String(body.length) });
    res.end(body);
    counters.bytesServed += body.length;
    return;
  }

  res.writeHead(200, headers);
  res.flushHeaders();
  counters.openResponses++;
  const write = (chunk: Buffer): void => {
    if (res.writableLength > maxBufferedBytes) {
      counters.viewersCutOff++;
      cleanup();
      res.destroy();
      return;
    }
    res.write(chunk);
    counters.bytesServed += chunk.length;
  };
  // A rewrite that fails (bytes it cannot parse) ends the response as broken, like an aborted upload.
  const through = (produce: () => Buffer[]): void => {
    let pieces: Buffer[];
    try {
      pieces = produce();
    } catch {
      onAbort();
      return;
    }
    for (const piece of pieces) if (!cleaned && piece.length > 0) write(piece);
  };
  const send = (chunk: Buffer): void => {
    if (rewrite) through(() => rewrite.push(chunk));
    else write(chunk);
  };
  const onEnd = (): void => {
    if (rewrite) through(() => rewrite.end());
    if (cleaned) return;
    cleanup();
    res.end();
  };
  // The packager's upload broke: end without the terminating chunk, so the player sees an error, not a short segment.
  const onAbort = (): void => {
    cleanup();
    res.destroy();
  };
  let cleaned = false;
  const cleanup = (): void => {
    if (cleaned) return;
    cleaned = true;
    counters.openResponses--;
    file.off('chunk', send);
    file.off('end', onEnd);
    file.off('abort', onAbort);
    res.off('close', cleanup);
  };

  for (const chunk of file.chunks) {
    send(chunk);
    // Cut off while catching up: the rest must not count (nor destroy) the same viewer again.
    if (cleaned) return;
  }
  file.on('chunk', send);
  file.once('end', onEnd);
  file.once('abort', onAbort);
  res.once('close', cleanup);
}
