/** Stream names: 1–64 of `[A-Za-z0-9_-]`, safe as a path segment and a file name. */
export const streamNamePattern = /^[A-Za-z0-9_-]{1,64}$/;

export function isValidStreamName(name: string): boolean {
  return streamNamePattern.test(name);
}
