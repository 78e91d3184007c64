import type { Socket } from 'node:net';
import type { AccessControl, PublishAdmission } from '../../contracts/access.ts';
import type { Logger } from '../../contracts/logger.ts';
import type { AudioCodec } from '../../contracts/media.ts';
import type { IngestSession, PublishRequest } from '../../contracts/sink.ts';
import { createError, type DashrelayError, toDashrelayError } from '../../errors/errors.ts';
import { isValidStreamName } from '../../util/stream-name.ts';
import {
  audioCodecOfMetadata,
  audioCodecOfTag,
  flvTagAudio,
  flvTagScript,
  flvTagVideo,
  pictureOfMetadata,
  scriptTagForFile,
  videoCodecOfTag,
} from './flv-media.ts';
import { createRtmpProtocol, decodeScriptData, flvHeader, flvTag, type NmsPacket } from './nms-rtmp.ts';
import { parsePublishName } from './stream-key.ts';

export interface RtmpConnectionOptions {
  /** The RTMP application publishers use: `rtmp://host:port/<app>/<stream>`. */
  readonly app: string;
  /** Opens the session (taking the name over from another pushing publisher); throws `DR_ERR_INGEST_STREAM_BUSY` for a pulled source's name. */
  readonly openSession: (request: PublishRequest) => Promise<IngestSession>;
  /**
   * Why the session would be refused (a pulled source's name: `NetStream.Publish.BadName`; the
   * server's limits: `Rejected`), asked before "publish started" is answered, not a start then a close.
   */
  readonly refusal?: ((stream: string) => DashrelayError | undefined) | undefined;
  /** A publisher sending nothing for this long is gone (a power cut sends no FIN), ms. */
  readonly idleTimeoutMs: number;
  /** Time from `publish` to the first video message, ms. */
  readonly firstVideoTimeoutMs: number;
  /** Largest media buffered before the session opens, bytes. */
  readonly maxPendingBytes: number;
  /** Who may publish (README "Security"); without it, anyone may. */
  readonly access?: AccessControl | undefined;
  readonly log: Logger;
}

/**
 * One RTMP connection: node-media-server's protocol state machine parses the handshake, chunks and
 * commands; this class decides. `publish` is checked (application, stream name, name free) before
 * "NetStream.Publish.Start" is sent; `play` is refused (viewers watch DASH). The session opens at the
 * first video message, when the codecs are known, and receives FLV: the header, then one tag per
 * audio, video and metadata message, as they come. Backpressure pauses the socket (TCP flow control
 * slows the publisher); silence longer than `idleTimeoutMs` ends it.
 */
export class RtmpConnection {
  private readonly rtmp = createRtmpProtocol();
  private stream: string | undefined;
  private state: 'connecting' | 'authorizing' | 'waiting-video' | 'opening' | 'live' | 'closed' =
    'connecting';
  private admission: PublishAdmission | undefined;
  private session: IngestSession | undefined;
  /** FLV tags received before the session opened, in order. */
  private readonly pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Size and frame rate from onMetaData, for the API and the viewer page. */
  private picture: { width?: number; height?: number; fps?: number } = {};
  private audio: AudioCodec = 'unknown';
  private sawAudioTag = false;
  private client: string | undefined;
  private firstVideoTimer: NodeJS.Timeout | undefined;
  private readonly log: Logger;

  constructor(
    private readonly socket: Socket,
    private readonly opts: RtmpConnectionOptions,
  ) {
    this.log = opts.log;
    this.rtmp.onOutputCallback = (buffer) => {
      if (!socket.destroyed) socket.write(buffer);
    };
    this.rtmp.onConnectCallback = () => {};
    this.rtmp.onPushCallback = () => {};
    this.rtmp.onPlayCallback = () => {};
    this.rtmp.onPublish = (invoke) => this.onPublish(invoke.streamName);
    this.rtmp.onPlay = () => {
      this.rtmp.streamId = this.rtmp.parserPacket.header.stream_id;
      this.refuse(createError('DR_ERR_RTMP_PLAY'), 'NetStream.Play.Failed');
    };
    this.rtmp.onPacketCallback = (packet) => this.onPacket(packet);
    socket.setNoDelay(true);
    socket.setTimeout(opts.idleTimeoutMs, () => {
      this.log.warn(
        { stream: this.stream },
        `RTMP publisher silent for ${opts.idleTimeoutMs} ms: disconnected`,
      );
      socket.destroy();
    });
    socket.on('data', (data) => this.onData(data));
    socket.on('error', (err) =>
      this.log.info({ err: err.message, stream: this.stream }, 'RTMP socket error'),
    );
    socket.on('close', () => this.onClose());
  }

  private onData(data: Buffer): void {
    if (this.state === 'closed') return;
    let problem: string | null;
    try {
      problem = this.rtmp.parserData(data);
    } catch (err) {
      problem = err instanceof Error ? err.message : String(err);
    }
    if (problem !== null) {
      this.log.warn({ stream: this.stream }, createError('DR_ERR_RTMP_PROTOCOL', problem).message);
      this.socket.destroy();
    }
  }

  private onPublish(streamName: string): void {
    this.rtmp.streamId = this.rtmp.parserPacket.header.stream_id;
    if (this.state !== 'connecting') return;
    const parsed = parsePublishName(this.rtmp.streamApp ?? '', this.opts.app, streamName);
    if (!parsed.ok) {
      this.refuse(createError('DR_ERR_RTMP_APP', JSON.stringify(parsed.app.slice(0, 80)), this.opts.app));
      return;
    }
    const name = parsed.stream;
    if (!isValidStreamName(name)) {
      this.refuse(createError('DR_ERR_INGEST_STREAM_NAME', JSON.stringify(name.slice(0, 80))));
      return;
    }
    const access = this.opts.access;
    if (!access) {
      this.admitted(name);
      return;
    }
    this.state = 'authorizing';
    access
      .admitPublisher({
        stream: name,
        address: this.socket.remoteAddress ?? '',
        credential: parsed.credential,
      })
      .then(
        (admission) => {
          if (this.state !== 'authorizing') {
            admission.release();
            return;
          }
          this.admission = admission;
          this.state = 'connecting';
          this.admitted(name);
        },
        (err: unknown) => this.refuse(toDashrelayError(err)),
      );
  }

