import { afterAll, afterEach } from 'vitest';

/**
 * Setup file (vitest `setupFiles`): a listener leak is a bug even when every assertion passes. Node only
 * prints `MaxListenersExceededWarning` (from an EventEmitter or an EventTarget) to stderr, where nobody
 * reads it in a green run, so it fails the test during which it was emitted (or, for one emitted
 * in a file's hooks, the file). Unhandled errors and rejections need nothing here: vitest fails the run
 * on them (see `dangerouslyIgnoreUnhandledErrors` in vitest.config.ts).
 */
const leakWarnings = new Set(['MaxListenersExceededWarning']);
const leaks: Error[] = [];

function onWarning(warning: Error): void {
  if (leakWarnings.has(warning.name)) leaks.push(warning);
}
process.on('warning', onWarning);

async function throwIfLeaked(when: string): Promise<void> {
  // Node emits a warning on process.nextTick, which waits for the microtask chain vitest runs hooks in.
  await new Promise((resolve) => setImmediate(resolve));
  if (leaks.length === 0) return;
  const found = leaks.splice(0).map((w) => `${w.name}: ${w.message}`);
  throw new Error(`listener leak ${when}:\n${found.join('\n')}`);
}

afterEach(() => throwIfLeaked('during this test'));

afterAll(async () => {
  await throwIfLeaked('in this file');
  process.off('warning', onWarning);
});
