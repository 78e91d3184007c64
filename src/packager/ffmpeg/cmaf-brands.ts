/**
 * ffmpeg's mp4 muxer starts each media segment with `styp` major brand `msdh`, compatible `msdh msix`:
 * `msix` promises a segment index (`sidx`) that low-latency segments do not have, and the CMAF segment
 * brand `cmfs` (ISO/IEC 23000-19 §7.3.1) is missing. The box keeps its size (24 bytes) and becomes
 * major `cmfs`, compatible `msdh cmfs` (ISO/IEC 23009-1 §6.3.4.2 media segment brand).
 */
const stypSize = 24;
const styp = (major: string, compatible: string): Buffer =>
  Buffer.concat([
    Buffer.from([0, 0, 0, stypSize]),
    Buffer.from(`styp${major}`, 'latin1'),
    Buffer.alloc(4),
    Buffer.from(compatible, 'latin1'),
  ]);
const expected = styp('msdh', 'msdhmsix');
const replacement = styp('cmfs', 'msdhcmfs');

/** A segment being written, as the PUT receiver writes it. */
export interface SegmentWriter {
  append(chunk: Buffer): void;
  finish(): void;
  abort(): void;
}

/**
 * Wraps a media segment's writer so its first 24 bytes get the CMAF brands when they are ffmpeg's
 * `styp`; anything else passes unchanged. Pieces shorter than the box are held until it is complete.
 */
export function withCmafBrands(file: SegmentWriter): SegmentWriter {
  let head: Buffer | undefined = Buffer.alloc(0);
  const flushHead = (): void => {
    if (!head) return;
    const h = head;
    head = undefined;
    if (h.length > 0)
      file.append(
        h.subarray(0, stypSize).equals(expected) ? Buffer.concat([replacement, h.subarray(stypSize)]) : h,
      );
  };
  return {
    append(chunk) {
      if (!head) return file.append(chunk);
      head = Buffer.concat([head, chunk]);
      if (head.length >= stypSize) flushHead();
    },
    finish() {
      flushHead();
      file.finish();
    },
    abort() {
      head = undefined;
      file.abort();
    },
  };
}
