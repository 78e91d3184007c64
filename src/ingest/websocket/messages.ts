import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { ErrorCode } from '../../errors/errors.ts';

/** Publisher → server: the first text message of a session (docs/protocol.md). */
export const HelloMessage = Type.Object(
  {
    type: Type.Literal('hello'),
    /** The container the bytes are in, as MediaRecorder reports it (`video/x-matroska;codecs=avc1,opus`). */
    mimeType: Type.String({ minLength: 1, maxLength: 200 }),
    /** Promised keyframe interval, ms. H.264 is stream-copied only when this is ≤ the segment duration. */
    keyframeIntervalMs: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 600_000 })),
    /** Picture size in pixels and frame rate, hints for the stream list. */
    width: Type.Optional(Type.Integer({ minimum: 1, maximum: 16384 })),
    height: Type.Optional(Type.Integer({ minimum: 1, maximum: 16384 })),
    fps: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1000 })),
    /** Free text naming the publisher software, for logs. */
    client: Type.Optional(Type.String({ maxLength: 100 })),
  },
  { additionalProperties: false },
);
export type HelloMessage = Static<typeof HelloMessage>;

/** Server → publisher messages. */
export type ServerMessage =
  | {
      type: 'ready';
      stream: string;
      sessionId: string;
      archive: string;
      viewerUrl: string;
      manifestUrl: string;
    }
  | { type: 'status'; bytesReceived: number; bitrateBps: number; packager: string }
  | { type: 'warning'; code: ErrorCode; message: string }
  | { type: 'error'; code: ErrorCode; message: string };

/**
 * Parses and validates a text control message.
 * @returns the message, or an `error` string saying what is wrong (first schema error).
 */
export function parseControlMessage(text: string): { hello: HelloMessage } | { error: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { error: 'not JSON' };
  }
  if (typeof value !== 'object' || value === null || (value as { type?: unknown }).type !== 'hello') {
    return { error: 'expected {"type":"hello", "mimeType": …}' };
  }
  const first = Value.Errors(HelloMessage, value).First();
  if (first) return { error: `${first.path || '/'} ${first.message}` };
  return { hello: value as HelloMessage };
}

/** Every WebM/Matroska file starts with the EBML header element ID (RFC 9559 §8.1). */
export function startsWithEbmlHeader(chunk: Buffer): boolean {
  return chunk.length >= 4 && chunk.readUInt32BE(0) === 0x1a45dfa3;
}

/** Whether the bytes start like an MP4 file: a box of type `ftyp` (ISO/IEC 14496-12 §4.3). Needs 8 bytes. */
export function startsWithFtyp(chunk: Buffer): boolean {
  return chunk.length >= 8 && chunk.toString('latin1', 4, 8) === 'ftyp';
}
