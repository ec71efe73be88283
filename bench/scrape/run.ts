/**
 * `npm run bench:scrape`: the scrape scenario alone (bench/scrape/scenario.ts). Records
 * bench/results/scrape-<date>.json (never over another run's) and regenerates
 * docs/performance.md, whose scrape section comes from the latest such file.
 * BENCH_ROUNDS (3) and BENCH_SECONDS (5) tune it; BENCH_SCRAPE_BEFORE adds a build to compare.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { PINNING } from '../lib/cpus.ts';
import { ROOT } from '../lib/targets.ts';
import { latestRun, scrapeFile, writeReport } from '../report.ts';
import { scrapeScenario, type ScrapeResults } from './scenario.ts';

const date = new Date().toISOString();
const log = (line: string) => process.stdout.write(`${line}\n`);
log(`hostd bench (scrapes), ${date}: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, Node ${process.version}; ${PINNING}`);
const measured = await scrapeScenario(Number(process.env.BENCH_ROUNDS ?? 3), Number(process.env.BENCH_SECONDS ?? 5), log);
const results: ScrapeResults = { date, node: process.version, cpus: `${cpus().length} × ${cpus()[0]?.model ?? '?'}`, pinning: PINNING, ...measured };
mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
const file = join(ROOT, 'bench/results', scrapeFile(date));
writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`, { flag: 'wx' });
log(`wrote ${file.slice(ROOT.length + 1)}`);
writeReport(JSON.parse(readFileSync(latestRun(), 'utf8')));
log('wrote docs/performance.md');
