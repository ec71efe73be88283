/**
 * `npm run bench:startup`: the start-up section of the benchmark alone (bench/startup/scenario.ts)
 * on Node 20 and Node 26 (BENCH_NODE_LINES=20,22,24,26 for others; binaries from the npm
 * registry, scripts/node-lines.ts), BENCH_STARTS rounds (9). Writes
 * bench/results/startup-<date>T<hhmmss>.json and regenerates docs/performance.md, whose start-up
 * rows come from the newest such file (the rest from the newest full run). Prints; never asserts.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { nodeBinary } from '../scripts/node-lines.ts';
import { PINNING } from './lib/cpus.ts';
import { ROOT } from './lib/targets.ts';
import { latestRun, printJudged, type Results, startupFile, writeReport } from './report.ts';
import { type StartupResults, startupLine } from './startup/scenario.ts';

/** Every line's start-up, `rounds` rounds each. */
export async function measureStartup(rounds: number, log: (line: string) => void): Promise<StartupResults> {
  const lines = (process.env.BENCH_NODE_LINES ?? '20,26').split(',').map((line) => line.trim());
  const date = new Date().toISOString();
  const results: StartupResults['lines'][number][] = [];
  for (const line of lines) {
    const node = nodeBinary(line);
    const version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
    log(`   Node ${version} (${node}): ${rounds} rounds`);
    results.push(await startupLine(line, node, version, rounds, log));
  }
  return { date, machine: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown'}`, pinning: PINNING, rounds, lines: results };
}

if (process.argv[1] === import.meta.filename) {
  const rounds = Number(process.env.BENCH_STARTS ?? 9);
  const log = (line: string) => process.stdout.write(`${line}\n`);
  log(`hostd bench: start-up, ${rounds} rounds per Node line, without NODE_EXTRA_CA_CERTS; ${PINNING}`);
  const startup = await measureStartup(rounds, log);
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  const file = join(ROOT, 'bench', startupFile(startup.date));
  // 'wx': a run never replaces another's results.
  writeFileSync(file, `${JSON.stringify(startup, null, 2)}\n`, { flag: 'wx' });
  log(`wrote ${file.slice(ROOT.length + 1)}`);
  printJudged(writeReport(JSON.parse(readFileSync(latestRun(), 'utf8')) as Results));
  log('wrote docs/performance.md and docs/performance.svg');
}
