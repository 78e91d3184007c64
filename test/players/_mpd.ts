/** What the harness needs from a live MPD: its clock origin and its Periods. */
export interface MpdTimeline {
  /** Wall clock when this MPD was fetched, ms. */
  readonly fetchedAtMs: number;
  /** MPD@availabilityStartTime, ms since the epoch. */
  readonly astMs: number;
  readonly type: string;
  /** In document order; `startS` is Period@start (0 when absent on the first Period). */
  readonly periods: readonly { id: string; startS: number }[];
}

/** `PT1H2M3.5S` → seconds (ISO 8601 durations as MPDs use them; days allowed). */
export function parseIsoDuration(text: string): number {
  const m =
    /^P(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(
      text.trim(),
    );
  if (!m) throw new Error(`not an ISO 8601 duration: ${text}`);
  const [, d, h, min, s] = m;
  return Number(d ?? 0) * 86400 + Number(h ?? 0) * 3600 + Number(min ?? 0) * 60 + Number(s ?? 0);
}

function attr(tag: string, name: string): string | undefined {
  return new RegExp(`\\s${name}="([^"]*)"`).exec(tag)?.[1];
}

/** Reads AST and the `<Period id start>` list. @throws Error when the text is not a dynamic MPD with an AST. */
export function parseMpdTimeline(xml: string, fetchedAtMs = Date.now()): MpdTimeline {
  const mpdTag = /<MPD\b[^>]*>/s.exec(xml)?.[0];
  if (!mpdTag) throw new Error('no <MPD> element');
  const ast = attr(mpdTag, 'availabilityStartTime');
  if (!ast) throw new Error('MPD has no availabilityStartTime');
  const periods: { id: string; startS: number }[] = [];
  for (const m of xml.matchAll(/<Period\b[^>]*>/gs)) {
    const start = attr(m[0], 'start');
    const previous = periods.at(-1);
    periods.push({
      id: attr(m[0], 'id') ?? String(periods.length),
      // A Period without @start follows its predecessor; without @duration the harness cannot say
      // where, so it keeps the predecessor's start (the position then decides; see periodFor).
      startS: start !== undefined ? parseIsoDuration(start) : (previous?.startS ?? 0),
    });
  }
  return { fetchedAtMs, astMs: Date.parse(ast), type: attr(mpdTag, 'type') ?? 'static', periods };
}

/**
 * The Period a position (seconds into a Period) belongs to, as seen at `nowMs`: the latest Period that
 * had started by then whose start plus the position is not ahead of the live edge (a player cannot be
 * ahead of the wall clock). Falls back to the first Period.
 */
export function periodFor(
  t: MpdTimeline,
  positionS: number,
  nowMs: number,
  slackS = 1,
): { id: string; startS: number } {
  const elapsedS = (nowMs - t.astMs) / 1000;
  const fitting = t.periods.filter((p) => p.startS <= elapsedS && p.startS + positionS <= elapsedS + slackS);
  return fitting.at(-1) ?? t.periods[0] ?? { id: '?', startS: 0 };
}

/**
 * Latency, ms: (now − AST − Period@start) − position in the Period.
 * `positionIsPresentationTime`: the player reports time since AST (an MSE player's currentTime, which
 * already includes Period@start), so no Period is added.
 */
export function latencyMs(
  t: MpdTimeline,
  positionS: number,
  nowMs: number,
  positionIsPresentationTime: boolean,
): { latencyMs: number; periodId: string } {
  if (positionIsPresentationTime) {
    const p = [...t.periods].reverse().find((q) => q.startS <= positionS) ?? t.periods[0];
    return { latencyMs: nowMs - t.astMs - positionS * 1000, periodId: p?.id ?? '?' };
  }
  const p = periodFor(t, positionS, nowMs);
  return { latencyMs: nowMs - t.astMs - (p.startS + positionS) * 1000, periodId: p.id };
}

/**
 * Polls a stream's MPD (straight from the server, not through a player's proxy, so it adds nothing to
 * the players' request counts) and keeps every distinct timeline, so that a sample is measured against
 * the MPD that was current when it was taken (a republished stream gets a new AST).
 */
export class MpdWatcher {
  readonly history: MpdTimeline[] = [];
  readonly problems: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly manifestUrl: string,
    private readonly intervalMs = 500,
  ) {}

  start(): void {
    const poll = async () => {
      if (this.stopped) return;
      try {
        const res = await fetch(this.manifestUrl, { cache: 'no-store' });
        if (res.ok) {
          const t = parseMpdTimeline(await res.text());
          const last = this.history.at(-1);
          if (!last || last.astMs !== t.astMs || JSON.stringify(last.periods) !== JSON.stringify(t.periods))
            this.history.push(t);
        }
      } catch (e) {
        if (this.problems.length < 20) this.problems.push(String(e));
      }
      if (!this.stopped) this.timer = setTimeout(poll, this.intervalMs);
    };
    void poll();
  }

  /** The timeline current at `atMs` (the first one for earlier samples). */
  at(atMs: number): MpdTimeline | undefined {
    let found = this.history[0];
    for (const t of this.history) if (t.fetchedAtMs <= atMs) found = t;
    return found;
  }

  /** Resolves with the first timeline, or throws after `timeoutMs`. */
  async first(timeoutMs = 20_000): Promise<MpdTimeline> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const t = this.history[0];
      if (t) return t;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no MPD at ${this.manifestUrl} after ${timeoutMs} ms`);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }
}
