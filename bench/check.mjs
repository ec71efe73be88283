// `npm run bench:check`: wall time of `hostd check` on the repository's hostd.config.ts,
// minus `node -e ''`, from paired runs (one of each, interleaved, so machine drift hits
// both alike). Prints the medians and writes bench/results/check-<date>.json.
// The budget (issue 2) is 60 ms over `node -e ''`; this prints, it does not assert.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';

const root = new URL('..', import.meta.url).pathname;
const rounds = Number(process.env.ROUNDS ?? 40);
const env = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HOSTD_'))), NO_COLOR: '1' };

function time(args) {
  const start = process.hrtime.bigint();
  const result = spawnSync(process.execPath, args, { cwd: root, env, stdio: 'pipe' });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== 0) throw new Error(`node ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  return ms;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const baseline = [];
const check = [];
const differences = [];
// Warm up: the first runs fill the OS page cache and jiti's transform cache.
for (let i = 0; i < 3; i++) time(['dist/cli.js', 'check']);
process.stdout.write(`hostd check vs node -e '': ${rounds} paired rounds `);
for (let i = 0; i < rounds; i++) {
  const b = time(['-e', '']);
  const c = time(['dist/cli.js', 'check']);
  baseline.push(b);
  check.push(c);
  differences.push(c - b);
  if (i % 10 === 9) process.stdout.write('.');
}
process.stdout.write('\n');

const result = {
  date: new Date().toISOString(),
  node: process.version,
  cpus: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown'}`,
  rounds,
  median_ms: { node_e: +median(baseline).toFixed(1), hostd_check: +median(check).toFixed(1), difference: +median(differences).toFixed(1) },
  budget_ms: 60,
};
console.log(`  node -e ''    ${result.median_ms.node_e} ms (median)`);
console.log(`  hostd check   ${result.median_ms.hostd_check} ms (median)`);
console.log(`  difference    ${result.median_ms.difference} ms (median of paired differences; budget ${result.budget_ms} ms)`);
mkdirSync(new URL('results/', import.meta.url), { recursive: true });
const file = new URL(`results/check-${result.date.slice(0, 10)}.json`, import.meta.url);
writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
console.log(`  wrote ${file.pathname.slice(root.length)}`);
