import { describe, expect, it } from 'vitest';
import { median, medianRatio, quantile, roundRatios } from '../../bench/lib/stats.ts';
import { cpuMicrosPerRequest, cpuSeconds, processCpuSeconds } from '../../bench/lib/cpu.ts';
import { ratioSpread, resultsFile, type Results } from '../../bench/report.ts';

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

describe('CPU per request', () => {
  it('is the CPU seconds a load cost, in µs, over the requests it made', () => {
    expect(cpuMicrosPerRequest(1.5, 2.5, 100_000)).toBe(10);
    expect(cpuMicrosPerRequest(1, 1, 50)).toBe(0);
    expect(cpuMicrosPerRequest(1, 2, 0)).toBeNull();
    // A process that went away between the two readings makes the sum go down: not a measurement.
    expect(cpuMicrosPerRequest(2, 1, 100)).toBeNull();
  });

  it('reads this process from /proc: it grows as the process works', () => {
    const before = processCpuSeconds(process.pid);
    const until = performance.now() + 60;
    while (performance.now() < until);
    expect(processCpuSeconds(process.pid)).toBeGreaterThan(before);
    expect(cpuSeconds([process.pid, 2 ** 22 + 1])).toBeGreaterThan(0);
  });
});

describe('the run history', () => {
  const run = (ratios: Record<string, number>) => ({ throughput: Object.entries(ratios).map(([target, rps_ratio]) => ({ target, rps_ratio })) }) as unknown as Results;

  it('spreads a target over the runs that have it, lowest to highest', () => {
    const runs = [run({ a: 0.97, b: 1.1 }), run({ a: 1.01 }), run({ a: 0.99, b: 0.9 })];
    expect(ratioSpread(runs, 'a')).toEqual([0.97, 1.01]);
    expect(ratioSpread(runs, 'b')).toEqual([0.9, 1.1]);
    expect(ratioSpread(runs, 'c')).toBeNull();
  });

  it('names each run by the second it began, so no run replaces another', () => {
    expect(resultsFile('2026-11-24T02:07:12.345Z')).toBe('results/2026-11-24T020712.json');
    expect(resultsFile('2026-11-24T02:07:13.000Z')).not.toBe(resultsFile('2026-11-24T02:07:12.000Z'));
  });
});
