/** A bad command-line flag: printed with the help hint, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
