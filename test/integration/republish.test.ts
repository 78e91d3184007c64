import { execFileSync, spawnSync } from 'node:child_process';
import { XMLParser } from 'fast-xml-parser';
import { parse as parseMpd } from 'mpd-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  eventually,
  type FixtureKind,
  fixture,
  fixtureMimeTypes,
  sleep,
  startServer,
  TestPublisher,
  type TestServer,
} from '../_setup.ts';

const hasXmllint = spawnSync('xmllint', ['--version']).status === 0;
const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  isArray: (n) => ['Period', 'AdaptationSet', 'Representation'].includes(n),
});

interface Snapshot {
  text: string;
  ast: string;
  periods: {
    id: string;
    start: string;
    duration: string | undefined;
    media: string[];
    templates: { timescale: number; duration: number }[];
  }[];
}

function snapshot(text: string): Snapshot {
  const doc = parser.parse(text) as {
    MPD: {
      availabilityStartTime: string;
      Period: {
        id: string;
        start: string;
        duration?: string;
        AdaptationSet: {
          Representation: { SegmentTemplate: { media: string; timescale: string; duration: string } }[];
        }[];
      }[];
    };
  };
  return {
    text,
    ast: doc.MPD.availabilityStartTime,
    periods: doc.MPD.Period.map((p) => ({
      id: p.id,
      start: p.start,
      duration: p.duration,
      media: p.AdaptationSet.flatMap((a) => a.Representation.map((r) => r.SegmentTemplate.media)),
      templates: p.AdaptationSet.flatMap((a) =>
        a.Representation.map((r) => ({
          timescale: Number(r.SegmentTemplate.timescale),
          duration: Number(r.SegmentTemplate.duration),
        })),
      ),
    })),
  };
}

/**
 * A publisher stops and comes back under the same name while the MPD is read every 250 ms, as a
 * player watching would: every update is checked against ISO/IEC 23009-1 §5.4.1 (availabilityStartTime
 * and each Period as before, Period@ids never reused for another Period) and parsed by a DASH parser.
 */
describe('republish under the same name: one continuing MPD', () => {
  let t: TestServer;

  beforeAll(async () => {
    t = await startServer({ analyzers: [] });
  });
  afterAll(async () => {
    await t?.close();
  });

  /** Publishes `first`, stops, publishes `second` 1 s after the session ended; every MPD update read. */
  async function republish(stream: string, first: FixtureKind, second: FixtureKind, periods: number) {
    const seen: Snapshot[] = [];
    let polling = true;
    const poll = async (): Promise<void> => {
      while (polling) {
        const res = await fetch(`${t.url}/live/${stream}/manifest.mpd`).catch(() => undefined);
        if (res?.status === 200) seen.push(snapshot(await res.text()));
        else await res?.arrayBuffer();
        await sleep(250);
      }
    };
    const publish = async (kind: FixtureKind) => {
      const data = await fixture(kind);
      const p = new TestPublisher(t.wsUrl, stream);
      await p.hello(fixtureMimeTypes[kind]);
      await p.sendPaced(data, Math.ceil(data.length / 100), 40);
      return p;
    };
    const one = await publish(first);
    const poller = poll();
    await one.end();
    await eventually(() => t.server.registry.get(stream) === undefined || undefined, 20_000, 'first end');
    await sleep(1000);
    const two = await publish(second);
    await eventually(() => (seen.at(-1)?.periods.length ?? 0) >= periods || undefined, 10_000, 'Periods');
    polling = false;
    await poller;
    checkEveryUpdate(seen, `${t.url}/live/${stream}/manifest.mpd`);
    return { seen, last: seen.at(-1), end: () => two.end() };
  }

  it('continues the one Period when the same media returns: numbers and tfdt go on in the first session’s timeline', async () => {
    const stream = 'same';
    const { seen, last, end } = await republish(stream, 'h264-opus', 'h264-opus', 1);
    // Ended, so that its packager completes the last segment (a live one would stream until more came).
    await end();
    await eventually(() => t.server.registry.get(stream) === undefined || undefined, 20_000, 'second end');
    // One Period all along, never closed: players that follow one Period only (ffmpeg, GStreamer, VLC)
    // see a stream that paused, not one that ended.
    for (const s of seen) expect(s.periods.map((p) => p.id)).toEqual(['0']);
    for (const s of seen) expect(s.periods[0]?.duration).toBeUndefined();
    const media = last?.periods[0]?.media[0] ?? '';
    const template = last?.periods[0]?.templates[0];
    const segUrl = (n: number) =>
      `${t.url}/live/${stream}/${media.replace('$RepresentationID$', '0').replace('$Number%05d$', String(n).padStart(5, '0'))}`;
    // Every segment served under the Period's one path, both sessions', starts where the template puts
    // it (within a segment): the second session's tfdt was moved, its packager wrote them from 0. Where
    // it begins shows in mfhd: ffmpeg numbers its fragments from 1 in each session.
    const seconds = (template?.duration ?? 0) / (template?.timescale ?? 1);
    const served: { n: number; tfdtS: number; sequence: number }[] = [];
    let secondFrom: number | undefined;
    for (let n = 1; n < 150; n++) {
      // Past the newest segment a request is held for a publisher that may come back: do not wait.
      const res = await fetch(segUrl(n), { signal: AbortSignal.timeout(2000) }).catch(() => undefined);
      if (res?.status !== 200) {
        await res?.arrayBuffer();
        if (secondFrom !== undefined) break;
        continue;
      }
      const box = firstBoxes(Buffer.from(await res.arrayBuffer()));
      const previous = served.at(-1);
      if (previous && box.sequence < previous.sequence) secondFrom = n;
      served.push({ n, tfdtS: Number(box.tfdt) / (template?.timescale ?? 1), sequence: box.sequence });
    }
    expect(secondFrom).toBeGreaterThan(1);
    expect(served.filter((x) => x.n >= (secondFrom ?? 0)).length).toBeGreaterThanOrEqual(2);
    for (const x of served) {
      expect(x.tfdtS, `segment ${x.n}`).toBeGreaterThan((x.n - 2) * seconds);
      expect(x.tfdtS, `segment ${x.n}`).toBeLessThan(x.n * seconds);
    }
  });

  it('adds a Period when other media returns (other codecs), keeps availabilityStartTime and earlier Periods, serves both sessions', async () => {
    const { last, end } = await republish('other', 'h264-opus', 'vp8-opus', 2);
    expect(last?.periods).toHaveLength(2);
    const [p0, p1] = last?.periods ?? [];
    expect(p0?.duration).toBeDefined();
    const pathOf = (media: string | undefined) => media?.split('/')[0];
    expect(pathOf(p0?.media[0])).not.toBe(pathOf(p1?.media[0]));
    // The first session's segments are still served under their own path while listed; the second's too.
    for (const media of [p0?.media[0], p1?.media[0]]) {
      const init = (media ?? '').replace(/seg-\$RepresentationID\$-\$Number%05d\$/, 'init-0');
      const res = await fetch(`${t.url}/live/other/${init}`);
      expect(res.status).toBe(200);
      expect(
        Buffer.from(await res.arrayBuffer())
          .subarray(4, 8)
          .toString(),
      ).toBe('ftyp');
    }
    await end();
  });
});

