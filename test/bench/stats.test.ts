import { describe, expect, it } from 'vitest';
import { median, medianRatio, quantile, roundRatios } from '../../bench/lib/stats.ts';

describe('bench statistics', () => {
  it('takes the median of odd and even counts, and NaN of nothing', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it('interpolates quantiles between neighbours', () => {
    expect(quantile([10, 20, 30, 40, 50], 0.25)).toBe(20);
    expect(quantile([10, 20, 30, 40], 0.25)).toBe(17.5);
    expect(quantile([10, 20, 30, 40], 1)).toBe(40);
  });

  it('pairs ratios by round and drops rounds a whole-millisecond generator could not measure', () => {
    expect(roundRatios([2, 3, 0, 4], [1, 0, 5, 2])).toEqual([2, 2]);
    expect(medianRatio([9, 10, 11], [10, 10, 10])).toBe(1);
    expect(medianRatio([0, 0], [1, 1])).toBeNull();
  });
});
