/**
 * Upgrades under load (issue 27): three upgrades (SIGUSR2, each to the primary the last one
 * started) while a load runs, against three reloads (SIGHUP) of the same config in the same
 * conditions. Failed requests of each (the goal: 0), and the p99 latency during the upgrades
 * as a ratio of the p99 during the reloads.
 */
import { hostd, type Running } from '../lib/targets.ts';
import { load } from '../lib/load.ts';
import { medianRatio } from '../lib/stats.ts';
import { alive } from '../../test/helpers/proc.ts';

export interface UpgradeRow {
  readonly what: 'reload' | 'upgrade';
  readonly round: number;
  readonly events: number;
  readonly requests: number;
  readonly failed: number;
  readonly p99_ms: number;
  /** From the start of the load to the last event's end: under LOAD_SECONDS, or the last event was not under load. */
  readonly last_event_done_s: number;
}

/** What `BENCH_ONLY=upgrade` and the full run record in bench/results/upgrade-<date>.json. */
export interface UpgradeResults {
  readonly date: string;
  readonly node: string;
  readonly cpus: string;
  readonly pinning: string;
  readonly connections: number;
  readonly load_seconds: number;
  readonly rounds: number;
  /** The median over the rounds of (p99 during the upgrades / p99 during the reloads). */
  readonly p99_ratio: number | null;
  readonly rows: readonly UpgradeRow[];
}

const LOAD_SECONDS = 15;
const PAUSE_MS = 2500;

/** Sends SIGUSR2 to the primary now serving and waits until the new one says it serves; resolves with its pid. */
async function upgrade(running: Running, primary: number, n: number): Promise<number> {
  process.kill(primary, 'SIGUSR2');
  for (const deadline = Date.now() + 60_000; ; ) {
    const found = [...running.output().matchAll(/upgraded: the new primary \(pid (\d+)\) serves/g)];
    if (found.length >= n) return Number(found[n - 1]![1]);
    if (Date.now() > deadline) throw new Error(`upgrade ${n} did not finish:\n${running.output().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Three events of one kind under `connections` keep-alive connections for LOAD_SECONDS, each PAUSE_MS after the last one finished. */
async function measure(what: UpgradeRow['what'], round: number, connections: number, log: (line: string) => void): Promise<UpgradeRow> {
  const running = await hostd('hostd', 'plain.ts').start();
  let primary = running.pid;
  try {
    await load(running.url, 1, connections);
    const began = performance.now();
    const measured = load(running.url, LOAD_SECONDS, connections);
    for (let i = 1; i <= 3; i++) {
      await new Promise((r) => setTimeout(r, PAUSE_MS));
      if (what === 'reload') await running.reload();
      else primary = await upgrade(running, primary, i);
    }
    const done = Math.round((performance.now() - began) / 100) / 10;
    const result = await measured;
    log(`   round ${round}, ${what}: ${result.errors} failed of ${result.requests} requests, p99 ${result.p99} ms; the last ${what} done ${done} s into the load`);
    if (done > LOAD_SECONDS) log(`   the last ${what} ended after the load: this row does not measure it under load`);
    return { what, round, events: 3, requests: result.requests, failed: result.errors, p99_ms: result.p99, last_event_done_s: done };
  } finally {
    await running.stop();
    // The last upgrade's primary is not the process the target started.
    if (primary !== running.pid && alive(primary)) {
      process.kill(primary, 'SIGTERM');
      for (const deadline = Date.now() + 30_000; alive(primary) && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/**
 * `rounds` rounds, each measuring reloads and upgrades in the same conditions (which goes first
 * alternates), so drift over the run hits both alike; the p99 ratio is the median of the per-round ones.
 */
export async function upgradeScenario(rounds: number, connections: number, log: (line: string) => void): Promise<Omit<UpgradeResults, 'date' | 'node' | 'cpus' | 'pinning'>> {
  log(`\n11. three upgrades (SIGUSR2) under load against three reloads (SIGHUP), ${rounds} rounds (${connections} connections)`);
  const rows: UpgradeRow[] = [];
  for (let round = 1; round <= rounds; round++) {
    const order = round % 2 === 1 ? (['reload', 'upgrade'] as const) : (['upgrade', 'reload'] as const);
    for (const what of order) rows.push(await measure(what, round, connections, log));
  }
  const p99 = (what: UpgradeRow['what']) => rows.filter((r) => r.what === what).map((r) => r.p99_ms);
  const ratio = medianRatio(p99('upgrade'), p99('reload'));
  log(`   p99 during upgrades / during reloads, median of the rounds: ${ratio === null ? 'n/a' : `${ratio.toFixed(2)}×`}`);
  return { connections, load_seconds: LOAD_SECONDS, rounds, p99_ratio: ratio === null ? null : Math.round(ratio * 100) / 100, rows };
}
