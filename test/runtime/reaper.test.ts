import { describe, expect, it } from 'vitest';
import { zombiesDue } from '../../src/runtime/targets/reaper.ts';

describe('the orphan reaper', () => {
  it("leaves a new zombie to Node for a second (it may be a hook's own child), then reaps it", () => {
    const seen = new Map<number, number>();
    expect(zombiesDue([41], seen, 0)).toEqual([]);
    expect(zombiesDue([41], seen, 999)).toEqual([]);
    expect(zombiesDue([41, 42], seen, 1000)).toEqual([41]);
    expect(zombiesDue([42], seen, 2000)).toEqual([42]);
  });

  it('forgets a zombie someone else collected, so its pid, when reused, gets the grace again', () => {
    const seen = new Map<number, number>();
    zombiesDue([41], seen, 0);
    expect(zombiesDue([], seen, 500)).toEqual([]);
    expect(zombiesDue([41], seen, 1200)).toEqual([]);
    expect(zombiesDue([41], seen, 2200)).toEqual([41]);
  });
});
