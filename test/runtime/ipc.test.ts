import { describe, expect, it } from 'vitest';
import { parseToPrimary } from '../../src/runtime/ipc.ts';
import { batchedCloses } from '../../src/runtime/worker/connections.ts';
import { waitUntil } from '../helpers/run.ts';

describe('closed connections, as a least_busy worker reports them', () => {
  it('are read only as a whole positive count', () => {
    expect(parseToPrimary({ t: 'closed', n: 3 })).toEqual({ t: 'closed', n: 3 });
    for (const n of [0, -1, 1.5, '3', NaN, 1e9, undefined]) expect(parseToPrimary({ t: 'closed', n })).toBeNull();
  });

  it('are batched: closes within the delay make one report', async () => {
    const reports: number[] = [];
    const closed = batchedCloses((n) => reports.push(n), 5);
    closed();
    closed();
    closed();
    expect(reports).toEqual([]);
    await waitUntil(() => reports.length === 1, 'the first report');
    closed();
    await waitUntil(() => reports.length === 2, 'the second report');
    expect(reports).toEqual([3, 1]);
  });
});
