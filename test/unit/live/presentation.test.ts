import { EventEmitter } from 'node:events';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { describe, expect, it, vi } from 'vitest';
import { latencyProfiles } from '../../../src/config/config.ts';
import {
  type PeriodSource,
  Presentation,
  type Reanchor,
  type SegmentClock,
} from '../../../src/live/presentation.ts';
import { SegmentStore } from '../../../src/live/segment-store.ts';
import type { SegmentArrival } from '../../../src/live/segment-timing.ts';
import { ffmpegDashNaming } from '../../../src/packager/ffmpeg/file-names.ts';
import { parseFfmpegManifest } from '../../../src/packager/ffmpeg/manifest-parse.ts';

/** ffmpeg dashenc's live MPD for H.264 + AAC, as it PUTs it (abridged to what it always writes). */
const ffmpegMpd = `<?xml version="1.0" encoding="utf-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:isoff-live:2011" type="dynamic"
  availabilityStartTime="2026-12-02T12:58:18.259Z" minimumUpdatePeriod="PT2S">
  <Period id="0" start="PT0.0S">
    <AdaptationSet id="0" contentType="video" startWithSAP="1" segmentAlignment="true" frameRate="30/1">
      <Representation id="0" mimeType="video/mp4" codecs="avc1.64001f" bandwidth="4000000" width="1280" height="720">
        <SegmentTemplate timescale="1000000" duration="1000000" availabilityTimeOffset="0.967" initialization="init-$RepresentationID$.m4s" media="seg-$RepresentationID$-$Number%05d$.m4s" startNumber="1"/>
      </Representation>
    </AdaptationSet>
    <AdaptationSet id="1" contentType="audio" startWithSAP="1" segmentAlignment="true">
      <Representation id="1" mimeType="audio/mp4" codecs="mp4a.40.2" bandwidth="128000" audioSamplingRate="48000">
        <AudioChannelConfiguration schemeIdUri="urn:mpeg:dash:23003:3:audio_channel_configuration:2011" value="1"/>
        <SegmentTemplate timescale="1000000" duration="1000000" initialization="init-$RepresentationID$.m4s" media="seg-$RepresentationID$-$Number%05d$.m4s" startNumber="1"/>
      </Representation>
    </AdaptationSet>
  </Period>
</MPD>`;

const timescales: Record<number, number> = { 0: 15360, 1: 48000 };

/** Segment timing a test drives: it says which segment arrived when, with which tfdt. */
class FakeClock extends EventEmitter<{ segment: [SegmentArrival] }> implements SegmentClock {
  readonly durations = new Map<number, number>();
  private readonly times = new Map<string, number>();
  timescale(rep: number): number | undefined {
    return timescales[rep];
  }
  decodeTime(rep: number, n: number): number | undefined {
    return this.times.get(`${rep}/${n}`);
  }
  templateDurationsSec(): Map<number, number> {
    return new Map(this.durations);
  }
  measuredBandwidthBps(): number | undefined {
    return undefined;
  }
  arrive(store: SegmentStore, rep: number, n: number, mediaS: number, arrivalMs: number): void {
    const timescale = timescales[rep] ?? 1;
    const decodeTime = Math.round(mediaS * timescale);
    this.times.set(`${rep}/${n}`, decodeTime);
    store.begin(`seg-${rep}-${String(n).padStart(5, '0')}.m4s`);
    this.emit('segment', { representation: rep, number: n, decodeTime, timescale, arrivalMs });
  }
}

const view = { timingUrl: 'http://relay.example/time' };
const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  isArray: (n) => ['Period', 'AdaptationSet', 'Representation'].includes(n),
});

