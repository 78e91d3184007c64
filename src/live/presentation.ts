import { EventEmitter } from 'node:events';
import type { LatencyProfile } from '../config/schema.ts';
import type { ManifestView, PublishedManifest, SegmentKind, XmlElement } from '../contracts/segments.ts';
import {
  asArray,
  type MpdAdaptationSet,
  type MpdPeriod,
  type MpdRepresentation,
  renderMpd,
} from './mpd-document.ts';
import {
  continuationRun,
  endRun,
  locate,
  ownRun,
  type RepresentationTimeline,
  type SegmentRun,
  shiftedRun,
} from './segment-runs.ts';
import type { SegmentStore } from './segment-store.ts';
import type { SegmentArrival, SegmentTiming } from './segment-timing.ts';

/** What a Period source's segment timing tells (SegmentTiming reads it from the CMAF boxes). */
export interface SegmentClock {
  timescale: SegmentTiming['timescale'];
  decodeTime: SegmentTiming['decodeTime'];
  templateDurationsSec: SegmentTiming['templateDurationsSec'];
  measuredBandwidthBps: SegmentTiming['measuredBandwidthBps'];
  on(event: 'segment', listener: (arrival: SegmentArrival) => void): unknown;
  off(event: 'segment', listener: (arrival: SegmentArrival) => void): unknown;
}

/** One publishing session's live output, as a source of Periods. */
export interface PeriodSource {
  /** URL path segment its segments are served under (`/live/<stream>/<path>/<segment>`): unique per session. */
  readonly path: string;
  readonly store: SegmentStore;
  readonly timing: SegmentClock;
  /** Wall clock of the session's media time 0, ms since the epoch, once estimated (the media clock). */
  readonly mediaStartMs: () => number | undefined;
  /** How far behind the live edge players should play this session, ms (ServiceDescription target). */
  readonly playerDelayMs: number;
  /**
   * How long its first Period waits for two measured segments, ms; default the presentation's
   * `settleMs`. Longer for a source whose encoder picks its GOP (segments of 2–4 s from a camera).
   */
  readonly settleMs?: number | undefined;
}

export interface PresentationOptions {
  readonly profile: LatencyProfile;
  /**
   * When segments arrive this much later (or earlier) than the MPD announces, on three segments in a
   * row, a new Period re-anchors the timeline, ms.
   */
  readonly reanchorDriftMs: number;
  /** How long the first Period of a session waits for two measured segments per Representation, ms. */
  readonly settleMs?: number | undefined;
  /**
   * How long an ended session's last Period stays open (no @duration) for a publisher to come back, ms.
   * A returning publisher with the same init segments continues that Period, so players that follow
   * one Period only (ffmpeg, GStreamer, VLC) play on; 0 ends the Period at once.
   */
  readonly republishGraceMs?: number | undefined;
  readonly now?: (() => number) | undefined;
}

/** Playback-rate range of ServiceDescription: the viewer page's catch-up plays at 0.7–1.3× (DEFAULT_MAX_RATE). */
const playbackRate = { min: 0.7, max: 1.3 } as const;
/** Recent arrivals a re-anchor decision looks at, per Representation. */
const driftSamples = 3;
/** Lateness falling by more than this over the samples counts as a publisher catching up, ms. */
const recoveryToleranceMs = 100;

interface PeriodState {
  readonly id: string;
  readonly source: SourceState;
  /** Period@start relative to availabilityStartTime, ms. */
  readonly startMs: number;
  /** Media time of the Period start, s (the same instant in every Representation). */
  readonly mediaTimeS: number;
  readonly reps: ReadonlyMap<number, RepresentationTimeline>;
  /** Where its media ends relative to availabilityStartTime, ms, once its session ended or it was re-anchored. */
  endMs?: number;
}

