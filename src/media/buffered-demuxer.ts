import { createError, DashrelayError } from '../errors/errors.ts';
import { type DemuxEvent, defaultMaxElementBytes } from './matroska-demuxer.ts';

/**
 * What the FLV and fragmented-MP4 demuxers share: bytes that arrive in any split are appended to
 * `pending` until `parse` can take whole tags or boxes from it, and the first malformed input stops
 * the demuxer with one `DR_ERR_MEDIA_MALFORMED` event (a stream that went wrong once cannot be
 * trusted to be in step again).
 */
export abstract class BufferedDemuxer {
  /** The largest tag or box held, bytes. */
  protected readonly maxElementBytes: number;
  /** Bytes received and not yet parsed; `parse` keeps what it could not use. */
  protected pending: Buffer = Buffer.alloc(0);
  /** Offset of `pending`'s first byte in the stream, for error messages. */
  protected pos = 0;
  private failure: DashrelayError | undefined;

  constructor(options: { readonly maxElementBytes?: number | undefined } = {}) {
    this.maxElementBytes = options.maxElementBytes ?? defaultMaxElementBytes;
  }

  /** The error that stopped demuxing, if one did. */
  get error(): DashrelayError | undefined {
    return this.failure;
  }

  /** Feeds the next bytes; returns what they completed, in stream order. Never throws. */
  push(chunk: Buffer): readonly DemuxEvent[] {
    if (this.failure || chunk.length === 0) return [];
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const out: DemuxEvent[] = [];
    try {
      this.parse(out);
    } catch (err) {
      this.failure = err instanceof DashrelayError ? err : createError('DR_ERR_MEDIA_MALFORMED', String(err));
      this.pending = Buffer.alloc(0);
      out.push({ type: 'error', error: this.failure });
    }
    return out;
  }

  /** Takes what it can from `pending` into `out`; throws a `DR_ERR_MEDIA_MALFORMED` on bad input. */
  protected abstract parse(out: DemuxEvent[]): void;
}