interface ParsedTemplate {
  timescale: string;
  duration: string;
  startNumber: string;
  presentationTimeOffset: string;
  media: string;
  availabilityTimeOffset?: string;
}
interface ParsedMpd {
  MPD: {
    availabilityStartTime: string;
    suggestedPresentationDelay: string;
    profiles: string;
    ServiceDescription: { Latency: Record<string, string>; PlaybackRate: Record<string, string> };
    Period: {
      id: string;
      start: string;
      duration?: string;
      AdaptationSet: {
        Representation: { id: string; bandwidth: string; SegmentTemplate: ParsedTemplate }[];
      }[];
    }[];
    UTCTiming: { value: string };
  };
}

function setup(opts: { withAudio?: boolean; republishGraceMs?: number } = {}) {
  let now = 1_000_000;
  const presentation = new Presentation('cam', {
    profile: latencyProfiles.low,
    reanchorDriftMs: 500,
    settleMs: 2000,
    republishGraceMs: opts.republishGraceMs ?? 0,
    now: () => now,
  });
  const sources: { source: PeriodSource; clock: FakeClock; store: SegmentStore }[] = [];
  const addSession = (path: string, mediaStartMs: number) => {
    const store = new SegmentStore('cam', { naming: ffmpegDashNaming });
    const clock = new FakeClock();
    const source: PeriodSource = {
      path,
      store,
      timing: clock,
      mediaStartMs: () => mediaStartMs,
      playerDelayMs: opts.withAudio === false ? 150 : 300,
    };
    presentation.addSource(source);
    sources.push({ source, clock, store });
    return { source, clock, store };
  };
  const render = (): ParsedMpd | undefined => {
    const text = presentation.render(view);
    if (text === undefined) return undefined;
    expect(XMLValidator.validate(text)).toBe(true);
    return parser.parse(text) as ParsedMpd;
  };
  return {
    presentation,
    addSession,
    render,
    advance: (ms: number) => {
      now += ms;
    },
    now: () => now,
  };
}

/** The init segments a packager writes first (the same bytes for the same codecs and settings). */
function writeInits(store: SegmentStore, variant = 'h264-720p') {
  for (const rep of [0, 1]) {
    const file = store.begin(`init-${rep}.m4s`);
    file?.append(Buffer.from(`init ${rep} ${variant}`));
    file?.finish();
  }
}

/** Publishes ffmpeg's MPD and two measured segments per Representation: the first Period opens. */
function startSession(s: ReturnType<ReturnType<typeof setup>['addSession']>, arrivalMs: number) {
  s.store.publishManifest({ raw: Buffer.from(ffmpegMpd), adaptationSets: parseFfmpegManifest(ffmpegMpd) });
  s.clock.durations.set(0, 1.0);
  s.clock.durations.set(1, 1.003);
  for (const rep of [0, 1]) {
    s.clock.arrive(s.store, rep, 1, 0, arrivalMs);
    s.clock.arrive(s.store, rep, 2, rep === 0 ? 1 : 1.003, arrivalMs + 1000);
  }
}

const periodsOf = (mpd: ParsedMpd | undefined) => mpd?.MPD.Period ?? [];
const templateOf = (period: ParsedMpd['MPD']['Period'][number] | undefined, set = 0) =>
  period?.AdaptationSet[set]?.Representation[0]?.SegmentTemplate;