interface SourceState {
  readonly source: PeriodSource;
  readonly adaptationSets: readonly XmlElement[];
  readonly primary: number;
  readonly lateness: Map<number, number[]>;
  current?: PeriodState;
  reanchorPending: boolean;
  ended: boolean;
  /** Ended, and its last Period open for a returning publisher (republishGraceMs). */
  awaitingRepublish: boolean;
  /** Until when, ms since the epoch, while awaitingRepublish. */
  awaitingUntilMs?: number;
  /** The run this session's segments go into now. */
  run?: SegmentRun<SourceState>;
  /** The runs of the Periods served under this session's path, oldest first. */
  readonly runs: SegmentRun<SourceState>[];
  readonly onSegment: (arrival: SegmentArrival) => void;
}

/** A segment request under a session path, resolved to the store and number that hold it. */
export interface ResolvedSegment {
  readonly store: SegmentStore;
  /** The segment in that store's own numbering. */
  readonly kind: SegmentKind;
  /** Its session ended and no publisher is awaited: what is not there will never come. */
  readonly ended: boolean;
  /** When the MPD announces it available, ms since the epoch (media segments of an open Period). */
  readonly announcedAtMs: number | undefined;
  /** Timestamp shift to apply while serving it (a continued Period), ticks of its track. */
  readonly decodeTimeOffsetTicks: number;
  /**
   * Past the media of a session whose publisher may return: until when (ms since the epoch) a request
   * may wait for it (`continued` says it did, and resolving again tells where the segment is now).
   */
  readonly awaitingUntilMs?: number | undefined;
}

/** A session's next segments moved later in their Period because they kept arriving late. */
export interface Reanchor {
  /** PeriodSource.path of the session. */
  readonly path: string;
  readonly periodId: string;
  /** The Period's number its next segment is served as (primary Representation). */
  readonly segmentNumber: number;
  /** How much later than announced its segments arrived (the most of the recent ones), ms. */
  readonly latenessMs: number;
  /** By how many segment slots they moved. */
  readonly shiftedSegments: number;
}

/**
 * A stream's live presentation, across its publishing sessions: one MPD whose availabilityStartTime
 * and Period@ids never change between updates (ISO/IEC 23009-1 §5.4.1). Each session adds a Period
 * (its segments under their own path, so no URL is ever reused), unless it returns with the same
 * media within republishGraceMs and continues the Period before. Segments that stop arriving when
 * the timeline says they are available (DASH-IF IOP: a segment must be available from its announced
 * time), e.g. from a publisher slower than real time, move whole slots later in the same Period.
 *
 * Emits `period` when a Period is added (a held manifest request can be answered).
 */
/** A returning publisher continued the Period of the session before it. */
export interface Continued {
  /** PeriodSource.path of the returning session, and of the session whose Period it continues. */
  readonly path: string;
  readonly ownerPath: string;
  readonly periodId: string;
  /** The Period's segment number its first segment is served as (primary Representation). */
  readonly segmentNumber: number;
}

export class Presentation extends EventEmitter<{ period: []; reanchor: [Reanchor]; continued: [Continued] }> {
  private astMs: number | undefined;
  private periods: PeriodState[] = [];
  private readonly sources = new Map<string, SourceState>();
  private pending:
    | { source: PeriodSource; sinceMs: number; timer: NodeJS.Timeout; onChange: () => void }
    | undefined;
  private nextPeriodId = 0;
  private readonly now: () => number;
  private readonly settleMs: number;
  private readonly republishGraceMs: number;
  private graceTimer: NodeJS.Timeout | undefined;
  /** When the last session ended, ms since the epoch; `undefined` while one is live. */
  idleSinceMs: number | undefined;

  constructor(
    readonly stream: string,
    private readonly options: PresentationOptions,
  ) {
    super();
    this.setMaxListeners(0);
    this.now = options.now ?? Date.now;
    this.settleMs = options.settleMs ?? 2000;
    this.republishGraceMs = options.republishGraceMs ?? 0;
  }

