import { describe, expect, it } from 'vitest';
import { rewriteManifest } from '../../../../src/packager/ffmpeg/manifest-rewrite.ts';

const packagerUrl = 'http://127.0.0.1:8080/time';
const publicUrl = 'https://relay.example.com/time';

const mpd = `<?xml version="1.0" encoding="utf-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="dynamic">
  <Period id="0" start="PT0.0S">
    <AdaptationSet id="0" contentType="video"/>
  </Period>
  <UTCTiming schemeIdUri="urn:mpeg:dash:utc:http-xsdate:2014" value="${packagerUrl}"/>
  <UTCTiming schemeIdUri="urn:mpeg:dash:utc:http-xsdate:2014" value="${packagerUrl}"/>
</MPD>
`;

describe('rewriteManifest', () => {
  it('replaces every packager timing URL with the public one', () => {
    const out = rewriteManifest(mpd, { packagerTimingUrl: packagerUrl, publicTimingUrl: publicUrl });
    expect(out).not.toContain(packagerUrl);
    expect(out.split(publicUrl)).toHaveLength(3);
  });

  it('replaces every xsdate scheme with http-iso', () => {
    const out = rewriteManifest(mpd, { packagerTimingUrl: packagerUrl, publicTimingUrl: publicUrl });
    expect(out).not.toContain('http-xsdate');
    expect(out.split('urn:mpeg:dash:utc:http-iso:2014')).toHaveLength(3);
  });

  it('changes nothing else', () => {
    const out = rewriteManifest(mpd, { packagerTimingUrl: packagerUrl, publicTimingUrl: publicUrl });
    expect(out).toBe(
      mpd
        .split(packagerUrl)
        .join(publicUrl)
        .split('urn:mpeg:dash:utc:http-xsdate:2014')
        .join('urn:mpeg:dash:utc:http-iso:2014'),
    );
  });

  it('treats the URL literally (no regex meaning of "." or "?")', () => {
    const url = 'http://127.0.0.1:8080/time?x=1';
    expect(
      rewriteManifest(`a ${url} b http://127x0x0x1:8080/time?x=1`, {
        packagerTimingUrl: url,
        publicTimingUrl: 'P',
      }),
    ).toBe('a P b http://127x0x0x1:8080/time?x=1');
  });

  it('leaves a manifest without UTCTiming unchanged', () => {
    const plain = '<MPD type="static"/>';
    expect(rewriteManifest(plain, { packagerTimingUrl: packagerUrl, publicTimingUrl: publicUrl })).toBe(
      plain,
    );
  });
});

describe('rewriteManifest availabilityStartTime', () => {
  const mpd =
    '<MPD type="dynamic" availabilityStartTime="2026-11-23T23:01:09.729Z" publishTime="x"><Period/></MPD>';
  it('sets MPD@availabilityStartTime from the media clock', () => {
    const out = rewriteManifest(mpd, {
      packagerTimingUrl: 'http://127.0.0.1:1/time',
      publicTimingUrl: 'http://h/time',
      mediaStartMs: Date.parse('2026-11-23T23:01:09.100Z'),
    });
    expect(out).toContain('availabilityStartTime="2026-11-23T23:01:09.100Z"');
    expect(out).toContain('publishTime="x"');
  });
  it("keeps ffmpeg's value when the clock has no estimate", () => {
    expect(
      rewriteManifest(mpd, {
        packagerTimingUrl: 'http://127.0.0.1:1/time',
        publicTimingUrl: 'http://h/time',
      }),
    ).toBe(mpd);
  });
});

describe('rewriteManifest SegmentTemplate@duration and @availabilityTimeOffset', () => {
  // The shape ffmpeg's dash muxer writes: one SegmentTemplate per Representation, µs timescale.
  const rep = (id: number, extra = '') =>
    `<Representation id="${id}" mimeType="video/mp4"${extra}>\n` +
    `  <Resync dT="1000000" type="1"/>\n` +
    `  <SegmentTemplate timescale="1000000" duration="1000000" availabilityTimeOffset="0.967" media="seg-$RepresentationID$-$Number%05d$.m4s" startNumber="1">\n` +
    `  </SegmentTemplate>\n</Representation>`;
  const mpd = `<MPD type="dynamic"><Period><AdaptationSet>${rep(0)}</AdaptationSet><AdaptationSet>${rep(1, ' codecs="mp4a.40.2"')}</AdaptationSet></Period></MPD>`;
  const opts = { packagerTimingUrl: 'http://127.0.0.1:1/time', publicTimingUrl: 'http://h/time' };

  it("sets each measured Representation's duration in the template's timescale", () => {
    const out = rewriteManifest(mpd, { ...opts, segmentDurationsSec: new Map([[0, 1.0333333]]) });
    expect(out).toContain('timescale="1000000" duration="1033333" availabilityTimeOffset="1.033333"');
    // Representation 1 was not measured: ffmpeg's duration stays.
    expect(out).toContain('timescale="1000000" duration="1000000" availabilityTimeOffset="1"');
    expect(out).toContain('<Resync dT="1000000" type="1"/>');
  });

  it('rewrites several Representations independently', () => {
    const out = rewriteManifest(mpd, {
      ...opts,
      segmentDurationsSec: new Map([
        [1, 1.0],
        [0, 2.5],
      ]),
    });
    expect(out).toContain('duration="2500000"');
    expect(out).toContain('duration="1000000"');
    expect(out.indexOf('duration="2500000"')).toBeLessThan(out.indexOf('duration="1000000"'));
  });

  it('makes every segment requestable from its start (availabilityTimeOffset = duration), measured or not', () => {
    const out = rewriteManifest(mpd, { ...opts, segmentDurationsSec: new Map() });
    expect(out).toBe(mpd.replaceAll('availabilityTimeOffset="0.967"', 'availabilityTimeOffset="1"'));
  });

  it('adds no availabilityTimeOffset where ffmpeg wrote none (whole segments, --latency normal)', () => {
    const plain = mpd.replaceAll(' availabilityTimeOffset="0.967"', '');
    const out = rewriteManifest(plain, { ...opts, segmentDurationsSec: new Map([[0, 2.0466]]) });
    expect(out).not.toContain('availabilityTimeOffset');
    expect(out).toContain('duration="2046600"');
  });

  it('leaves a template without @duration (SegmentTimeline) alone', () => {
    const timeline = mpd.replaceAll(' duration="1000000"', '');
    expect(rewriteManifest(timeline, { ...opts, segmentDurationsSec: new Map([[0, 1.5]]) })).toBe(timeline);
  });
});

