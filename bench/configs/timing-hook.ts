import { defineConfig } from 'hostd';

/** A realistic post_request: every response's duration goes into a per-route histogram. */
const buckets = [1, 2, 5, 10, 25, 50, 100, 250, 1000];
const histograms = new Map<string, number[]>();

export default defineConfig({
  app: '../app.mjs',
  bind: '127.0.0.1:0',
  workers: 2,
  post_request: ({ req, status, duration_ms }) => {
    const key = `${req.method} ${status}`;
    let counts = histograms.get(key);
    if (counts === undefined) histograms.set(key, (counts = new Array<number>(buckets.length + 1).fill(0)));
    let i = 0;
    while (i < buckets.length && duration_ms > buckets[i]!) i++;
    counts[i]!++;
  },
});