describe('Presentation', () => {
  it('serves no MPD until the session has a packager MPD and measured segments', () => {
    const t = setup();
    const s = t.addSession('aaaa1111', 1_000_000);
    expect(t.render()).toBeUndefined();
    s.store.publishManifest({ raw: Buffer.from(ffmpegMpd), adaptationSets: parseFfmpegManifest(ffmpegMpd) });
    expect(t.render()).toBeUndefined();
    startSession(s, 1_000_050);
    expect(periodsOf(t.render())).toHaveLength(1);
  });

  it('says how long a session waiting for its first Period may still take (the rest of its settle time)', () => {
    const t = setup();
    expect(t.presentation.startsWithinMs()).toBeUndefined();
    const s = t.addSession('aaaa1111', 1_000_000);
    expect(t.presentation.startsWithinMs()).toBe(2000);
    t.advance(1500);
    expect(t.presentation.startsWithinMs()).toBe(500);
    t.advance(1000);
    expect(t.presentation.startsWithinMs()).toBe(0);
    s.store.publishManifest({ raw: Buffer.from(ffmpegMpd), adaptationSets: parseFfmpegManifest(ffmpegMpd) });
    startSession(s, 1_000_050);
    expect(periodsOf(t.render())).toHaveLength(1);
    expect(t.presentation.startsWithinMs()).toBeUndefined();
  });

  it('writes the first Period from the session timing: AST = media start, track timescale, session path', () => {
    const t = setup();
    const s = t.addSession('aaaa1111', 1_000_000);
    startSession(s, 1_000_050);
    const mpd = t.render();
    expect(mpd?.MPD.availabilityStartTime).toBe(new Date(1_000_000).toISOString());
    const [period] = periodsOf(mpd);
    expect(period).toMatchObject({ id: '0', start: 'PT0S' });
    expect(period?.duration).toBeUndefined();
    expect(templateOf(period)).toMatchObject({
      timescale: '15360',
      duration: '15360',
      startNumber: '1',
      presentationTimeOffset: '0',
      availabilityTimeOffset: '1',
      media: 'aaaa1111/seg-$RepresentationID$-$Number%05d$.m4s',
    });
    expect(templateOf(period, 1)).toMatchObject({ timescale: '48000', duration: '48144' });
    expect(mpd?.MPD.profiles).toContain('urn:mpeg:dash:profile:cmaf:2019');
    expect(mpd?.MPD.profiles).toContain('http://www.dashif.org/guidelines/low-latency-live-v5');
    expect(mpd?.MPD.suggestedPresentationDelay).toBe('PT0.3S');
    expect(mpd?.MPD.ServiceDescription.Latency).toMatchObject({
      target: '300',
      min: '150',
      referenceId: '0',
    });
    expect(mpd?.MPD.ServiceDescription.PlaybackRate).toEqual({ min: '0.7', max: '1.3' });
    expect(mpd?.MPD.UTCTiming.value).toBe('http://relay.example/time');
  });

  it('opens the first Period after settleMs with the nominal duration when segments are not measured', () => {
    const t = setup();
    const s = t.addSession('aaaa1111', 1_000_000);
    s.store.publishManifest({ raw: Buffer.from(ffmpegMpd), adaptationSets: parseFfmpegManifest(ffmpegMpd) });
    s.clock.arrive(s.store, 0, 1, 0, 1_000_050);
    s.clock.arrive(s.store, 1, 1, 0, 1_000_050);
    expect(t.render()).toBeUndefined();
    t.advance(2000);
    s.clock.arrive(s.store, 0, 2, 1, 1_001_050);
    expect(templateOf(periodsOf(t.render())[0])).toMatchObject({ duration: '15360' });
  });

  it('keeps availabilityStartTime and every Period as they were through a republish', () => {
    const t = setup();
    const first = t.addSession('aaaa1111', 1_000_000);
    startSession(first, 1_000_050);
    const before = t.render();
    first.clock.arrive(first.store, 0, 3, 2, 1_002_050);
    t.presentation.endSource(first.source);
    const ended = periodsOf(t.render())[0];
    // Segments 1–3 exist: the Period's media ends 3 s in.
    expect(ended?.duration).toBe('PT3S');
    expect(t.presentation.resolve('aaaa1111', 'seg-0-00004.m4s')?.ended).toBe(true);

    t.advance(6000);
    const second = t.addSession('bbbb2222', 1_007_000);
    startSession(second, 1_007_050);
    const after = t.render();
    expect(after?.MPD.availabilityStartTime).toBe(before?.MPD.availabilityStartTime);
    const [p0, p1] = periodsOf(after);
    expect(p0).toMatchObject({ id: '0', start: 'PT0S' });
    expect(p0?.duration).toBe('PT3S'); // its media ended there; players jump the gap to the next
    expect(p1).toMatchObject({ id: '1', start: 'PT7S' });
    expect(templateOf(p1)?.media).toBe('bbbb2222/seg-$RepresentationID$-$Number%05d$.m4s');
    expect(templateOf(p1)?.startNumber).toBe('1');
  });

  describe('a publisher that returns within republishGraceMs', () => {
    /** A first session with segments 1–3 (media 0–3 s), ended; a second one whose media begins 6.5 s in. */
    function republish(variant: string) {
      const t = setup({ republishGraceMs: 15_000 });
      const first = t.addSession('aaaa1111', 1_000_000);
      writeInits(first.store);
      startSession(first, 1_000_050);
      for (const rep of [0, 1]) first.clock.arrive(first.store, rep, 3, 2, 1_002_050);
      t.presentation.endSource(first.source);
      const awaited = t.render();
      t.advance(6000);
      const second = t.addSession('bbbb2222', 1_006_500);
      second.store.publishManifest({
        raw: Buffer.from(ffmpegMpd),
        adaptationSets: parseFfmpegManifest(ffmpegMpd),
      });
      writeInits(second.store, variant);
      for (const rep of [0, 1]) second.clock.arrive(second.store, rep, 1, 0, 1_006_550);
      return { t, first, second, awaited };
    }

    it('keeps the ended Period open (no @duration) and holds requests past its media meanwhile', () => {
      const { awaited } = republish('h264-720p');
      expect(periodsOf(awaited)).toHaveLength(1);
      expect(periodsOf(awaited)[0]?.duration).toBeUndefined();
    });

    it('continues the same Period with the same init segments: numbers and tfdt go on from its slot', () => {
      const { t, second } = republish('h264-720p');
      const periods = periodsOf(t.render());
      expect(periods).toHaveLength(1);
      expect(periods[0]?.duration).toBeUndefined();
      expect(templateOf(periods[0])?.media).toBe('aaaa1111/seg-$RepresentationID$-$Number%05d$.m4s');
      // Its media began 6.5 s into the Period: its first segment is the 7 s slot, number 8 (rounded up,
      // so it is never announced before it exists); its tfdt moves by those 7 s in each timescale.
      const video = t.presentation.resolve('aaaa1111', 'seg-0-00008.m4s');
      expect(video).toMatchObject({ kind: { number: 1 }, ended: false, decodeTimeOffsetTicks: 7 * 15360 });
      expect(video?.store).toBe(second.store);
      expect(video?.announcedAtMs).toBe(1_007_000);
      const audio = t.presentation.resolve('aaaa1111', 'seg-1-00008.m4s');
      expect(audio).toMatchObject({ kind: { number: 1 }, decodeTimeOffsetTicks: 7 * 48000 });
      // The slots of the pause repeat the first session's last segment, moved on (players that retry a
      // missing slot would otherwise stall there).
      expect(t.presentation.resolve('aaaa1111', 'seg-0-00005.m4s')).toMatchObject({
        kind: { number: 3 },
        decodeTimeOffsetTicks: 2 * 15360,
      });
      expect(t.presentation.resolve('aaaa1111', 'seg-0-00005.m4s')?.store).not.toBe(second.store);
      // Init segments and the first session's media still come from the first session.
      expect(t.presentation.resolve('aaaa1111', 'init-0.m4s')?.store).not.toBe(second.store);
      expect(t.presentation.resolve('aaaa1111', 'seg-0-00003.m4s')?.kind).toMatchObject({ number: 3 });
      // The continuing session's arrivals are checked against the Period's numbers: on time, no re-anchor.
      for (let n = 2; n <= 6; n++) {
        for (const rep of [0, 1])
          second.clock.arrive(second.store, rep, n, n - 1, 1_006_550 + 1000 * (n - 1));
      }
      expect(periodsOf(t.render())).toHaveLength(1);
    });

    it('ends the Period with its media and opens a new one when the init segments differ', () => {
      const { t, second } = republish('h264-1080p');
      second.clock.durations.set(0, 1.0);
      second.clock.durations.set(1, 1.003);
      for (const rep of [0, 1]) second.clock.arrive(second.store, rep, 2, rep === 0 ? 1 : 1.003, 1_007_550);
      const [p0, p1] = periodsOf(t.render());
      expect(p0?.duration).toBe('PT3S');
      expect(templateOf(p1)?.media).toBe('bbbb2222/seg-$RepresentationID$-$Number%05d$.m4s');
    });

    it('gives the Period its @duration once the grace passed without a publisher', () => {
      vi.useFakeTimers();
      try {
        const t = setup({ republishGraceMs: 15_000 });
        const first = t.addSession('aaaa1111', 1_000_000);
        startSession(first, 1_000_050);
        t.presentation.endSource(first.source);
        expect(periodsOf(t.render())[0]?.duration).toBeUndefined();
        vi.advanceTimersByTime(15_000);
        expect(periodsOf(t.render())[0]?.duration).toBe('PT2S');
        expect(t.presentation.resolve('aaaa1111', 'seg-0-00003.m4s')?.ended).toBe(true);
      } finally {
        vi.useRealTimers();
      }
    });
  });

  it('never starts a republished Period before the previous one ended', () => {
    const t = setup();
    const first = t.addSession('aaaa1111', 1_000_000);
    startSession(first, 1_000_050);
    t.presentation.endSource(first.source);
    // The new publisher's clock says its media began 1 s in, while the first session's 2 segments end at 2 s.
    const second = t.addSession('bbbb2222', 1_001_000);
    startSession(second, 1_001_050);
    expect(periodsOf(t.render())[1]?.start).toBe('PT2S');
  });

  it('drops Periods that left the time-shift window, and stops serving their segments', () => {
    const t = setup();
    const first = t.addSession('aaaa1111', 1_000_000);
    startSession(first, 1_000_050);
    t.presentation.endSource(first.source);
    const second = t.addSession('bbbb2222', 1_005_000);
    startSession(second, 1_005_050);
    expect(periodsOf(t.render())).toHaveLength(2);
    t.advance(16_000); // now 16 s after AST: the window (10 s) starts after the second Period's start
    expect(periodsOf(t.render()).map((p) => p.id)).toEqual(['1']);
    expect(t.presentation.resolve('aaaa1111', 'seg-0-00001.m4s')).toBeUndefined();
    expect(t.presentation.resolve('bbbb2222', 'seg-0-00001.m4s')).toBeDefined();
  });

  it('moves the next segments whole slots later in the same Period when three in a row arrive late', () => {
    const t = setup();
    const s = t.addSession('aaaa1111', 1_000_000);
    startSession(s, 1_000_050);
    const reanchors: Reanchor[] = [];
    t.presentation.on('reanchor', (r) => reanchors.push(r));
    // A publisher at 0.8× real time: segment n (media n−1 s) arrives at 1.25 × (n−1) s: 750, 1000 and
    // 1250 ms late for n = 4, 5, 6.
    for (let n = 3; n <= 6; n++) {
      for (const rep of [1, 0]) s.clock.arrive(s.store, rep, n, n - 1, 1_000_000 + 1250 * (n - 1));
    }
    // One Period still (players that follow one Period only play on), its template unchanged.
    const periods = periodsOf(t.render());
    expect(periods).toHaveLength(1);
    expect(templateOf(periods[0])?.startNumber).toBe('1');
    // From segment 7 on, two slots later (1.25 s late rounds up to two 1 s slots), tfdt moved 2 s.
    expect(reanchors).toEqual([
      { path: 'aaaa1111', periodId: '0', segmentNumber: 9, latenessMs: 1250, shiftedSegments: 2 },
    ]);
    expect(t.presentation.resolve('aaaa1111', 'seg-0-00009.m4s')).toMatchObject({
      kind: { number: 7 },
      decodeTimeOffsetTicks: 2 * 15360,
      announcedAtMs: 1_008_000,
    });
    expect(t.presentation.resolve('aaaa1111', 'seg-1-00009.m4s')).toMatchObject({
      kind: { number: 7 },
      decodeTimeOffsetTicks: 2 * 48000,
    });
    // The two slots skipped repeat segment 6, moved on one and two slots: no slot is missing (dash.js,
    // Shaka and GStreamer retry a missing one instead of skipping it).
    expect(t.presentation.resolve('aaaa1111', 'seg-0-00007.m4s')).toMatchObject({
      kind: { number: 6 },
      decodeTimeOffsetTicks: 15360,
    });
    expect(t.presentation.resolve('aaaa1111', 'seg-1-00008.m4s')).toMatchObject({
      kind: { number: 6 },
      decodeTimeOffsetTicks: 2 * 48144,
    });
    expect(t.presentation.resolve('aaaa1111', 'seg-0-00006.m4s')).toMatchObject({
      kind: { number: 6 },
      decodeTimeOffsetTicks: 0,
    });
    // Segment 7 arrives at 7.5 s, announced (as 9) at 8 s: on time, so no further shift.
    for (const rep of [1, 0]) s.clock.arrive(s.store, rep, 7, 6, 1_007_500);
    expect(reanchors).toHaveLength(1);
  });

  it('does not re-anchor while a late publisher catches up (each segment less late than the last)', () => {
    const t = setup();
    const s = t.addSession('aaaa1111', 1_000_000);
    startSession(s, 1_000_050);
    // A 1.6 s hiccup, then an `-re` source bursting to catch up.
    const lateness = [1600, 1200, 800, 600, 200, 50];
    lateness.forEach((late, i) => {
      const n = i + 3;
      for (const rep of [0, 1]) s.clock.arrive(s.store, rep, n, n - 1, 1_000_000 + 1000 * (n - 1) + late);
    });
    expect(periodsOf(t.render())).toHaveLength(1);
  });

  it('re-anchors after a hiccup the publisher does not make up (the same lateness from then on)', () => {
    const t = setup();
    const s = t.addSession('aaaa1111', 1_000_000);
    startSession(s, 1_000_050);
    for (let n = 3; n <= 7; n++) {
      for (const rep of [0, 1]) s.clock.arrive(s.store, rep, n, n - 1, 1_000_000 + 1000 * (n - 1) + 1200);
    }
    expect(periodsOf(t.render())).toHaveLength(1);
    // Segments 3–5 were 1.2 s late: from 6 on, two slots later.
    expect(t.presentation.resolve('aaaa1111', 'seg-0-00008.m4s')).toMatchObject({ kind: { number: 6 } });
    expect(t.presentation.resolve('aaaa1111', 'seg-0-00006.m4s')).toMatchObject({
      kind: { number: 5 },
      decodeTimeOffsetTicks: 15360,
    });
  });

  it('does not re-anchor for segments that arrive early (a publisher catching up)', () => {
    const t = setup();
    const s = t.addSession('aaaa1111', 1_000_000);
    startSession(s, 1_000_050);
    for (let n = 3; n <= 8; n++) {
      for (const rep of [0, 1]) s.clock.arrive(s.store, rep, n, n - 1, 1_000_000 + 1000 * (n - 1) - 900);
    }
    expect(periodsOf(t.render())).toHaveLength(1);
  });

  it('does not re-anchor for one late segment (network jitter)', () => {
    const t = setup();
    const s = t.addSession('aaaa1111', 1_000_000);
    startSession(s, 1_000_050);
    for (let n = 3; n <= 8; n++) {
      const late = n === 5 ? 900 : 40;
      for (const rep of [0, 1]) s.clock.arrive(s.store, rep, n, n - 1, 1_000_000 + 1000 * (n - 1) + late);
    }
    expect(periodsOf(t.render())).toHaveLength(1);
  });
});