  /** Publishing `name` is allowed: answer "publish started" unless the registry would refuse it. */
  private admitted(name: string): void {
    const refused = this.opts.refusal?.(name);
    if (refused) {
      this.refuse(refused);
      return;
    }
    this.stream = name;
    this.rtmp.streamName = name;
    this.state = 'waiting-video';
    this.rtmp.respondPublish();
    this.firstVideoTimer = setTimeout(
      () => this.refuse(createError('DR_ERR_RTMP_NO_VIDEO', this.opts.firstVideoTimeoutMs)),
      this.opts.firstVideoTimeoutMs,
    );
  }

  private onPacket(packet: NmsPacket): void {
    if (this.state !== 'waiting-video' && this.state !== 'opening' && this.state !== 'live') return;
    const payload = packet.data.subarray(0, packet.size);
    let tag: Buffer;
    if (packet.codec_type === flvTagScript) {
      const script = decodeScriptData(payload);
      if (script?.cmd === '@setDataFrame' || script?.cmd === 'onMetaData') {
        if (this.state === 'waiting-video') {
          this.audio = audioCodecOfMetadata(script.data);
          this.picture = pictureOfMetadata(script.data);
        }
        if (typeof script.data.encoder === 'string') this.client = script.data.encoder;
      }
      const body = scriptTagForFile(payload);
      tag = flvTag({ ...packet, data: body, size: body.length });
    } else if (packet.codec_type === flvTagAudio || packet.codec_type === flvTagVideo) {
      tag = flvTag(packet);
    } else {
      return;
    }
    if (this.state === 'live' && this.session) {
      this.session.push(tag);
      return;
    }
    this.pending.push(tag);
    this.pendingBytes += tag.length;
    if (this.pendingBytes > this.opts.maxPendingBytes) {
      this.refuse(createError('DR_ERR_RTMP_NO_VIDEO', this.opts.firstVideoTimeoutMs));
      return;
    }
    if (packet.codec_type === flvTagAudio && !this.sawAudioTag) {
      this.sawAudioTag = true;
      this.audio = audioCodecOfTag(payload);
    }
    if (packet.codec_type === flvTagVideo && this.state === 'waiting-video') {
      void this.open(videoCodecOfTag(payload));
    }
  }

  private async open(video: PublishRequest['media']['video']): Promise<void> {
    clearTimeout(this.firstVideoTimer);
    const stream = this.stream;
    if (!stream) return;
    this.state = 'opening';
    // Until the session exists, bytes wait in the kernel rather than in `pending`.
    this.socket.pause();
    let session: IngestSession;
    try {
      session = await this.opts.openSession({
        stream,
        protocol: 'rtmp',
        takesOver: true,
        media: { container: 'flv', video, audio: this.audio },
        // The camera or encoder chooses its GOP: H.264 is copied and segments follow its keyframes.
        keyframesFromSource: true,
        ...this.picture,
        client: this.client,
      });
    } catch (err) {
      const e = toDashrelayError(err, 'DR_ERR_SESSION_START');
      if (e !== err) this.log.error({ err, stream }, 'could not open an RTMP session');
      this.refuse(e);
      return;
    }
    if (this.state !== 'opening') {
      void session.end();
      return;
    }
    this.session = session;
    this.state = 'live';
    session.on('pause', () => this.socket.pause());
    session.on('resume', () => this.socket.resume());
    session.on('fatal', (err) => this.refuse(toDashrelayError(err)));
    session.on('ended', () => {
      if (this.state === 'live') this.socket.end();
    });
    this.log.info(
      { stream, client: this.client, remoteAddress: this.socket.remoteAddress, video, audio: this.audio },
      'RTMP publisher connected',
    );
    session.push(flvHeader(this.audio !== 'none', true));
    for (const tag of this.pending.splice(0)) session.push(tag);
    this.pendingBytes = 0;
    this.socket.resume();
  }

  /** Tells the publisher why (an onStatus error), then closes. */
  private refuse(err: DashrelayError, code = publishStatusCode(err)): void {
    if (this.state === 'closed') return;
    this.log.warn({ stream: this.stream, code: err.code }, `RTMP publisher refused: ${err.message}`);
    if (!this.socket.destroyed)
      this.rtmp.sendStatusMessage(this.rtmp.streamId ?? 0, 'error', code, err.message);
    this.close();
    // end() flushes the status message; a peer that does not close its side is cut 1 s later.
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  private close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.admission?.release();
    clearTimeout(this.firstVideoTimer);
    this.pending.length = 0;
    const session = this.session;
    this.session = undefined;
    if (session) void session.end();
  }

  private onClose(): void {
    if (this.session) this.log.info({ stream: this.stream }, 'RTMP publisher disconnected');
    this.close();
  }
}

/** onStatus codes publishers (OBS, ffmpeg) show: a name problem, or anything else. */
function publishStatusCode(err: DashrelayError): string {
  return err.code === 'DR_ERR_INGEST_STREAM_NAME' || err.code === 'DR_ERR_INGEST_STREAM_BUSY'
    ? 'NetStream.Publish.BadName'
    : 'NetStream.Publish.Rejected';
}
