/**
 * Peak memory during a reload (issue 15): with 4 workers under light load, the most worker
 * processes alive at once and the peak RSS of the primary and all its workers together,
 * sampled every 20 ms from /proc while a SIGHUP reload runs, for `reload_batch: "all"` (the
 * whole new generation beside the old one) and `reload_batch: 1`.
 */
import { readFileSync } from 'node:fs';
import { median } from '../lib/stats.ts';
import { hostd, type Running } from '../lib/targets.ts';
import { workerPids } from '../../test/helpers/proc.ts';

export interface ReloadMemoryRow {
  reload_batch: string;
  workers: number;
  peak_workers: number;
  peak_rss_mib: number;
  steady_rss_mib: number;
  failed_requests: number;
}

function rssBytes(pid: number): number {
  try {
    const kib = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kib === undefined ? 0 : Number(kib) * 1024;
  } catch {
    return 0;
  }
}

/** The primary and its workers now: how many workers, and their RSS together. */
function sample(primary: number): { workers: number; rss: number } {
  const workers = workerPids(primary);
  return { workers: workers.length, rss: workers.reduce((sum, pid) => sum + rssBytes(pid), rssBytes(primary)) };
}

/** Requests one after another until stopped: light load, counting the ones that failed. */
function lightLoad(url: string): { stop: () => Promise<number> } {
  let running = true;
  let failed = 0;
  const loop = (async () => {
    while (running) {
      const ok = await fetch(url).then(
        (r) => r.arrayBuffer().then(() => r.ok),
        () => false,
      );
      if (!ok) failed++;
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return failed;
    },
  };
}

async function measure(batch: string): Promise<ReloadMemoryRow> {
  const running: Running = await hostd(`reload_batch ${batch}`, `../reload-memory/batch-${batch}.ts`).start();
  try {
    const steady: number[] = [];
    for (let i = 0; i < 10; i++) {
      steady.push(sample(running.pid).rss);
      await new Promise((r) => setTimeout(r, 20));
    }
    const load = lightLoad(running.url);
    let peakWorkers = 0;
    let peakRss = 0;
    const sampler = setInterval(() => {
      const now = sample(running.pid);
      peakWorkers = Math.max(peakWorkers, now.workers);
      peakRss = Math.max(peakRss, now.rss);
    }, 20);
    await running.reload();
    clearInterval(sampler);
    const failed = await load.stop();
    return { reload_batch: batch, workers: 4, peak_workers: peakWorkers, peak_rss_mib: Math.round(peakRss / 2 ** 20), steady_rss_mib: Math.round(median(steady) / 2 ** 20), failed_requests: failed };
  } finally {
    await running.stop();
  }
}

export async function reloadMemoryScenario(log: (line: string) => void): Promise<ReloadMemoryRow[]> {
  log('\n8. peak memory during a reload: 4 workers, light load, primary + workers sampled every 20 ms');
  const rows: ReloadMemoryRow[] = [];
  for (const batch of ['all', '1']) {
    const row = await measure(batch);
    rows.push(row);
    log(`   reload_batch ${batch}: at most ${row.peak_workers} workers alive, peak RSS ${row.peak_rss_mib} MiB (${row.steady_rss_mib} MiB before the reload), ${row.failed_requests} failed requests`);
  }
  return rows;
}

// `tsx bench/reload-memory/scenario.ts` runs it alone and prints.
if (import.meta.url === `file://${process.argv[1]}`) {
  await reloadMemoryScenario((line) => process.stdout.write(`${line}\n`));
}