  /** The session now publishing: its first Period starts once its timing is known (see `settleMs`). */
  addSource(source: PeriodSource): void {
    this.idleSinceMs = undefined;
    this.cancelPending();
    const onChange = (): void => void this.tryStart(source);
    const timer = setTimeout(onChange, source.settleMs ?? this.settleMs);
    timer.unref();
    this.pending = { source, sinceMs: this.now(), timer, onChange };
    source.store.on('manifest', onChange);
    source.timing.on('segment', onChange);
  }

  /**
   * While a session's first Period waits for its timing to be measured: the longest that can still
   * take, ms (what is left of its `settleMs`); `undefined` when no session is waiting.
   */
  startsWithinMs(): number | undefined {
    const p = this.pending;
    if (!p) return undefined;
    return Math.max(0, (p.source.settleMs ?? this.settleMs) - (this.now() - p.sinceMs));
  }

  /** The session ended: its last Period gets a duration; its segments stay served while listed. */
  endSource(source: PeriodSource): void {
    if (this.pending?.source === source) this.cancelPending();
    const state = this.sources.get(source.path);
    if (state && !state.ended) {
      state.ended = true;
      source.timing.off('segment', state.onSegment);
      const last = state.current;
      if (last && last === this.periods.at(-1) && this.republishGraceMs > 0) {
        // Left open: players of one Period only keep asking, and a returning publisher continues it.
        state.awaitingRepublish = true;
        state.awaitingUntilMs = Date.now() + this.republishGraceMs;
        clearTimeout(this.graceTimer);
        this.graceTimer = setTimeout(() => this.endAwaited(state), this.republishGraceMs);
        this.graceTimer.unref();
      } else if (last) last.endMs = this.mediaEndMs(last, state);
    }
    this.idleSinceMs = this.now();
  }

  /** No publisher came back in time (or one that cannot continue did): the Period gets its end. */
  private endAwaited(state: SourceState): void {
    if (!state.awaitingRepublish) return;
    state.awaitingRepublish = false;
    const last = state.current;
    if (last && last.endMs === undefined) last.endMs = this.mediaEndMs(last, state);
  }

  /**
   * Where the segment `name` under `path` is: in that session's store, or, past the point where a
   * returning publisher continued the Period, in the continuing session's store under its own number,
   * served with its timestamps shifted onto the Period's timeline.
   */
  resolve(path: string, name: string): ResolvedSegment | undefined {
    const owner = this.sources.get(path);
    const kind = owner?.source.store.classify(name);
    if (!owner || !kind) return undefined;
    if (kind.kind === 'init') {
      const ended = owner.ended && !owner.awaitingRepublish;
      return { store: owner.source.store, kind, ended, announcedAtMs: undefined, decodeTimeOffsetTicks: 0 };
    }
    const found = locate(owner.runs, kind.representation, kind.number);
    // A slot between two runs that holds nothing (a publisher's pause, while it lasts).
    if (!found) return undefined;
    const from = found.run?.state ?? owner;
    const own = found.own;
    const shiftTicks = found.shiftTicks;
    return {
      store: from.source.store,
      kind: { ...kind, number: own },
      ended: from.ended && !from.awaitingRepublish,
      announcedAtMs: this.announcedAtMs(path, kind),
      decodeTimeOffsetTicks: shiftTicks,
      awaitingUntilMs: from.awaitingRepublish ? from.awaitingUntilMs : undefined,
    };
  }

  /**
   * When a media segment of the session at `path` is announced as available, ms since the epoch, by
   * the Period now open for it; `undefined` for an init segment or when no Period is open.
   */
  announcedAtMs(path: string, segment: SegmentKind): number | undefined {
    if (segment.kind !== 'media') return undefined;
    const period = this.sources.get(path)?.current;
    const rep = period?.reps.get(segment.representation);
    if (!period || !rep || this.astMs === undefined) return undefined;
    return this.astMs + period.startMs + this.segmentOffsetMs(rep, segment.number);
  }

