import { execFileSync, spawnSync } from 'node:child_process';
import { XMLParser } from 'fast-xml-parser';
import { parse as parseMpd } from 'mpd-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  eventually,
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
  periods: { id: string; start: string; media: string[] }[];
}

function snapshot(text: string): Snapshot {
  const doc = parser.parse(text) as {
    MPD: {
      availabilityStartTime: string;
      Period: {
        id: string;
        start: string;
        AdaptationSet: { Representation: { SegmentTemplate: { media: string } }[] }[];
      }[];
    };
  };
  return {
    text,
    ast: doc.MPD.availabilityStartTime,
    periods: doc.MPD.Period.map((p) => ({
      id: p.id,
      start: p.start,
      media: p.AdaptationSet.flatMap((a) => a.Representation.map((r) => r.SegmentTemplate.media)),
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
  const seen: Snapshot[] = [];
  let polling = true;
  let poller: Promise<void> | undefined;

  beforeAll(async () => {
    t = await startServer({ analyzers: [] });
  });
  afterAll(async () => {
    polling = false;
    await poller;
    await t?.close();
  });

  it('adds a Period per session, keeps availabilityStartTime and earlier Periods, serves both sessions', async () => {
    const stream = 'again';
    const data = await fixture('h264-opus');
    const poll = async (): Promise<void> => {
      while (polling) {
        const res = await fetch(`${t.url}/live/${stream}/manifest.mpd`).catch(() => undefined);
        if (res?.status === 200) seen.push(snapshot(await res.text()));
        else await res?.arrayBuffer();
        await sleep(250);
      }
    };

    const first = new TestPublisher(t.wsUrl, stream);
    await first.hello(fixtureMimeTypes['h264-opus']);
    const sending = first.sendPaced(data, Math.ceil(data.length / 100), 40);
    poller = poll();
    await sending;
    await first.end();
    await eventually(
      () => t.server.registry.get(stream) === undefined || undefined,
      20_000,
      'first session end',
    );
    await sleep(1000);

    const second = new TestPublisher(t.wsUrl, stream);
    await second.hello(fixtureMimeTypes['h264-opus']);
    await second.sendPaced(data, Math.ceil(data.length / 100), 40);
    await eventually(() => (seen.at(-1)?.periods.length ?? 0) >= 2 || undefined, 10_000, 'second Period');
    polling = false;
    await poller;

    const last = seen.at(-1);
    expect(last?.periods).toHaveLength(2);
    const [p0, p1] = last?.periods ?? [];
    const pathOf = (media: string | undefined) => media?.split('/')[0];
    expect(pathOf(p0?.media[0])).not.toBe(pathOf(p1?.media[0]));

    // Every update: the same availabilityStartTime; a Period id always names the same Period.
    const byId = new Map<string, string>();
    for (const s of seen) {
      expect(s.ast).toBe(seen[0]?.ast);
      for (const p of s.periods) {
        const key = `${p.start} ${p.media.join(' ')}`;
        expect(byId.get(p.id) ?? key).toBe(key);
        byId.set(p.id, key);
      }
      const parsed = parseMpd(s.text, { manifestUri: `${t.url}/live/${stream}/manifest.mpd` });
      expect(parsed.playlists.length).toBeGreaterThan(0);
    }
    if (hasXmllint || process.env.CI) {
      for (const s of [seen[0], last]) {
        execFileSync('xmllint', ['--noout', '-'], { input: s?.text ?? '' });
      }
    }

    // The first session's segments are still served under their own path while listed; the second's too.
    for (const media of [p0?.media[0], p1?.media[0]]) {
      const init = (media ?? '').replace(/seg-\$RepresentationID\$-\$Number%05d\$/, 'init-0');
      const res = await fetch(`${t.url}/live/${stream}/${init}`);
      expect(res.status).toBe(200);
      expect(
        Buffer.from(await res.arrayBuffer())
          .subarray(4, 8)
          .toString(),
      ).toBe('ftyp');
    }
    await second.end();
  });
});
