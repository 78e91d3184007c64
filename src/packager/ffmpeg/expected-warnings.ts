/**
 * ffmpeg warnings that our own arguments cause on purpose, so a server log full of them would only
 * alarm the person reading it. Each pattern says why it is expected; anything else stays a warning.
 */
const expected: readonly { readonly pattern: RegExp; readonly why: string }[] = [
  {
    // dashenc asks for `-write_prft 1` with `-ldash 1`. We pass `-write_prft 0` on purpose: the MPD
    // players read is ours (src/live/presentation.ts), and it carries a ProducerReferenceTime on its
    // own timeline; ffmpeg's in-band prft would be on another.
    pattern: /Low Latency mode enabled without Producer Reference Time/,
    why: 'ProducerReferenceTime is written by the origin, not by ffmpeg',
  },
];

/** Why `line` (one line of the packager's stderr) is expected, or `undefined` when it is news. */
export function expectedFfmpegWarning(line: string): string | undefined {
  return expected.find((e) => e.pattern.test(line))?.why;
}
