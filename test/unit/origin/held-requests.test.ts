import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { DashrelayError } from '../../../src/errors/errors.ts';
import { HeldRequests } from '../../../src/origin/held-requests.ts';

const response = () => new EventEmitter<{ close: [] }>();

describe('HeldRequests', () => {
  it('counts held requests up to the limit and refuses one more with DR_ERR_LIMIT_HELD_REQUESTS', () => {
    const held = new HeldRequests(2);
    held.hold(response());
    held.hold(response());
    expect(held.count).toBe(2);
    let err: unknown;
    try {
      held.hold(response());
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DashrelayError);
    expect(err).toMatchObject({ code: 'DR_ERR_LIMIT_HELD_REQUESTS', status: 429 });
    expect(held.count).toBe(2);
  });

  it('frees the place when released, once however often released', () => {
    const held = new HeldRequests(1);
    const release = held.hold(response());
    release();
    release();
    expect(held.count).toBe(0);
    held.hold(response());
    expect(held.count).toBe(1);
  });

  it('frees the place when the client goes away, and not again on release', () => {
    const held = new HeldRequests(2);
    const aborted = response();
    const release = held.hold(aborted);
    held.hold(response());
    aborted.emit('close');
    expect(held.count).toBe(1);
    release();
    expect(held.count).toBe(1);
  });
});
