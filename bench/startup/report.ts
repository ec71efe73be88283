/**
 * The start-up part of docs/performance.md, from a start-up run (bench/startup/scenario.ts):
 * every row on each Node line side by side, the targets, and where the time goes.
 */
import type { CommandTiming } from '../check.ts';
import { CLUSTER, CLUSTER_REQUIRE, NO_CACHE, REPLACEMENT, SINGLE, SINGLE_REQUIRE, type StartTiming, type StartupLine, type StartupResults, UNSEEN, WARM } from './scenario.ts';

export interface StartGoal {
  readonly name: string;
  readonly goal: string;
  readonly measured: string;
  readonly met: boolean;
}

/** Issue 26's start goals, on every line measured. */
const GOALS: readonly { target: string; name: string; limit: number }[] = [
  { target: WARM, name: 'cold start to first 200, 2 workers, caches warm, vs node:cluster', limit: 1.3 },
  { target: UNSEEN, name: 'cold start to first 200, 2 workers, a config text the caches have never seen, vs node:cluster', limit: 1.6 },
  { target: REPLACEMENT, name: 'worker replacement (SIGKILL to serving), vs a fresh `node app.js` start', limit: 1.2 },
];

const table = (head: string[], rows: (string | number)[][]) =>
  [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((row) => `| ${row.join(' | ')} |`)].join('\n');

const start = (line: StartupLine, target: string): StartTiming => line.starts.find((s) => s.target === target)!;
/** Runs from before the required baselines were measured have none. */
const has = (line: StartupLine, target: string) => line.starts.some((s) => s.target === target);
const command = (line: StartupLine, name: string): CommandTiming | undefined => line.commands.find((c) => c.command === name);
const times = (x: number) => `${x.toFixed(2)}×`;

export function startGoals(s: StartupResults): StartGoal[] {
  const goals: StartGoal[] = [];
  for (const line of s.lines) {
    for (const g of GOALS) {
      const ratio = start(line, g.target).ratio;
      goals.push({ name: `${g.name} (Node ${line.line})`, goal: `≤ ${g.limit}×`, measured: times(ratio), met: ratio <= g.limit });
    }
    for (const c of line.commands) {
      if (c.goal !== null) goals.push({ name: `\`${c.command}\` vs \`node -e ''\` (Node ${line.line})`, goal: `≤ ${c.goal}×`, measured: times(c.ratio), met: c.ratio <= c.goal });
    }
  }
  return goals;
}

/** What each start row means. */
const STARTS: readonly { target: string; label: string }[] = [
  { target: CLUSTER, label: 'node:cluster, 2 workers' },
  { target: CLUSTER_REQUIRE, label: 'node:cluster, 2 workers, `node:http` required, not imported' },
  { target: SINGLE, label: '`node app.js` (node:http, 1 process)' },
  { target: SINGLE_REQUIRE, label: '`node app.js`, `node:http` required, not imported' },
  { target: WARM, label: "hostd, 2 workers, caches warm (the config's transform, Node's compiled code)" },
  { target: UNSEEN, label: 'hostd, 2 workers, a config text its caches have never seen (a first start, or after an edit)' },
  { target: NO_CACHE, label: "hostd, 2 workers, no cache at all (also hostd's code compiled afresh)" },
  { target: REPLACEMENT, label: 'hostd, a worker replacement: SIGKILL to the replacement serving (× `node app.js`)' },
];

