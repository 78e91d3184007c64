import { createRequire } from 'node:module';

/**
 * The parts of node-media-server 4.4.3 (Apache-2.0) this ingest uses: its RTMP protocol state machine
 * (handshake, chunk stream, AMF0 commands) and its FLV tag writer. They are internal CommonJS files of
 * that package, not its public API, so the version is pinned exactly in package.json and their shape is
 * declared here; a test publishes real ffmpeg RTMP through them.
 */

/** One audio, video or script message as node-media-server hands it over (`core/avpacket.js`). */
export interface NmsPacket {
  /** FLV TagType: 8 audio, 9 video, 18 script data. */
  readonly codec_type: number;
  /** Decode timestamp, ms (RTMP message timestamp, extended timestamps resolved). */
  readonly dts: number;
  /** Payload bytes in `data` (which may be longer: node-media-server reuses the buffer). */
  readonly size: number;
  readonly data: Buffer;
}

/** What `connect` + `publish` told us: `rtmp://host/<app>/<name>?<query>`. */
export interface NmsStreamRequest {
  readonly app: string;
  readonly name: string;
  readonly host: string;
  readonly query: Record<string, string | string[] | undefined>;
}

/** node-media-server's `protocol/rtmp.js` class: bytes in through `parserData`, callbacks out. */
export interface NmsRtmp {
  /** Parses socket bytes; returns an error text or null. May throw on malformed input. */
  parserData(buffer: Buffer): string | null;
  onOutputCallback: (buffer: Buffer) => void;
  onPacketCallback: (packet: NmsPacket) => void;
  onConnectCallback: (req: NmsStreamRequest) => void;
  onPushCallback: () => void;
  onPlayCallback: () => void;
  /** Replaced per instance so the stream is checked before "NetStream.Publish.Start" is sent. */
  onPublish: (invoke: { streamName: string; transId: number }) => void;
  onPlay: (invoke: { streamName: string; transId: number }) => void;
  respondPublish(): void;
  sendStatusMessage(streamId: number, level: string, code: string, description: string): void;
  streamApp: string | undefined;
  streamName: string | undefined;
  streamId: number;
  /** The chunk being parsed; its header's message stream id becomes the publish stream id. */
  readonly parserPacket: { readonly header: { readonly stream_id: number } };
}

interface NmsFlv {
  createHeader(hasAudio: boolean, hasVideo: boolean): Buffer;
  createMessage(packet: NmsPacket): Buffer;
}

const require = createRequire(import.meta.url);
const RtmpClass = require('node-media-server/src/protocol/rtmp.js') as new () => NmsRtmp;
const Flv = require('node-media-server/src/protocol/flv.js') as NmsFlv;
// Its logger prints to stdout at debug level; ours reports what matters.
(require('node-media-server/src/core/logger.js') as { level: string }).level = 'error';

export function createRtmpProtocol(): NmsRtmp {
  return new RtmpClass();
}

/** The 13 bytes an FLV file starts with (signature, flags, PreviousTagSize0). */
export function flvHeader(hasAudio: boolean, hasVideo: boolean): Buffer {
  return Flv.createHeader(hasAudio, hasVideo);
}

/** One FLV tag (header, payload copied, PreviousTagSize) for an RTMP message. */
export function flvTag(packet: NmsPacket): Buffer {
  return Flv.createMessage(packet);
}

const Amf = require('node-media-server/src/protocol/amf.js') as {
  decodeAmf0Data(buffer: Buffer): { cmd?: unknown; method?: unknown; dataObj?: unknown };
};

/** A script data message's command and object (`@setDataFrame`/`onMetaData`), or undefined if unreadable. */
export function decodeScriptData(
  payload: Buffer,
): { cmd: string; data: Record<string, unknown> } | undefined {
  try {
    const decoded = Amf.decodeAmf0Data(payload);
    if (typeof decoded.cmd !== 'string') return undefined;
    const data = decoded.dataObj;
    return {
      cmd: decoded.cmd,
      data: typeof data === 'object' && data !== null ? (data as Record<string, unknown>) : {},
    };
  } catch {
    return undefined;
  }
}