  /** The MPD for a viewer, or `undefined` before the first Period. */
  render(view: ManifestView): string | undefined {
    const ast = this.astMs;
    if (ast === undefined || this.periods.length === 0) return undefined;
    const nowMs = this.now();
    const { profile } = this.options;
    const windowMs = profile.windowSegments * profile.segmentDurationMs;
    this.dropPeriodsBefore(nowMs - ast - windowMs);
    const last = this.periods.at(-1);
    const delayMs = last?.source.source.playerDelayMs ?? profile.playerLiveDelayMs;
    const primary = last?.reps.get(last.source.primary);
    let longestMs = profile.segmentDurationMs;
    for (const p of this.periods) {
      for (const r of p.reps.values())
        longestMs = Math.max(longestMs, Math.ceil((r.durationTicks / r.timescale) * 1000));
    }
    const periods: MpdPeriod[] = this.periods.map((p) => ({
      id: p.id,
      startMs: p.startMs,
      // A session's last Period ends with its media, also once the next session's Period follows after a
      // gap: players then jump the gap instead of asking for segments that never came.
      durationMs: p.endMs !== undefined ? Math.max(0, p.endMs - p.startMs) : undefined,
      adaptationSets: this.adaptationSetsOf(p, ast, view.segmentQuery),
    }));
    return renderMpd({
      availabilityStartTimeMs: ast,
      publishTimeMs: nowMs,
      minimumUpdatePeriodMs: profile.manifestUpdatePeriodS * 1000,
      timeShiftBufferDepthMs: windowMs,
      maxSegmentDurationMs: longestMs,
      minBufferTimeMs: profile.segmentDurationMs,
      suggestedPresentationDelayMs: delayMs,
      profiles: [
        'urn:mpeg:dash:profile:isoff-live:2011',
        'urn:mpeg:dash:profile:cmaf:2019',
        ...(profile.chunked ? ['http://www.dashif.org/guidelines/low-latency-live-v5'] : []),
      ],
      service: {
        targetLatencyMs: Math.max(profile.targetLatencyMs, delayMs),
        minLatencyMs: delayMs / 2,
        maxLatencyMs: delayMs + 2 * profile.segmentDurationMs,
        minPlaybackRate: playbackRate.min,
        maxPlaybackRate: playbackRate.max,
        referenceId: primary ? (last?.source.primary ?? 0) : 0,
      },
      periods,
      utcTimingUrl: view.timingUrl,
    });
  }

  /** Stops timers and listeners (the stream is gone for good). */
  close(): void {
    this.cancelPending();
    clearTimeout(this.graceTimer);
    for (const s of this.sources.values()) s.source.timing.off('segment', s.onSegment);
  }

  private cancelPending(): void {
    const p = this.pending;
    if (!p) return;
    clearTimeout(p.timer);
    p.source.store.off('manifest', p.onChange);
    p.source.timing.off('segment', p.onChange);
    this.pending = undefined;
  }

