/**
 * Wraps `fn` so it runs at most once per `intervalMs`; calls in between are dropped (and counted, so
 * the next one that runs can say how many it stands for). For warnings a failing component would
 * otherwise repeat per packet or per write.
 */
export function rateLimited<A extends unknown[]>(
  intervalMs: number,
  fn: (suppressed: number, ...args: A) => void,
  now: () => number = Date.now,
): (...args: A) => void {
  let lastMs = Number.NEGATIVE_INFINITY;
  let suppressed = 0;
  return (...args: A) => {
    const t = now();
    if (t - lastMs < intervalMs) {
      suppressed++;
      return;
    }
    lastMs = t;
    const n = suppressed;
    suppressed = 0;
    fn(n, ...args);
  };
}
