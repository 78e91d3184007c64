import type { SegmentKind } from '../contracts/segments.ts';

/** One packager file as the feed reads it (the live store's `LiveFile`). */
export interface FeedFile {
  readonly kind: SegmentKind;
  readonly chunks: readonly Buffer[];
  readonly complete: boolean;
  readonly aborted: boolean;
  on(event: 'chunk', listener: (chunk: Buffer) => void): unknown;
  on(event: 'end' | 'abort', listener: () => void): unknown;
  off(event: 'chunk', listener: (chunk: Buffer) => void): unknown;
  off(event: 'end' | 'abort', listener: () => void): unknown;
}

/** What the feed needs of one session's live output (the live store, `SegmentStore`). */
export interface FeedStore {
  find(kind: SegmentKind): FeedFile | undefined;
  newestSegmentNumber(representation: number): number | undefined;
  on(event: 'started', listener: (file: FeedFile) => void): unknown;
  off(event: 'started', listener: (file: FeedFile) => void): unknown;
}

/** Where the feed writes, once it knows which tracks there are. */
export interface FeedOutput {
  video(chunk: Buffer): void;
  /** Present when the feed said `audio: true`. */
  audio?: ((chunk: Buffer) => void) | undefined;
}

export interface CmafFeedOptions {
  /** The publisher sends sound: wait for the audio Representation's init segment before starting. */
  readonly audioExpected: boolean;
  /**
   * Called once, when the first video segment to send is known: returns where the bytes go. `audio`
   * says whether an audio track follows (ffmpeg must know its inputs before it reads them).
   */
  readonly onStart: (tracks: { audio: boolean }) => FeedOutput;
  /** Video segments to let pass waiting for an expected audio init segment before going without. Default 2. */
  readonly maxAudioWaitSegments?: number | undefined;
}

/** The packager's Representation ids (`-map 0:v:0 -map 0:a:0?`: video first). */
const videoRepresentation = 0;
const audioRepresentation = 1;

/**
 * One session's live CMAF output as two continuous fragmented-MP4 byte streams (video, audio), each
 * the init segment then every media segment from the join on: what a consumer that is not a DASH
 * player (a restream ffmpeg) can read from a pipe. It joins at the media segment being written now,
 * from its start (segments start with a keyframe, and the store holds every chunk of it), so bytes
 * flow at once; afterwards it follows the packager in real time. It never pushes back on the store.
 */
export class CmafFeed {
  private output: FeedOutput | undefined;
  private readonly queues: Record<'video' | 'audio', FeedFile[]> = { video: [], audio: [] };
  private readonly following = new Map<FeedFile, () => void>();
  private audioJoined = false;
  private skipped = 0;
  private closed = false;
  private readonly onStarted = (file: FeedFile): void => this.started(file);

  constructor(
    private readonly store: FeedStore,
    private readonly opts: CmafFeedOptions,
  ) {}

  /** Starts reading: `onStart` may be called from here (a segment is being written) or later. */
  join(): void {
    if (this.closed) return;
    this.store.on('started', this.onStarted);
    const current = this.newestMedia(videoRepresentation);
    if (current) this.started(current);
  }

  /** Whether bytes started to flow (the consumer was created). */
  get flowing(): boolean {
    return this.output !== undefined;
  }

  /** Stops reading the store; nothing is written after. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.store.off('started', this.onStarted);
    for (const stop of this.following.values()) stop();
    this.following.clear();
    this.queues.video = [];
    this.queues.audio = [];
  }

  private newestMedia(representation: number): FeedFile | undefined {
    const number = this.store.newestSegmentNumber(representation);
    if (number === undefined) return undefined;
    const file = this.store.find({ kind: 'media', representation, number });
    return file && !file.aborted ? file : undefined;
  }

  private started(file: FeedFile): void {
    if (this.closed || file.kind.kind !== 'media') return;
    const { representation } = file.kind;
    if (!this.output) {
      if (representation === videoRepresentation) this.begin(file);
      return;
    }
    if (representation === videoRepresentation) {
      this.enqueue('video', file);
    } else if (representation === audioRepresentation && this.output.audio) {
      if (!this.audioJoined) this.joinAudio();
      if (!this.queues.audio.includes(file)) this.enqueue('audio', file);
    }
  }

  private begin(videoSegment: FeedFile): void {
    const videoInit = this.store.find({ kind: 'init', representation: videoRepresentation });
    if (!videoInit?.complete) return;
    const audioInit = this.store.find({ kind: 'init', representation: audioRepresentation });
    const audio = audioInit?.complete === true;
    if (this.opts.audioExpected && !audio && this.skipped < (this.opts.maxAudioWaitSegments ?? 2)) {
      this.skipped++;
      return;
    }
    this.output = this.opts.onStart({ audio });
    for (const chunk of videoInit.chunks) this.output.video(chunk);
    this.enqueue('video', videoSegment);
    if (audio) this.joinAudio();
  }

  /** Audio starts with its init segment and the audio segment being written now. */
  private joinAudio(): void {
    const init = this.store.find({ kind: 'init', representation: audioRepresentation });
    const write = this.output?.audio;
    if (this.audioJoined || !init?.complete || !write) return;
    this.audioJoined = true;
    for (const chunk of init.chunks) write(chunk);
    const current = this.newestMedia(audioRepresentation);
    if (current) this.enqueue('audio', current);
  }

  /** Files of one track go out one after the other, whole, in the order they started. */
  private enqueue(track: 'video' | 'audio', file: FeedFile): void {
    const queue = this.queues[track];
    queue.push(file);
    if (queue.length === 1) this.follow(track, file);
  }

  private follow(track: 'video' | 'audio', file: FeedFile): void {
    const write = track === 'video' ? this.output?.video : this.output?.audio;
    if (!write || this.closed) return;
    const onChunk = (chunk: Buffer): void => write(chunk);
    const done = (): void => {
      stop();
      const queue = this.queues[track];
      queue.shift();
      const next = queue[0];
      if (next) this.follow(track, next);
    };
    const stop = (): void => {
      file.off('chunk', onChunk);
      file.off('end', done);
      file.off('abort', done);
      this.following.delete(file);
    };
    for (const chunk of file.chunks) write(chunk);
    if (file.complete || file.aborted) {
      done();
      return;
    }
    this.following.set(file, stop);
    file.on('chunk', onChunk);
    file.on('end', done);
    file.on('abort', done);
  }
}