  /**
   * Opens the session's first Period once its timing is final: the MPD is there, the media clock has
   * an estimate, every Representation's timescale is known, and two segments of each were measured
   * (or `settleMs` passed since the session began, and the packager's nominal duration is used).
   */
  private tryStart(source: PeriodSource): void {
    const pending = this.pending;
    if (pending?.source !== source) return;
    const manifest = source.store.manifest;
    const mediaStart = source.mediaStartMs();
    if (!manifest || mediaStart === undefined) return;
    const reps = representationsOfSets(manifest.adaptationSets);
    if (reps.some((r) => source.timing.timescale(r.id) === undefined)) return;
    const measured = source.timing.templateDurationsSec();
    const settled = this.now() - pending.sinceMs >= (source.settleMs ?? this.settleMs);
    const primary = primaryOf(manifest);
    const state: SourceState = {
      source,
      adaptationSets: manifest.adaptationSets,
      primary,
      lateness: new Map(),
      reanchorPending: false,
      ended: false,
      awaitingRepublish: false,
      runs: [],
      onSegment: (arrival) => this.onSegment(state, arrival),
    };
    const previous = this.periods.at(-1);
    const awaited = previous && this.tailOf(previous);
    if (previous && awaited?.awaitingRepublish) {
      const continuation = this.continuationOf(previous, awaited, state, settled);
      if (continuation === 'wait') return;
      if (continuation) {
        this.continuePeriod(previous, state, continuation);
        return;
      }
      // Not the same media (other codecs or settings): the old Period ends, a new one follows.
      this.endAwaited(awaited);
    }
    // A Period's template is frozen once served: wait until the segment durations are measured.
    if (!settled && reps.some((r) => !measured.has(r.id))) return;
    this.cancelPending();
    this.sources.set(source.path, state);
    this.astMs ??= Math.round(mediaStart);
    const previousEnd = previous ? (previous.endMs ?? this.mediaEndMs(previous, this.tailOf(previous))) : 0;
    const startMs = Math.max(Math.round(mediaStart) - this.astMs, previousEnd);
    this.openPeriod(state, startMs, 0, (id) => ({ number: 1, mediaTimeS: 0, id }));
    state.run = ownRun(state, state.current?.reps ?? new Map());
    state.runs.push(state.run);
    source.timing.on('segment', state.onSegment);
  }

  /** The session that feeds a Period's newest segments: the last that continued it, else its own. */
  private tailOf(period: PeriodState): SourceState {
    return period.source.runs.at(-1)?.state ?? period.source;
  }

  /**
   * How the session `next` continues `period` (fed until now by `awaited`, which ended): `'wait'` until
   * its init segments and first media segments are there, `undefined` when it cannot (other init
   * segments: codecs or settings changed), else its number and tfdt offsets. Its first segment goes in
   * the Period's slot for when its media began, rounded up, so it is never announced before it exists.
   */
  private continuationOf(
    period: PeriodState,
    awaited: SourceState,
    next: SourceState,
    settled: boolean,
  ): SegmentRun<SourceState> | 'wait' | undefined {
    const ast = this.astMs;
    const mediaStart = next.source.mediaStartMs();
    const ids = representationsOfSets(next.adaptationSets).map((r) => r.id);
    if (ast === undefined || mediaStart === undefined) return 'wait';
    if (ids.length !== period.reps.size || ids.some((id) => !period.reps.has(id))) return undefined;
    for (const id of ids) {
      const init = { kind: 'init', representation: id } as const;
      const mine = next.source.store.find(init);
      const theirs = awaited.source.store.find(init);
      if (!mine?.complete || !theirs?.complete) return settled ? undefined : 'wait';
      if (!mine.body().equals(theirs.body())) return undefined;
      if (next.source.timing.decodeTime(id, 1) === undefined) return 'wait';
    }
    return continuationRun({
      state: next,
      reps: period.reps,
      primary: period.source.primary,
      mediaStartS: (mediaStart - ast - period.startMs) / 1000,
      firstDecodeTicks: (id) => next.source.timing.decodeTime(id, 1) ?? 0,
      newestInPeriod: (id) =>
        (awaited.source.store.newestSegmentNumber(id) ?? 0) + (awaited.run?.numberOffsets.get(id) ?? 0),
    });
  }

  private continuePeriod(period: PeriodState, state: SourceState, run: SegmentRun<SourceState>): void {
    this.cancelPending();
    const awaited = this.tailOf(period);
    awaited.awaitingRepublish = false;
    clearTimeout(this.graceTimer);
    if (awaited.run) endRun(awaited.run, (id) => awaited.source.store.newestSegmentNumber(id) ?? 0);
    // Requests for the pause's slots that come from now on get the last segment again: players that
    // retry a missing slot (dash.js, Shaka, GStreamer) then play on. During the pause they are 404.
    if (awaited.run) awaited.run.repeatLast = true;
    state.run = run;
    state.current = period;
    period.source.runs.push(run);
    this.sources.set(state.source.path, state);
    state.source.timing.on('segment', state.onSegment);
    this.emit('continued', {
      path: state.source.path,
      ownerPath: period.source.source.path,
      periodId: period.id,
      segmentNumber: run.from.get(state.primary) ?? 1,
    });
  }

