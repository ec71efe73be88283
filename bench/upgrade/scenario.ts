/**
 * Upgrades under load (issue 27): three upgrades (SIGUSR2, each to the primary the last one
 * started) while a load runs, against three reloads (SIGHUP) of the same config in the same
 * conditions. Failed requests of each (the goal: 0), and the p99 latency during the upgrades
 * as a ratio of the p99 during the reloads.
 */
import { hostd, type Running } from '../lib/targets.ts';
import { load } from '../lib/load.ts';
import { alive } from '../../test/helpers/proc.ts';

export interface UpgradeRow {
  readonly what: 'reload' | 'upgrade';
  readonly events: number;
  readonly requests: number;
  readonly failed: number;
  readonly p99_ms: number;
}

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

/** Both, in the same conditions: `connections` keep-alive connections for 12 s, an event every 3 s. */
export async function upgradeScenario(log: (line: string) => void, connections: number): Promise<UpgradeRow[]> {
  log(`\n11. three upgrades (SIGUSR2) under load against three reloads (SIGHUP) (${connections} connections)`);
  const rows: UpgradeRow[] = [];
  for (const what of ['reload', 'upgrade'] as const) {
    const running = await hostd('hostd', 'plain.ts').start();
    let primary = running.pid;
    try {
      await load(running.url, 1, connections);
      const measured = load(running.url, 12, connections);
      for (let i = 1; i <= 3; i++) {
        await new Promise((r) => setTimeout(r, 2500));
        if (what === 'reload') await running.reload();
        else primary = await upgrade(running, primary, i);
      }
      const result = await measured;
      rows.push({ what, events: 3, requests: result.requests, failed: result.errors, p99_ms: result.p99 });
      log(`   ${what}: ${result.errors} failed of ${result.requests} requests, p99 ${result.p99} ms`);
    } finally {
      await running.stop();
      // The last upgrade's primary is not the process the target started.
      if (primary !== running.pid && alive(primary)) {
        process.kill(primary, 'SIGTERM');
        for (const deadline = Date.now() + 30_000; alive(primary) && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 50));
      }
    }
  }
  const [reloadRow, upgradeRow] = rows;
  if (reloadRow && upgradeRow) log(`   p99 during upgrades / during reloads: ${(upgradeRow.p99_ms / reloadRow.p99_ms).toFixed(2)}×`);
  return rows;
}
