/**
 * Child process of the fan-out benchmark (started by `startLoadWorker` in load-clients.ts, with tsx):
 * runs the plain-HTTP clients and talks to the benchmark over IPC. Argument: the options as JSON.
 */
import {
  emptyCounters,
  type FromWorker,
  type LoadOptions,
  type LoadTotals,
  runLoadClients,
  type ToWorker,
} from './load-clients.ts';

const opts = JSON.parse(process.argv[2] ?? '{}') as LoadOptions & {
  maxLifetimeMs: number;
  readyTimeoutMs: number;
};
const send = (m: FromWorker): void => {
  if (process.connected) process.send?.(m);
};

const stopper = new AbortController();
const counters = emptyCounters(opts.clients);
const run = runLoadClients(opts, stopper.signal, counters);

// Bounded whatever the benchmark does: a lost parent or a forgotten stop must not leave load running.
const lifetime = setTimeout(() => stopper.abort(), opts.maxLifetimeMs);
process.on('disconnect', () => stopper.abort());
process.on('message', (m: ToWorker) => {
  if (m.type === 'snapshot') send({ type: 'snapshot', counters: { ...counters } });
  else if (m.type === 'stop') stopper.abort();
});

const readyBy = Date.now() + opts.readyTimeoutMs;
const readyPoll = setInterval(() => {
  if (counters.clientsStarted >= opts.clients || Date.now() > readyBy || stopper.signal.aborted) {
    clearInterval(readyPoll);
    send({ type: 'ready', counters: { ...counters } });
  }
}, 50);

const totals: LoadTotals = await run;
clearInterval(readyPoll);
clearTimeout(lifetime);
if (process.connected)
  process.send?.({ type: 'final', totals } satisfies FromWorker, () => process.disconnect());
