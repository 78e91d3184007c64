/**
 * How sessions' media segments fill the slots of one Period's SegmentTemplate ($Number$ addressing,
 * ISO/IEC 23009-1 §5.3.9.4). A run is a stretch of one session's segments placed at a number and
 * tfdt offset: a publisher that returns with the same media starts a run after the pause, and a late
 * publisher's next segments start a run a few slots later. The slots between two runs are filled by
 * repeating the earlier run's last segment, moved on a slot each (or left empty), so one Period
 * carries the stream through both and players that follow one Period only play on.
 */

/** A Representation's template in one Period. */
export interface RepresentationTimeline {
  readonly timescale: number;
  /** SegmentTemplate@duration, ticks of `timescale`. */
  readonly durationTicks: number;
  readonly startNumber: number;
  /** SegmentTemplate@presentationTimeOffset, ticks. */
  readonly ptoTicks: number;
  /** Representation@bandwidth, bits/s. */
  readonly bandwidthBps: number;
}

/** One session's segments (`state`) in a Period's numbering; maps are per Representation id. */
export interface SegmentRun<S> {
  readonly state: S;
  /** Own segment number + offset = the Period's number. */
  readonly numberOffsets: ReadonlyMap<number, number>;
  /** Added to each served segment's tfdt, ticks. */
  readonly decodeTimeOffsets: ReadonlyMap<number, number>;
  /** The first Period number of the run. */
  readonly from: ReadonlyMap<number, number>;
  /** The first Period number after it, once the next run began. */
  until?: ReadonlyMap<number, number>;
  /**
   * The slots up to the next run repeat this run's last segment, each moved one slot on, instead of
   * holding nothing: dash.js, Shaka and GStreamer retry a missing slot rather than skip it.
   */
  repeatLast?: boolean;
  /** The Period's segment duration, ticks. */
  readonly durationTicks: ReadonlyMap<number, number>;
}

/** Each Representation's segment duration, ticks. */
export function durationsOf(reps: ReadonlyMap<number, RepresentationTimeline>): Map<number, number> {
  return new Map([...reps].map(([id, r]) => [id, r.durationTicks]));
}

/** The first run of a session that opened a Period: its own numbers, its own timestamps. */
export function ownRun<S>(state: S, reps: ReadonlyMap<number, RepresentationTimeline>): SegmentRun<S> {
  const zero = new Map([...reps.keys()].map((id) => [id, 0]));
  const from = new Map([...reps.keys()].map((id) => [id, 1]));
  return { state, numberOffsets: zero, decodeTimeOffsets: zero, from, durationTicks: durationsOf(reps) };
}

/**
 * Which run holds Period number `number` of Representation `id`, under which own number and tfdt
 * shift; `undefined` for a slot between runs that holds nothing.
 */
export function locate<S>(
  runs: readonly SegmentRun<S>[],
  id: number,
  number: number,
): { run: SegmentRun<S> | undefined; own: number; shiftTicks: number } | undefined {
  let run: SegmentRun<S> | undefined;
  for (const r of runs) if ((r.from.get(id) ?? Number.POSITIVE_INFINITY) <= number) run = r;
  const offset = run?.numberOffsets.get(id) ?? 0;
  const shiftTicks = run?.decodeTimeOffsets.get(id) ?? 0;
  const until = run?.until?.get(id);
  if (!run || until === undefined || number < until) return { run, own: number - offset, shiftTicks };
  if (!run.repeatLast) return undefined;
  const last = until - 1;
  return {
    run,
    own: last - offset,
    shiftTicks: shiftTicks + (number - last) * (run.durationTicks.get(id) ?? 0),
  };
}

/** Ends `run` before `ownNext` (own numbers), by default after its newest segment per Representation. */
export function endRun<S>(
  run: SegmentRun<S>,
  newestOwn: (id: number) => number,
  ownNext?: ReadonlyMap<number, number>,
): void {
  const until = new Map<number, number>();
  for (const [id, offset] of run.numberOffsets)
    until.set(id, (ownNext?.get(id) ?? newestOwn(id) + 1) + offset);
  run.until = until;
}