/** The start-up section of docs/performance.md. */
export function renderStartup(s: StartupResults, file: string): string {
  const lines = s.lines;
  const head = ['', ...lines.flatMap((l) => [`Node ${l.line}: ms`, '×', 'CPU ms', 'CPU ×'])];
  const startRows = STARTS.filter(({ target }) => lines.every((l) => has(l, target))).map(({ target, label }) => {
    return [label, ...lines.flatMap((l) => [start(l, target).ms, times(start(l, target).ratio), start(l, target).cpu_ms, times(start(l, target).cpu_ratio)])];
  });
  const commandNames = lines[0]!.commands.map((c) => c.command);
  const commandRows = [
    ["`node -e ''`", ...lines.flatMap((l) => [l.node_e_ms, '1.00×', '', ''])],
    ...commandNames.map((name) => [`\`${name}\``, ...lines.flatMap((l) => [command(l, name)?.ms ?? '', command(l, name) ? times(command(l, name)!.ratio) : '', '', ''])]),
  ];
  return `## Start-up, Node ${lines.map((l) => l.line).join(' and Node ')}

From bench/${file} (${s.date.slice(0, 10)}, ${lines.map((l) => l.node).join(' and ')}): \`npm run bench:startup\`, which \`npm run bench\` runs too.
Without NODE_EXTRA_CA_CERTS: the bench unsets it for every process it starts, hostd and the baselines alike (it makes every
Node start read a bundle of certificates, about 60 ms here, which would hide most of the differences).
Servers on ${s.pinning.replace(/^load generator on CPU \d+, servers on /, '').replace(/ \(taskset\)$/, '')}, as in the other sections; median of ${s.rounds} rounds, each starting every target once in rotating order; "×" is the median of the per-round ratios to node:cluster (a
replacement's to \`node app.js\`, a command's to \`node -e ''\`). "CPU ms" is the CPU time of all the start's processes (every thread) at its first 200, from /proc.

${table(head, [...startRows, ...commandRows])}

A cold start is from spawning the process to the first 200 response; hostd's includes evaluating its TypeScript config in the primary and in each worker. "caches warm": the config's transform (or stripped text) in node_modules/.cache/hostd and, from Node 22.1, Node's compiled code of hostd and the app (\`module.enableCompileCache\`), as in a container whose image ran \`hostd check --warm\` (docs/deploy/docker.md). The commands run as a user runs them, through the bin (\`dist/bin.cjs\`), unpinned; \`node dist/worker.js\` loads a worker's code and exits (it runs only under \`hostd run\`), \`node dist/index.js\` is hostd's public API, what a config's \`import ... from 'hostd'\` loads.

### Where the time goes

With the servers on one core, a start's wall time is about the CPU time of its processes, one after the other: the CPU of each process at the first 200 (primary first, then the workers):

${table(
  ['start', ...lines.map((l) => `Node ${l.line}: CPU ms by process`)],
  [CLUSTER, WARM, UNSEEN, NO_CACHE].map((target) => [target, ...lines.map((l) => start(l, target).cpu_ms_by_process.join(' + '))]),
)}

${lines.map((l) => floorNote(l)).join('\n\n')}

${closingNote(s)}

Where each process's time went, by the code that ran, in a profiled start (\`node --cpu-prof\`, caches warm, from spawning to the exit after the first 200; share of the sampled time not idle):

${profileTable(lines)}
`;
}

/** Which start targets this run missed, and why they are out of reach as hostd is built. */
function closingNote(s: StartupResults): string {
  const missed = startGoals(s).filter((g) => !g.met);
  if (missed.length === 0) return 'Every start target is met in this run.';
  return `Missed in this run: ${missed.map((g) => `${g.name.replace(/^cold start to first 200, 2 workers, /, 'cold start, ')} ${g.measured} (goal ${g.goal})`).join('; ')}. On one core a start costs the sum of its processes' work: hostd's primary and workers each do more than start Node (above), and that work, not waiting, is what separates hostd from node:cluster, so a ratio cannot go below the floor its target leaves. Starting the worker processes while the primary still loads the config (spare workers the primary adopts) was measured on both lines: the same CPU for the start and a few ms more in the primary, and no shorter start pinned or unpinned on this machine, whose other core was busy; it can pay only where cores sit idle during a start, at the price of starting workers before \`pre_fork\` and before their count, \`env\` and \`worker_exec_argv\` are known, and it was left out.`;
}

/**
 * Where a start goes on one line, and the floor a target sets: on one core a start costs the
 * sum of its processes' work, so Node's own three starts (`node -e ''` × 3) are common to
 * node:cluster and hostd, and a target leaves hostd's own work what remains of it.
 */
