/**
 * `dashrelay publish` exit codes (also in `--help` and the README), so a supervisor or script can
 * tell "fix the command" from "fix the machine" from "the server said no".
 */
export const PublishExit = {
  /** The input ended (a file without `--loop`, `--duration`), or SIGINT/SIGTERM. */
  ok: 0,
  /** Anything unexpected (a bug: the message says what). */
  failed: 1,
  /** A bad flag; the message names it. */
  usage: 2,
  /** ffmpeg was not found, does not run, or is older than 5.1. */
  ffmpegMissing: 3,
  /** The input cannot be opened: no such device or file, no camera tool on PATH, or it fails at once. */
  inputMissing: 4,
  /**
   * The server refused the stream for a reason retrying cannot fix (bad name, unsupported format, a
   * missing or wrong token, an address or the safe default that refuses publishers), or another
   * publisher took the stream name over.
   */
  refused: 5,
  /** `--no-reconnect`: the server could not be reached, or the connection was lost. */
  disconnected: 6,
} as const;
export type PublishExitCode = (typeof PublishExit)[keyof typeof PublishExit];

/**
 * Close codes the server sends for problems in what the publisher sends, or refusals of who it is
 * (4401 credential, 4403 address, Origin or the safe default): retrying the same thing gets the same
 * answer. 4010: another publisher took the name over; coming back would take it back, and two
 * publishers of one name would take it from each other for ever.
 */
const permanentCloseCodes = new Set([4000, 4001, 4002, 4004, 4005, 4010, 4401, 4403]);

/**
 * Whether a closed ingest connection is worth retrying: everything but the refusals above and a
 * normal close (1000). 4008 (the server saw no media for a while), 4009 (the name is a pulled source
 * right now) can heal, as do 1001 (server restart), 1006 (network) and 45xx (disk).
 */
export function isRetryableClose(code: number): boolean {
  return code !== 1000 && !permanentCloseCodes.has(code);
}
