import { readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createFile, MP4BoxBuffer } from 'mp4box';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnalysisFrame, AnalysisPlugin } from '../../src/analysis/types.ts';
import {
  eventually,
  type FixtureKind,
  fixture,
  fixtureMimeTypes,
  sha256,
  sleep,
  startServer,
  TestPublisher,
  type TestServer,
} from '../_setup.ts';

/** Parses init + media segment with mp4box.js; returns track codecs and the top-level box types. */
function parseFmp4(init: Buffer, segment: Buffer) {
  const file = createFile();
  let tracks: { codec: string; nb_samples: number; video?: { width: number; height: number } }[] = [];
  let error: string | undefined;
  file.onReady = (info) => {
    tracks = info.tracks as typeof tracks;
  };
  file.onError = (_module, message) => {
    error = message;
  };
  const bytes = new Uint8Array(Buffer.concat([init, segment]));
  file.appendBuffer(MP4BoxBuffer.fromArrayBuffer(bytes.buffer, 0));
  file.flush();
  return { tracks, boxes: file.boxes.map((b) => b.type), error };
}

function recordingPlugin(frames: AnalysisFrame[]): AnalysisPlugin {
  return {
    name: 'recorder',
    open: () => ({
      onFrame(frame) {
        frames.push(frame);
      },
    }),
  };
}

