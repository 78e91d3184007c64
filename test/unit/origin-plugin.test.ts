import { describe, expect, it } from 'vitest';
import { rewriteManifest } from '../../src/origin/origin-plugin.ts';

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
    const out = rewriteManifest(mpd, packagerUrl, publicUrl);
    expect(out).not.toContain(packagerUrl);
    expect(out.split(publicUrl)).toHaveLength(3);
  });

  it('replaces every xsdate scheme with http-iso', () => {
    const out = rewriteManifest(mpd, packagerUrl, publicUrl);
    expect(out).not.toContain('http-xsdate');
    expect(out.split('urn:mpeg:dash:utc:http-iso:2014')).toHaveLength(3);
  });

  it('changes nothing else', () => {
    const out = rewriteManifest(mpd, packagerUrl, publicUrl);
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
    expect(rewriteManifest(`a ${url} b http://127x0x0x1:8080/time?x=1`, url, 'P')).toBe(
      'a P b http://127x0x0x1:8080/time?x=1',
    );
  });

  it('leaves a manifest without UTCTiming unchanged', () => {
    const plain = '<MPD type="static"/>';
    expect(rewriteManifest(plain, packagerUrl, publicUrl)).toBe(plain);
  });
});

describe('rewriteManifest availabilityStartTime', () => {
  const mpd =
    '<MPD type="dynamic" availabilityStartTime="2026-11-23T23:01:09.729Z" publishTime="x"><Period/></MPD>';
  it('sets MPD@availabilityStartTime from the media clock', () => {
    const out = rewriteManifest(
      mpd,
      'http://127.0.0.1:1/time',
      'http://h/time',
      Date.parse('2026-11-23T23:01:09.100Z'),
    );
    expect(out).toContain('availabilityStartTime="2026-11-23T23:01:09.100Z"');
    expect(out).toContain('publishTime="x"');
  });
  it("keeps ffmpeg's value when the clock has no estimate", () => {
    expect(rewriteManifest(mpd, 'http://127.0.0.1:1/time', 'http://h/time')).toBe(mpd);
  });
});
