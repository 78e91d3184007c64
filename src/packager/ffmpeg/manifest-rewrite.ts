/** What the origin changes in the packager's MPD before serving it. */
export interface ManifestRewrite {
  /** UTCTiming URL ffmpeg wrote (`-utc_timing_url`), replaced literally wherever it appears. */
  readonly packagerTimingUrl: string;
  /** This server's `/time` as the viewer reaches it. */
  readonly publicTimingUrl: string;
  /** Wall-clock time of media time 0, ms since the epoch; replaces MPD@availabilityStartTime. */
  readonly mediaStartMs?: number | undefined;
  /**
   * Measured segment duration per Representation id, seconds; replaces that Representation's
   * SegmentTemplate@duration (in the template's own timescale). See `SegmentTiming`.
   */
  readonly segmentDurationsSec?: ReadonlyMap<number, number> | undefined;
  /**
   * How far behind the live edge a player should play, ms: MPD@suggestedPresentationDelay (§5.3.1.2).
   * Players that read neither ServiceDescription nor their own setting (GStreamer's dashdemux) otherwise
   * fall back to the whole time-shift window.
   */
  readonly suggestedPresentationDelayMs?: number | undefined;
}

/**
 * Rewrites ffmpeg's MPD for live delivery from this origin:
 * - UTCTiming (ISO/IEC 23009-1 §5.8.4.11) points at this server's `/time`, scheme
 *   `urn:mpeg:dash:utc:http-iso:2014` (DASH-IF IOP), since `/time` answers ISO 8601;
 * - MPD@availabilityStartTime (§5.3.1.2) becomes `mediaStartMs` when known;
 * - SegmentTemplate@duration (§5.3.9.2) becomes the measured duration for each Representation given,
 *   so `$Number$` addressing by wall clock finds the segment that holds the live edge, and
 *   @availabilityTimeOffset (§5.3.9.5.3) equals the duration, so players ask for a segment at its start.
 * - MPD@maxSegmentDuration (§5.3.1.2) is raised to the longest measured segment (audio segments of
 *   AAC frames last a little over the nominal second), never lowered;
 * - MPD@suggestedPresentationDelay is set when given;
 * - `xsi:schemaLocation` is dropped: it names the schema in the wrong case (`urn:mpeg:DASH:schema:MPD:2011`),
 *   so it is no hint to anyone, and it made the opening `<MPD>` tag ~600 bytes long, past the ~512 bytes
 *   GStreamer's type finder reads before it gives up on `application/dash+xml`.
 * Everything else is left byte for byte as ffmpeg wrote it.
 */
export function rewriteManifest(mpd: string, rw: ManifestRewrite): string {
  let out = mpd
    .replaceAll('urn:mpeg:dash:utc:http-xsdate:2014', 'urn:mpeg:dash:utc:http-iso:2014')
    .replaceAll(rw.packagerTimingUrl, rw.publicTimingUrl);
  out = out.replace(/(<MPD\b[^>]*?)\s+xsi:schemaLocation="[^"]*"/, '$1');
  if (!/\bxsi:/.test(out.replace(/\sxmlns:xsi="[^"]*"/, ''))) out = out.replace(/\s+xmlns:xsi="[^"]*"/, '');
  if (rw.suggestedPresentationDelayMs !== undefined) {
    const delay = `PT${Number((rw.suggestedPresentationDelayMs / 1000).toFixed(3))}S`;
    out = /<MPD\b[^>]*\ssuggestedPresentationDelay="/.test(out)
      ? out.replace(/(<MPD\b[^>]*\ssuggestedPresentationDelay=")[^"]*(")/, `$1${delay}$2`)
      : out.replace(/<MPD\b/, `<MPD suggestedPresentationDelay="${delay}"`);
  }
  if (rw.mediaStartMs !== undefined) {
    const start = new Date(rw.mediaStartMs).toISOString();
    out = out.replace(/(<MPD\b[^>]*\savailabilityStartTime=")[^"]*(")/, `$1${start}$2`);
  }
  const durations = rw.segmentDurationsSec;
  out = withMaxSegmentDuration(out, durations);
  return out.replace(/<Representation\b[^>]*\sid="(\d+)"[\s\S]*?<\/Representation>/g, (block, id: string) =>
    withLiveTemplate(block, durations?.get(Number(id))),
  );
}

/**
 * Sets SegmentTemplate@duration to `seconds` when measured, and, where ffmpeg wrote an
 * availabilityTimeOffset (low-latency mode), makes it equal to the duration: the segment may be
 * requested from its start. ffmpeg writes duration minus one frame (the first CMAF chunk complete), and
 * dash.js does not ask for a segment before that (`_isSegmentAvailable`), so at every segment boundary
 * it asked a frame late, later still once the duration grew. This origin holds an early request and
 * streams each chunk as it comes, so asking at the start costs nothing and the keyframe arrives sooner.
 */
function withLiveTemplate(representation: string, seconds: number | undefined): string {
  return representation.replace(/<SegmentTemplate\b[^>]*>/, (tag) => {
    const timescale = Number(/\stimescale="(\d+)"/.exec(tag)?.[1] ?? 1);
    const written = Number(/\sduration="(\d+)"/.exec(tag)?.[1]);
    if (!Number.isFinite(written)) return tag; // a SegmentTimeline template: nothing here to correct
    const ticks = seconds === undefined ? written : Math.max(1, Math.round(seconds * timescale));
    return tag
      .replace(/(\sduration=")\d+(")/, `$1${ticks}$2`)
      .replace(/(\savailabilityTimeOffset=")[^"]*(")/, `$1${Number((ticks / timescale).toFixed(6))}$2`);
  });
}

/** Raises MPD@maxSegmentDuration to the longest measured duration, rounded up to the millisecond. */
function withMaxSegmentDuration(mpd: string, durations: ReadonlyMap<number, number> | undefined): string {
  if (!durations || durations.size === 0) return mpd;
  const longestMs = Math.ceil(Math.max(...durations.values()) * 1000);
  return mpd.replace(
    /(<MPD\b[^>]*\smaxSegmentDuration=")PT([\d.]+)S(")/,
    (whole, head: string, s: string, tail: string) =>
      longestMs > Math.round(Number(s) * 1000) ? `${head}PT${longestMs / 1000}S${tail}` : whole,
  );
}