function floorNote(l: StartupLine): string {
  const cluster = start(l, CLUSTER);
  const warm = start(l, WARM);
  const unseen = start(l, UNSEEN);
  const node = l.node_e_ms;
  const over = (name: string) => Math.max(0, (command(l, name)?.ms ?? Number.NaN) - node);
  const ms = (x: number) => `${Math.round(x)} ms`;
  const average = (xs: readonly number[]) => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);
  const [primary = 0, ...workers] = warm.cpu_ms_by_process;
  const worker = average(workers);
  const cli = over('hostd check --no-app');
  const code = over('node dist/worker.js');
  const api = over('node dist/index.js');
  const own = warm.ms - 3 * node;
  const allowed = 1.3 * cluster.ms - 3 * node;
  const required =
    has(l, CLUSTER_REQUIRE) && has(l, SINGLE_REQUIRE)
      ? ` node:cluster's baseline imports \`node:http\` as an ES module, as an app would; on Node 22 and later that builds its ES module facade, which loads undici, and hostd's code requires it instead. Against a node:cluster that requires it too (${ms(start(l, CLUSTER_REQUIRE).ms)}), hostd's start with warm caches is ${times(warm.ms / start(l, CLUSTER_REQUIRE).ms)}, with a config never seen ${times(unseen.ms / start(l, CLUSTER_REQUIRE).ms)}, and a replacement ${times(start(l, REPLACEMENT).ms / start(l, SINGLE_REQUIRE).ms)} such a \`node app.js\` (ratios of medians).`
      : '';
  return [
    `**Node ${l.line}.** A bare Node start takes ${ms(node)}; node:cluster's start (${ms(cluster.ms)}) is three of them and ${ms(cluster.ms - 3 * node)} of its own.`,
    `hostd's, with warm caches, takes ${ms(warm.ms)}: the same three Node starts and ${ms(own)} of hostd's own work.`,
    `In the primary (${ms(primary)} of CPU): its CLI and the config, evaluated and validated (${ms(cli)}, as \`hostd check --no-app\` shows), then its runtime and starting the workers (${ms(Math.max(0, primary - node - cli))}).`,
    `In each worker (${ms(worker)}): its code (${ms(code)}, \`node dist/worker.js\`), hostd's public API that the config imports (${ms(api)}, \`node dist/index.js\`), then the config's evaluation, the app, its server and the primary's messages (${ms(Math.max(0, worker - node - code - api))}).`,
    `Within 1.3× node:cluster's start, hostd's own work would have to fit in ${ms(Math.max(0, allowed))}, ${Math.round((100 * Math.max(0, allowed)) / own)}% of what it is: the floor that target sets, Node's own starts counted.`,
    `A config its caches have never seen adds ${ms(Math.max(0, unseen.cpu_ms - warm.cpu_ms))} of CPU, in the primary: ${stripsTypes(l.node) ? "Node's type stripper, started to strip it" : 'jiti and babel, loaded to transpile it'}.${required}`,
  ].join(' ');
}

/** Whether Node `version` (`v22.18.0`) strips types by default, and so loads a config itself (src/config/native.ts). */
function stripsTypes(version: string): boolean {
  const [major = 0, minor = 0] = version.slice(1).split('.').map(Number);
  return major > 23 || (major === 23 && minor >= 6) || (major === 22 && minor >= 18);
}

function profileTable(lines: readonly StartupLine[]): string {
  const kinds = [...new Set(lines.flatMap((l) => (l.profile === null ? [] : [...l.profile.primary, ...l.profile.worker].map((p) => p.what))))];
  const share = (shares: readonly { what: string; ms: number }[] | undefined, what: string) => {
    const total = shares?.reduce((sum, p) => sum + p.ms, 0) ?? 0;
    return total === 0 ? '' : `${Math.round((100 * (shares!.find((p) => p.what === what)?.ms ?? 0)) / total)}%`;
  };
  return table(
    ['what ran', ...lines.flatMap((l) => [`Node ${l.line}: primary`, 'a worker'])],
    kinds.map((what) => [what, ...lines.flatMap((l) => [share(l.profile?.primary, what), share(l.profile?.worker, what)])]),
  );
}