/** The opening of ffmpeg 5.1's dash muxer MPD, as it writes it. */
const ffmpegHead = `<?xml version="1.0" encoding="utf-8"?>
<MPD xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
\txmlns="urn:mpeg:dash:schema:mpd:2011"
\txmlns:xlink="http://www.w3.org/1999/xlink"
\txsi:schemaLocation="urn:mpeg:DASH:schema:MPD:2011 http://standards.iso.org/ittf/PubliclyAvailableStandards/MPEG-DASH_schema_files/DASH-MPD.xsd"
\tprofiles="urn:mpeg:dash:profile:isoff-live:2011"
\ttype="dynamic"
\tminimumUpdatePeriod="PT10S"
\tavailabilityStartTime="2026-12-02T02:04:52.000Z"
\tpublishTime="2026-12-02T02:04:58.112Z"
\ttimeShiftBufferDepth="PT10.0S"
\tmaxSegmentDuration="PT1.0S"
\tminBufferTime="PT1.0S">
\t<Period id="0" start="PT0.0S"/>
</MPD>
`;

describe('rewriteManifest: what players without our settings need', () => {
  const rw = { packagerTimingUrl: packagerUrl, publicTimingUrl: publicUrl };

  it('drops xsi:schemaLocation (wrong-case URN) so the <MPD> tag fits in the 512 bytes a type finder reads', () => {
    expect(/<MPD\b[^>]*>/.exec(ffmpegHead)?.[0].length).toBeGreaterThan(512);
    const out = rewriteManifest(ffmpegHead, rw);
    const tag = /<MPD\b[^>]*>/.exec(out)?.[0] ?? '';
    expect(out).not.toContain('schemaLocation');
    expect(out).not.toContain('xmlns:xsi');
    expect(out.indexOf(tag) + tag.length).toBeLessThan(512);
    expect(tag).toContain('xmlns="urn:mpeg:dash:schema:mpd:2011"');
  });

  it('keeps the xsi namespace when something else uses it', () => {
    const other = ffmpegHead.replace('<Period id="0" start="PT0.0S"/>', '<Period xsi:type="x" id="0"/>');
    expect(rewriteManifest(other, rw)).toContain('xmlns:xsi=');
  });

  it('sets MPD@suggestedPresentationDelay, replacing one that is there', () => {
    const out = rewriteManifest(ffmpegHead, { ...rw, suggestedPresentationDelayMs: 300 });
    expect(/<MPD\b[^>]*\ssuggestedPresentationDelay="PT0.3S"/.test(out)).toBe(true);
    const again = rewriteManifest(out, { ...rw, suggestedPresentationDelayMs: 150 });
    expect(again.match(/suggestedPresentationDelay=/g)).toHaveLength(1);
    expect(again).toContain('suggestedPresentationDelay="PT0.15S"');
    expect(rewriteManifest(ffmpegHead, rw)).not.toContain('suggestedPresentationDelay');
  });
});

describe('rewriteManifest MPD@maxSegmentDuration', () => {
  const rw = { packagerTimingUrl: packagerUrl, publicTimingUrl: publicUrl };

  it('is raised to the longest measured segment, rounded up to the ms', () => {
    const durations = new Map([
      [0, 1.0233],
      [1, 1.002738],
    ]);
    const out = rewriteManifest(ffmpegHead, { ...rw, segmentDurationsSec: durations });
    expect(out).toContain('maxSegmentDuration="PT1.024S"');
  });

  it('is never lowered, and left alone without measurements', () => {
    const shorter = new Map([[0, 0.98]]);
    expect(rewriteManifest(ffmpegHead, { ...rw, segmentDurationsSec: shorter })).toContain(
      'maxSegmentDuration="PT1.0S"',
    );
    expect(rewriteManifest(ffmpegHead, rw)).toContain('maxSegmentDuration="PT1.0S"');
  });
});
