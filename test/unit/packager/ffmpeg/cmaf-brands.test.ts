import { describe, expect, it } from 'vitest';
import { type SegmentWriter, withCmafBrands } from '../../../../src/packager/ffmpeg/cmaf-brands.ts';

const hex = (s: string) => Buffer.from(s.replace(/\s/g, ''), 'hex');
/** ffmpeg's styp as it writes it (seen in output/<stream>/live), then the start of a moof. */
const ffmpegStyp = hex('00000018 73747970 6d736468 00000000 6d736468 6d736978');
const moof = hex('0000006c 6d6f6f66');

function recorder() {
  const chunks: Buffer[] = [];
  const events: string[] = [];
  const file: SegmentWriter = {
    append: (c) => void chunks.push(c),
    finish: () => void events.push('finish'),
    abort: () => void events.push('abort'),
  };
  return { file, chunks, events, bytes: () => Buffer.concat(chunks) };
}

describe('withCmafBrands', () => {
  it('turns ffmpeg’s msdh/msix styp into cmfs with the same size', () => {
    const r = recorder();
    const w = withCmafBrands(r.file);
    w.append(Buffer.concat([ffmpegStyp, moof]));
    w.append(Buffer.from('rest'));
    w.finish();
    const out = r.bytes();
    expect(out.length).toBe(ffmpegStyp.length + moof.length + 4);
    expect(out.subarray(4, 12).toString('latin1')).toBe('stypcmfs');
    expect(out.subarray(16, 24).toString('latin1')).toBe('msdhcmfs');
    expect(out.subarray(24)).toEqual(Buffer.concat([moof, Buffer.from('rest')]));
    expect(r.events).toEqual(['finish']);
  });

  it('holds pieces shorter than the box until it is complete', () => {
    const r = recorder();
    const w = withCmafBrands(r.file);
    w.append(ffmpegStyp.subarray(0, 5));
    expect(r.chunks).toHaveLength(0);
    w.append(ffmpegStyp.subarray(5));
    expect(r.bytes().subarray(8, 12).toString('latin1')).toBe('cmfs');
  });

  it('passes anything else through unchanged, also a segment shorter than 24 bytes', () => {
    const r = recorder();
    const w = withCmafBrands(r.file);
    const other = Buffer.concat([moof, Buffer.alloc(30, 1)]);
    w.append(other);
    w.finish();
    expect(r.bytes()).toEqual(other);
    const short = recorder();
    const s = withCmafBrands(short.file);
    s.append(Buffer.from('tiny'));
    s.finish();
    expect(short.bytes().toString()).toBe('tiny');
  });
});