  private openPeriod(
    state: SourceState,
    startMs: number,
    mediaTimeS: number,
    startOf: (rep: number) => { number: number; mediaTimeS: number; id: number },
  ): void {
    const { source } = state;
    const measured = source.timing.templateDurationsSec();
    const reps = new Map<number, RepresentationTimeline>();
    for (const r of representationsOfSets(state.adaptationSets)) {
      const timescale = source.timing.timescale(r.id) ?? r.templateTimescale;
      const seconds = measured.get(r.id) ?? r.nominalSeconds;
      reps.set(r.id, {
        timescale,
        durationTicks: Math.max(1, Math.round(seconds * timescale)),
        startNumber: startOf(r.id).number,
        ptoTicks: Math.round(mediaTimeS * timescale),
        bandwidthBps: Math.max(r.declaredBps, source.timing.measuredBandwidthBps(r.id) ?? 0),
      });
    }
    const period: PeriodState = { id: String(this.nextPeriodId++), source: state, startMs, mediaTimeS, reps };
    state.current = period;
    state.lateness.clear();
    state.reanchorPending = false;
    this.periods.push(period);
    this.emit('period');
  }

  /**
   * Compares each segment's arrival with its announced availability; three in a row off by more than
   * `reanchorDriftMs` re-anchor the timeline at the next segment of the primary Representation.
   */
  private onSegment(state: SourceState, arrival: SegmentArrival): void {
    const period = state.current;
    const run = state.run;
    const rep = period?.reps.get(arrival.representation);
    const number = arrival.number + (run?.numberOffsets.get(arrival.representation) ?? 0);
    if (!period || !run || !rep || this.astMs === undefined || number < rep.startNumber) return;
    const announced = this.astMs + period.startMs + this.segmentOffsetMs(rep, number);
    const samples = state.lateness.get(arrival.representation) ?? [];
    samples.push(arrival.arrivalMs - announced);
    if (samples.length > driftSamples) samples.shift();
    state.lateness.set(arrival.representation, samples);
    const drift = this.options.reanchorDriftMs;
    // Only lateness that persists re-anchors. A publisher catching up after a hiccup (each segment
    // less late than the one before) is covered by holding requests, and would be early after a
    // shift; early segments are served at once (the timeline cannot move back without overlaps).
    const first = samples[0] ?? 0;
    const newest = samples.at(-1) ?? 0;
    const recovering = newest < first - recoveryToleranceMs;
    if (samples.length === driftSamples && Math.min(...samples) > drift && !recovering) {
      state.reanchorPending = true;
    }
    if (!state.reanchorPending || arrival.representation !== state.primary) return;
    // The newest lateness is the largest while a publisher drifts; all three were over the threshold.
    const lateMs = Math.max(...(state.lateness.get(state.primary) ?? [0]));
    this.shiftRun(state, period, arrival.number, lateMs);
  }

  /**
   * From the segment after `number` (own numbering, primary Representation) on, the session's segments
   * go whole slots later in the same Period, enough to be there when announced. One Period, so
   * players that follow one Period only play on; the slots skipped repeat the segment before them
   * (players see that second again instead of a stall). Each Representation moves by the same media time.
   */
  private shiftRun(state: SourceState, period: PeriodState, number: number, lateMs: number): void {
    const run = state.run;
    if (!run) return;
    const newestOwn = (id: number) => state.source.store.newestSegmentNumber(id) ?? 0;
    const { shifted, slots } = shiftedRun(run, period.reps, state.primary, number, lateMs, newestOwn);
    period.source.runs.push(shifted);
    state.run = shifted;
    state.lateness.clear();
    state.reanchorPending = false;
    this.emit('reanchor', {
      path: state.source.path,
      periodId: period.id,
      segmentNumber: shifted.from.get(state.primary) ?? 0,
      latenessMs: Math.round(lateMs),
      shiftedSegments: slots,
    });
  }

