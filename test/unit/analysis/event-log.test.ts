import { describe, expect, it, vi } from 'vitest';
import { EventLog } from '../../../src/analysis/event-log.ts';
import type { AnalysisEvent } from '../../../src/analysis/types.ts';

function event(stream: string, ptsMs: number): AnalysisEvent {
  return { stream, plugin: 'motion', type: 'motion', ptsMs, wallClockMs: 1000 + ptsMs, data: { score: 9 } };
}

describe('EventLog', () => {
  it('returns an empty list for an unknown stream', () => {
    expect(new EventLog(10).recent('nope')).toEqual([]);
  });

  it('returns events oldest first', () => {
    const log = new EventLog(10);
    for (const pts of [0, 100, 200]) log.add(event('cam1', pts));
    expect(log.recent('cam1').map((e) => e.ptsMs)).toEqual([0, 100, 200]);
  });

  it('keeps at most `capacity` events per stream, dropping the oldest', () => {
    const log = new EventLog(3);
    for (let pts = 0; pts < 5; pts++) log.add(event('cam1', pts));
    expect(log.recent('cam1').map((e) => e.ptsMs)).toEqual([2, 3, 4]);
  });

  it('counts the capacity per stream', () => {
    const log = new EventLog(2);
    log.add(event('a', 1));
    log.add(event('b', 1));
    log.add(event('a', 2));
    log.add(event('a', 3));
    log.add(event('b', 2));
    expect(log.recent('a').map((e) => e.ptsMs)).toEqual([2, 3]);
    expect(log.recent('b').map((e) => e.ptsMs)).toEqual([1, 2]);
  });

  it("emits 'event' for every added event, including ones later dropped", () => {
    const log = new EventLog(1);
    const listener = vi.fn();
    log.on('event', listener);
    const first = event('cam1', 0);
    const second = event('cam1', 1);
    log.add(first);
    log.add(second);
    expect(listener.mock.calls).toEqual([[first], [second]]);
    expect(log.recent('cam1')).toEqual([second]);
  });
});
