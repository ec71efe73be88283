import { describe, expect, it } from 'vitest';
import { parseToPrimary } from '../../src/runtime/ipc.ts';
import { batchedCloses } from '../../src/runtime/worker/connections.ts';

describe('closed connections, as a least_busy worker reports them', () => {
  it('are read only as a whole positive count', () => {
    expect(parseToPrimary({ t: 'closed', n: 3 })).toEqual({ t: 'closed', n: 3 });
    for (const n of [0, -1, 1.5, '3', NaN, 1e9, undefined]) expect(parseToPrimary({ t: 'closed', n })).toBeNull();
  });

  it('are batched: closes within one turn of the event loop make one report', async () => {
    const reports: number[] = [];
    const closed = batchedCloses((n) => reports.push(n));
    closed();
    closed();
    closed();
    expect(reports).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    closed();
    await new Promise((resolve) => setImmediate(resolve));
    expect(reports).toEqual([3, 1]);
  });
});