  /** ms from the Period start to where segment `number` starts, per the Period's template. */
  private segmentOffsetMs(rep: RepresentationTimeline, number: number): number {
    return (((number - rep.startNumber) * rep.durationTicks) / rep.timescale) * 1000;
  }

  /** Where the newest segment `state` fed into a Period (primary Representation) ends, relative to AST, ms. */
  private mediaEndMs(period: PeriodState, state: SourceState): number {
    const rep = period.reps.get(period.source.primary);
    const newest = state.source.store.newestSegmentNumber(period.source.primary);
    if (!rep || newest === undefined) return period.startMs;
    const offset = state.run?.numberOffsets.get(period.source.primary) ?? 0;
    return Math.round(period.startMs + this.segmentOffsetMs(rep, newest + offset + 1));
  }

  /** Drops Periods (and ended sessions) that ended before `ms` (relative to AST); the newest stays. */
  private dropPeriodsBefore(ms: number): void {
    while (this.periods.length > 1) {
      const [first, second] = this.periods;
      if (!first || !second || second.startMs >= ms) break;
      this.periods.shift();
    }
    const listed = new Set(this.periods.map((p) => p.source));
    for (const [path, s] of this.sources) if (s.ended && !listed.has(s)) this.sources.delete(path);
  }

  private adaptationSetsOf(period: PeriodState, ast: number, query = ''): MpdAdaptationSet[] {
    const { chunked } = this.options.profile;
    const q = query ? `?${query}` : '';
    const path = period.source.source.path;
    return period.source.adaptationSets.map((set) => ({
      element: set,
      representations: asArray(set.Representation).flatMap((element): MpdRepresentation[] => {
        const id = Number(element['@id']);
        const rep = period.reps.get(id);
        const template = element.SegmentTemplate as XmlElement;
        if (!rep) return [];
        return [
          {
            element,
            bandwidthBps: rep.bandwidthBps,
            template: {
              timescale: rep.timescale,
              durationTicks: rep.durationTicks,
              startNumber: rep.startNumber,
              presentationTimeOffsetTicks: rep.ptoTicks,
              // A segment may be asked for from its start: this origin holds the request and streams each
              // chunk as it is made (ffmpeg's own offset, one frame less, made dash.js ask a frame late).
              availabilityTimeOffsetS: chunked ? rep.durationTicks / rep.timescale : undefined,
              initialization: `${path}/${String(template['@initialization'])}${q}`,
              media: `${path}/${String(template['@media'])}${q}`,
            },
            producerReference: chunked
              ? { id, wallClockMs: ast + period.startMs, presentationTimeTicks: rep.ptoTicks }
              : undefined,
          },
        ];
      }),
    }));
  }
}

interface RepresentationFacts {
  readonly id: number;
  readonly templateTimescale: number;
  readonly nominalSeconds: number;
  readonly declaredBps: number;
}

function representationsOfSets(sets: readonly XmlElement[]): RepresentationFacts[] {
  return sets.flatMap((set) =>
    asArray(set.Representation).map((r) => {
      const t = r.SegmentTemplate as XmlElement;
      const templateTimescale = Number(t['@timescale'] ?? 1) || 1;
      return {
        id: Number(r['@id']),
        templateTimescale,
        nominalSeconds: Number(t['@duration'] ?? templateTimescale) / templateTimescale,
        declaredBps: Number(r['@bandwidth'] ?? 0) || 0,
      };
    }),
  );
}

/** The Representation whose segments lead re-anchoring: the first video one, else the first. */
function primaryOf(manifest: PublishedManifest): number {
  const sets = manifest.adaptationSets;
  const video = sets.find((s) => s['@contentType'] === 'video') ?? sets[0];
  return Number(asArray(video?.Representation)[0]?.['@id'] ?? 0);
}