/** Every update: the same availabilityStartTime; a Period id always names the same Period; parseable, valid XML. */
function checkEveryUpdate(seen: readonly Snapshot[], manifestUri: string): void {
  const byId = new Map<string, string>();
  for (const s of seen) {
    expect(s.ast).toBe(seen[0]?.ast);
    for (const p of s.periods) {
      const key = `${p.start} ${p.media.join(' ')}`;
      expect(byId.get(p.id) ?? key).toBe(key);
      byId.set(p.id, key);
    }
    const parsed = parseMpd(s.text, { manifestUri });
    expect(parsed.playlists.length).toBeGreaterThan(0);
  }
  if (hasXmllint || process.env.CI) {
    for (const s of [seen[0], seen.at(-1)])
      execFileSync('xmllint', ['--noout', '-'], { input: s?.text ?? '' });
  }
}

/**
 * The first fragment's tfdt baseMediaDecodeTime (ISO/IEC 14496-12 §8.8.12) and mfhd sequence_number
 * (§8.8.5) of a media segment, by walking its boxes.
 */
function firstBoxes(segment: Buffer): { tfdt: bigint; sequence: number } {
  let tfdt: bigint | undefined;
  let sequence: number | undefined;
  const walk = (from: number, to: number): void => {
    for (let at = from; at + 8 <= to && (tfdt === undefined || sequence === undefined); ) {
      const size = segment.readUInt32BE(at);
      const type = segment.toString('latin1', at + 4, at + 8);
      if (size < 8) return;
      if (type === 'tfdt') {
        tfdt ??=
          segment[at + 8] === 1 ? segment.readBigUInt64BE(at + 12) : BigInt(segment.readUInt32BE(at + 12));
      } else if (type === 'mfhd') sequence ??= segment.readUInt32BE(at + 12);
      else if (type === 'moof' || type === 'traf') walk(at + 8, at + size);
      at += size;
    }
  };
  walk(0, segment.length);
  if (tfdt === undefined || sequence === undefined)
    throw new Error('no moof with mfhd and tfdt in the segment');
  return { tfdt, sequence };
}
