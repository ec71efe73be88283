/**
 * The dispatch scenario (issue 16): connection-per-request load where 5% of requests burn
 * 50 ms of CPU, against node:cluster's round-robin and hostd with each `dispatch`. What it
 * shows: a worker busy with a slow request holds up the connections round-robin still hands
 * it; `least_busy` sends them to the other worker. Rounds rotate the targets, ratios are to
 * node:cluster per round. Needs wrk (a Lua script picks the paths).
 */
import { join } from 'node:path';
import { load, type LoadResult, WRK } from '../lib/load.ts';
import { median, medianRatio, round } from '../lib/stats.ts';
import { hostd, nodeTarget, ROOT, type Running, type Target } from '../lib/targets.ts';

export interface DispatchRow {
  /** `slow`: 5% of requests burn 50 ms of CPU; `fast`: none do (absent in results from before it was measured: slow). */
  mix?: 'slow' | 'fast';
  target: string;
  rps: number;
  p50_ms: number;
  p99_ms: number;
  rps_ratio: number;
  p99_ratio: number | null;
  errors: number;
}

const TARGETS: Target[] = [
  nodeTarget('node:cluster (round-robin)', [join(ROOT, 'bench/dispatch/cluster.mjs')], /listening/, /listening (\d+)/),
  hostd('hostd, dispatch: round_robin', '../dispatch/round_robin.ts'),
  hostd('hostd, dispatch: least_busy', '../dispatch/least_busy.ts'),
];

const MIXES = {
  slow: { script: join(ROOT, 'bench/dispatch/mix.lua'), what: '5% of them burn 50 ms of CPU' },
  fast: { script: join(ROOT, 'bench/dispatch/close.lua'), what: 'every one fast' },
} as const;

export async function dispatchScenario(rounds: number, seconds: number, connections: number, log: (line: string) => void): Promise<DispatchRow[] | null> {
  if (!WRK) {
    log('\n6. dispatch: skipped, needs wrk (the request mix is a wrk script)');
    return null;
  }
  const rows: DispatchRow[] = [];
  for (const mix of ['slow', 'fast'] as const) rows.push(...(await oneMix(mix, rounds, seconds, connections, log)));
  return rows;
}

async function oneMix(mix: keyof typeof MIXES, rounds: number, seconds: number, connections: number, log: (line: string) => void): Promise<DispatchRow[]> {
  log(`\n6. dispatch: a new connection per request, ${MIXES[mix].what}; ${TARGETS.length} targets × ${rounds} rounds × ${seconds} s, ${connections} connections`);
  const WRK_ARGS = ['-s', MIXES[mix].script];
  const running: Running[] = [];
  try {
    for (const target of TARGETS) running.push(await target.start());
    for (const r of running) await load(r.url, 1, connections, WRK_ARGS);
    const samples: LoadResult[][] = TARGETS.map(() => []);
    for (let n = 0; n < rounds; n++) {
      for (let k = 0; k < TARGETS.length; k++) {
        const i = (n + k) % TARGETS.length;
        samples[i]!.push(await load(running[i]!.url, seconds, connections, WRK_ARGS));
      }
      log(`   round ${n + 1}/${rounds}: ${TARGETS.map((t, i) => `${t.name} ${Math.round(samples[i]!.at(-1)!.rps)} req/s p99 ${round(samples[i]!.at(-1)!.p99, 1)} ms`).join(' · ')}`);
    }
    const base = samples[0]!;
    const rows = TARGETS.map((target, i) => {
      const s = samples[i]!;
      const p99 = medianRatio(s.map((x) => x.p99), base.map((x) => x.p99));
      return {
        mix,
        target: target.name,
        rps: Math.round(median(s.map((x) => x.rps))),
        p50_ms: round(median(s.map((x) => x.p50)), 2),
        p99_ms: round(median(s.map((x) => x.p99)), 2),
        rps_ratio: round(medianRatio(s.map((x) => x.rps), base.map((x) => x.rps))!, 3),
        p99_ratio: p99 === null ? null : round(p99, 3),
        errors: s.reduce((sum, x) => sum + x.errors, 0),
      };
    });
    for (const row of rows) log(`   ${row.target}: ${row.rps} req/s (${row.rps_ratio}×), p50 ${row.p50_ms} ms, p99 ${row.p99_ms} ms (${row.p99_ratio}×), ${row.errors} errors`);
    return rows;
  } finally {
    for (const r of running) await r.stop();
  }
}

// `tsx bench/dispatch/scenario.ts` runs it alone and prints.
if (import.meta.url === `file://${process.argv[1]}`) {
  await dispatchScenario(Number(process.env.BENCH_ROUNDS ?? 8), Number(process.env.BENCH_SECONDS ?? 3), Number(process.env.BENCH_CONNECTIONS ?? 16), (line) => process.stdout.write(`${line}\n`));
}