describe('live pipeline with real ffmpeg and WebSockets', () => {
  let t: TestServer;
  const frames: AnalysisFrame[] = [];

  beforeAll(async () => {
    t = await startServer({ analyzers: [recordingPlugin(frames)] });
  });
  afterAll(async () => {
    await t?.close();
  });

  const cases: { kind: FixtureKind; codec: RegExp; audio: boolean }[] = [
    { kind: 'h264', codec: /^avc1/, audio: false },
    { kind: 'h264-opus', codec: /^avc1/, audio: true },
    { kind: 'vp8', codec: /^avc1/, audio: false },
    { kind: 'vp8-opus', codec: /^avc1/, audio: true },
  ];

  for (const c of cases) {
    it(`${c.kind}: serves a dynamic MPD with valid CMAF segments, archives the exact bytes, feeds analysis`, async () => {
      const stream = `it-${c.kind}`;
      const data = await fixture(c.kind);
      const pub = new TestPublisher(t.wsUrl, stream);
      const ready = await pub.hello(fixtureMimeTypes[c.kind]);
      const firstByteMs = Date.now();
      expect(ready).toMatchObject({ stream, manifestUrl: `/live/${stream}/manifest.mpd` });
      // About real time (4 s of media in 100 pieces, 40 ms apart), as a live publisher sends it.
      const sending = pub.sendPaced(data, Math.ceil(data.length / 100), 40);

      // The manifest request is held until the packager has written one.
      const mpdRes = await fetch(`${t.url}/live/${stream}/manifest.mpd`);
      expect(mpdRes.status).toBe(200);
      expect(mpdRes.headers.get('content-type')).toMatch(/application\/dash\+xml/);
      expect(mpdRes.headers.get('cache-control')).toBe('no-cache');
      const mpd = await mpdRes.text();
      expect(mpd).toMatch(/type="dynamic"/);
      // availabilityStartTime is when media time 0 reached the server (the media clock), not when
      // ffmpeg's muxer started after probing.
      const ast = Date.parse(/availabilityStartTime="([^"]+)"/.exec(mpd)?.[1] ?? '');
      expect(Math.abs(ast - firstByteMs)).toBeLessThan(500);
      // Each session's segments are under a path of their own (a republish never reuses a URL).
      const path =
        /<SegmentTemplate[^>]+media="([0-9a-f]{8})\/seg-\$RepresentationID\$-\$Number%05d\$\.m4s"/.exec(
          mpd,
        )?.[1];
      expect(path).toBeDefined();
      expect(mpd).toMatch(/<Period id="0" start="PT0S">/);
      expect(mpd).toContain(`value="${t.url.replace('127.0.0.1', '127.0.0.1')}/time"`);
      const adaptationSets = mpd.match(/<AdaptationSet[^>]*contentType="(\w+)"/g) ?? [];
      expect(adaptationSets.length).toBe(c.audio ? 2 : 1);
      // Players without our settings play at the suggested delay (with sound, further back), and a type
      // finder reading the first 512 bytes sees the whole <MPD> tag.
      expect(mpd).toMatch(
        new RegExp(`<MPD\\b[^>]*\\ssuggestedPresentationDelay="PT${c.audio ? '0.3' : '0.15'}S"`),
      );
      expect(mpd).toMatch(new RegExp(`<Latency referenceId="0" target="${c.audio ? 300 : 150}"`));
      const tag = /<MPD\b[^>]*>/.exec(mpd)?.[0] ?? '';
      expect(mpd.indexOf(tag) + tag.length).toBeLessThan(512);

      const initRes = await fetch(`${t.url}/live/${stream}/${path}/init-0.m4s`);
      expect(initRes.status).toBe(200);
      const init = Buffer.from(await initRes.arrayBuffer());
      // Segment 2 is requested before it exists: the origin holds the request, then streams it.
      const segRes = await fetch(`${t.url}/live/${stream}/${path}/seg-0-00002.m4s`);
      expect(segRes.status).toBe(200);
      expect(segRes.headers.get('cache-control')).toMatch(/immutable/);
      const seg = Buffer.from(await segRes.arrayBuffer());
      // The CMAF segment brand, and no `msix` (there is no segment index).
      expect(seg.subarray(4, 24).toString('latin1')).toBe('stypcmfs\0\0\0\0msdhcmfs');
      const parsed = parseFmp4(init, seg);
      expect(parsed.error).toBeUndefined();
      expect(parsed.boxes.slice(0, 2)).toEqual(['ftyp', 'moov']);
      expect(parsed.boxes).toContain('moof');
      expect(parsed.boxes).toContain('mdat');
      expect(parsed.tracks[0]?.codec).toMatch(c.codec);
      expect(parsed.tracks[0]?.video).toMatchObject({ width: 320, height: 240 });
      if (c.audio) {
        const aInit = Buffer.from(
          await (await fetch(`${t.url}/live/${stream}/${path}/init-1.m4s`)).arrayBuffer(),
        );
        const aSeg = Buffer.from(
          await (await fetch(`${t.url}/live/${stream}/${path}/seg-1-00001.m4s`)).arrayBuffer(),
        );
        expect(parseFmp4(aInit, aSeg).tracks[0]?.codec).toMatch(/^mp4a/);
      }

      const api = (await (await fetch(`${t.url}/api/streams/${stream}`)).json()) as Record<string, unknown>;
      expect(api).toMatchObject({ name: stream, packager: 'running', mimeType: fixtureMimeTypes[c.kind] });
      expect(keyPaths(api)).toEqual(keyPaths(documentedStreamInfo()));

      await sending;
      await pub.end();
      await eventually(() => t.server.registry.get(stream) === undefined || undefined, 20_000, 'session end');

      const archiveDir = join(t.outputDir, stream, 'archive');
      const [archiveName] = await readdir(archiveDir);
      expect(archiveName).toMatch(c.kind.startsWith('vp8') ? /\.webm$/ : /\.mkv$/);
      expect(sha256(await readFile(join(archiveDir, archiveName ?? '')))).toBe(sha256(data));

      const liveFiles = await readdir(join(t.outputDir, stream, 'live'));
      expect(liveFiles).toContain('manifest.mpd');
      expect(liveFiles).toContain('init-0.m4s');
      expect(liveFiles.some((f) => /^seg-0-\d{5}\.m4s$/.test(f))).toBe(true);

      const mine = frames.filter((f) => f.stream === stream);
      expect(mine.length).toBeGreaterThanOrEqual(10); // 4 s at the default 5 fps
      expect(mine[0]).toMatchObject({ width: 320, height: 240, format: 'gray' });
      expect(mine[0]?.data.length).toBe(320 * 240);
      expect(mine[1]?.ptsMs).toBe(200);
    });
  }

  it('stream copy with 1.1 s keyframes: the served SegmentTemplate@duration is the measured segment length, frozen per Period', async () => {
    const stream = 'it-gop1100';
    const data = await fixture('h264-gop1100', 8);
    const pub = new TestPublisher(t.wsUrl, stream);
    // The publisher promises 1 s keyframes (as the capture page does), so the server copies the video.
    await pub.hello(fixtureMimeTypes['h264-gop1100']);
    await pub.sendPaced(data, Math.ceil(data.length / 40), 10);

    // ffmpeg cuts a segment only at a keyframe, so segments last 1.1 s or a frame more, not the configured 1 s.
    const ctx = () => t.server.live(stream);
    await eventually(() => (ctx()?.store.newestSegmentNumber(0) ?? 0) >= 6 || undefined, 20_000, 'segment 6');
    await sleep(500); // all input was sent at once: let ffmpeg catch up to its last keyframe
    const newest = ctx()?.store.newestSegmentNumber(0) ?? 0;
    const mpd = await (await fetch(`${t.url}/live/${stream}/manifest.mpd`)).text();
    // The newest Period (input sent faster than real time re-anchors the timeline with new ones).
    const period = mpd.slice(mpd.lastIndexOf('<Period '));
    const tpl =
      /<Representation id="0"[\s\S]*?<SegmentTemplate[^>]*\stimescale="(\d+)"[^>]*\sduration="(\d+)"[^>]*startNumber="(\d+)"[^>]*presentationTimeOffset="(\d+)"/.exec(
        period,
      );
    const durationS = Number(tpl?.[2]) / Number(tpl?.[1]);
    expect(durationS).toBeGreaterThan(1.09);
    expect(durationS).toBeLessThan(1.14);
    // Requestable from its start: the origin holds the request and streams the chunks.
    const ato = /<Representation id="0"[\s\S]*?<SegmentTemplate[^>]*\savailabilityTimeOffset="([\d.]+)"/.exec(
      period,
    );
    expect(Number(ato?.[1])).toBeCloseTo(durationS, 5);

    // The newest segment starts where the template says: (number − startNumber) × duration (ISO/IEC 23009-1 §5.3.9.5.3).
    const init = Buffer.from(
      await (await fetch(`${t.url}/live/${stream}/${ctx()?.sourcePath}/init-0.m4s`)).arrayBuffer(),
    );
    // Still being written (it ends at the next keyframe): its first CMAF chunk is enough.
    const seg =
      ctx()
        ?.store.get(`seg-0-${String(newest).padStart(5, '0')}.m4s`)
        ?.body() ?? Buffer.alloc(0);
    const file = createFile();
    file.appendBuffer(MP4BoxBuffer.fromArrayBuffer(new Uint8Array(Buffer.concat([init, seg])).buffer, 0));
    const timescale = file.moov?.traks[0]?.mdia.mdhd.timescale ?? 0;
    const startS = (file.moofs[0]?.trafs[0]?.tfdt?.baseMediaDecodeTime ?? -1) / timescale;
    const periodStartS = Number(tpl?.[4]) / Number(tpl?.[1]);
    // A Period's template never changes once served (§5.4.1), so it can drift from the media by what one
    // measurement missed until a re-anchor; here by a frame or two at most.
    expect(Math.abs(startS - periodStartS - (newest - Number(tpl?.[3])) * durationS)).toBeLessThan(0.1);
    await pub.end();
  });
});

/** The `StreamInfo` example in docs/protocol.md. */
function documentedStreamInfo(): unknown {
  const doc = readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8');
  const block = /`StreamInfo`:\s*```json\n([\s\S]*?)```/.exec(doc)?.[1];
  return JSON.parse(block ?? 'null');
}

/** Every key path of a JSON value (`viewers.cutOff`, `analysis.plugins[].dropped`), sorted. */
function keyPaths(value: unknown, prefix = ''): string[] {
  if (Array.isArray(value)) return value.length > 0 ? keyPaths(value[0], `${prefix}[]`) : [];
  if (value === null || typeof value !== 'object') return [prefix];
  return Object.entries(value)
    .flatMap(([k, v]) => keyPaths(v, prefix ? `${prefix}.${k}` : k))
    .sort();
}
