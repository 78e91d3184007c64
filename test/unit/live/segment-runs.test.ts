import { describe, expect, it } from 'vitest';
import {
  continuationRun,
  endRun,
  locate,
  ownRun,
  type RepresentationTimeline,
  shiftedRun,
} from '../../../src/live/segment-runs.ts';

// Video 1 s segments at 15360 ticks/s, audio 1.003 s at 48000.
const reps = new Map<number, RepresentationTimeline>([
  [0, { timescale: 15360, durationTicks: 15360, startNumber: 1, ptoTicks: 0, bandwidthBps: 1 }],
  [1, { timescale: 48000, durationTicks: 48144, startNumber: 1, ptoTicks: 0, bandwidthBps: 1 }],
]);

describe('segment runs', () => {
  it('a session that opened the Period holds every slot under its own number', () => {
    const runs = [ownRun('a', reps)];
    expect(locate(runs, 0, 7)).toEqual({ run: runs[0], own: 7, shiftTicks: 0 });
  });

  it('a late session moves on whole slots and repeats its last segment in the skipped ones', () => {
    const first = ownRun('a', reps);
    // Segment 6 arrived 1.25 s late; audio's newest is 6 too.
    const { shifted, slots } = shiftedRun(first, reps, 0, 6, 1250, () => 6);
    expect(slots).toBe(2);
    const runs = [first, shifted];
    expect(locate(runs, 0, 6)).toMatchObject({ run: first, own: 6, shiftTicks: 0 });
    expect(locate(runs, 0, 7)).toMatchObject({ run: first, own: 6, shiftTicks: 15360 });
    expect(locate(runs, 0, 8)).toMatchObject({ run: first, own: 6, shiftTicks: 2 * 15360 });
    expect(locate(runs, 0, 9)).toMatchObject({ run: shifted, own: 7, shiftTicks: 2 * 15360 });
    // Audio moves by the same media time: 2 s is two of its 1.003 s slots, in its own ticks.
    expect(locate(runs, 1, 9)).toMatchObject({ run: shifted, own: 7, shiftTicks: 2 * 48000 });
  });

  it('a returning session starts at the slot for when its media began, rounded up; the pause holds nothing until told to repeat', () => {
    const first = ownRun('a', reps);
    endRun(first, () => 3); // segments 1–3, media 0–3 s
    const back = continuationRun({
      state: 'b',
      reps,
      primary: 0,
      mediaStartS: 6.5,
      firstDecodeTicks: () => 0,
      newestInPeriod: () => 3,
    });
    const runs = [first, back];
    expect(back.from.get(0)).toBe(8);
    expect(locate(runs, 0, 8)).toMatchObject({ run: back, own: 1, shiftTicks: 7 * 15360 });
    expect(locate(runs, 0, 5)).toBeUndefined();
    first.repeatLast = true;
    expect(locate(runs, 0, 5)).toMatchObject({ run: first, own: 3, shiftTicks: 2 * 15360 });
  });

  it('never places a returning session before the slots already used', () => {
    const back = continuationRun({
      state: 'b',
      reps,
      primary: 0,
      mediaStartS: 1.2, // its clock says 1.2 s, but slots up to 5 are taken
      firstDecodeTicks: () => 0,
      newestInPeriod: () => 5,
    });
    expect(back.from.get(0)).toBe(6);
    expect(back.decodeTimeOffsets.get(0)).toBe(5 * 15360);
  });
});