/**
 * The run of a session that returns to continue a Period: its first segment goes in the slot for when
 * its media began (`mediaStartS` after the Period start), rounded up, so it is never announced before
 * it exists, and never before the slots already used. Every Representation moves by the primary's
 * media shift, in its own ticks.
 */
export function continuationRun<S>(o: {
  readonly state: S;
  readonly reps: ReadonlyMap<number, RepresentationTimeline>;
  readonly primary: number;
  /** When the returning session's media time 0 plays, s after the Period start. */
  readonly mediaStartS: number;
  /** The returning session's first segment's tfdt per Representation, ticks. */
  readonly firstDecodeTicks: (id: number) => number;
  /** The newest Period number used so far per Representation. */
  readonly newestInPeriod: (id: number) => number;
}): SegmentRun<S> {
  const seconds = (r: RepresentationTimeline) => r.durationTicks / r.timescale;
  const p = o.reps.get(o.primary);
  if (!p) throw new Error(`no Representation ${o.primary} in the Period`);
  const first = (id: number, r: RepresentationTimeline) => o.firstDecodeTicks(id) / r.timescale;
  const slot = Math.max(
    Math.ceil(o.mediaStartS / seconds(p) - 1e-6),
    o.newestInPeriod(o.primary) + 1 - p.startNumber,
  );
  const shiftS = p.ptoTicks / p.timescale + slot * seconds(p) - first(o.primary, p);
  const numberOffsets = new Map<number, number>();
  const decodeTimeOffsets = new Map<number, number>();
  const from = new Map<number, number>();
  for (const [id, r] of o.reps) {
    const index = Math.round((first(id, r) + shiftS - r.ptoTicks / r.timescale) / seconds(r));
    const number = Math.max(r.startNumber + index, o.newestInPeriod(id) + 1);
    numberOffsets.set(id, number - 1);
    decodeTimeOffsets.set(id, Math.round(shiftS * r.timescale));
    from.set(id, number);
  }
  return { state: o.state, numberOffsets, decodeTimeOffsets, from, durationTicks: durationsOf(o.reps) };
}

/**
 * A late session's next run: from the segment after `number` (own numbering, primary Representation)
 * on, whole slots later, enough to cover `lateMs`; `run` then ends there and repeats its last segment
 * in the slots skipped. Every Representation moves by the same media time.
 */
export function shiftedRun<S>(
  run: SegmentRun<S>,
  reps: ReadonlyMap<number, RepresentationTimeline>,
  primary: number,
  number: number,
  lateMs: number,
  newestOwn: (id: number) => number,
): { shifted: SegmentRun<S>; slots: number } {
  const seconds = (r: RepresentationTimeline) => r.durationTicks / r.timescale;
  const p = reps.get(primary);
  if (!p) throw new Error(`no Representation ${primary} in the Period`);
  const slots = Math.max(1, Math.ceil(lateMs / 1000 / seconds(p) - 1e-6));
  const shiftS = slots * seconds(p);
  const ownNext = new Map<number, number>();
  const numberOffsets = new Map<number, number>();
  const decodeTimeOffsets = new Map<number, number>();
  const from = new Map<number, number>();
  for (const [id, r] of reps) {
    // The next segment not yet begun: the primary's is the one after this; the others' after their newest.
    const next = id === primary ? number + 1 : newestOwn(id) + 1;
    const offset =
      (run.numberOffsets.get(id) ?? 0) + (id === primary ? slots : Math.round(shiftS / seconds(r)));
    ownNext.set(id, next);
    numberOffsets.set(id, offset);
    decodeTimeOffsets.set(id, (run.decodeTimeOffsets.get(id) ?? 0) + Math.round(shiftS * r.timescale));
    from.set(id, next + offset);
  }
  endRun(run, newestOwn, ownNext);
  run.repeatLast = true;
  return {
    shifted: { state: run.state, numberOffsets, decodeTimeOffsets, from, durationTicks: durationsOf(reps) },
    slots,
  };
}
