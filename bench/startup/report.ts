/**
 * The start-up part of docs/performance.md, from a start-up run (bench/startup/scenario.ts):
 * every row on each Node line side by side, the targets, and where the time goes.
 */
import type { CommandTiming } from '../check.ts';
import { CLUSTER, NO_CACHE, REPLACEMENT, SINGLE, type StartTiming, type StartupLine, type StartupResults, UNSEEN, WARM } from './scenario.ts';

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
  { target: SINGLE, label: '`node app.js` (node:http, 1 process)' },
  { target: WARM, label: "hostd, 2 workers, caches warm (the config's transform, Node's compiled code)" },
  { target: UNSEEN, label: 'hostd, 2 workers, a config text its caches have never seen (a first start, or after an edit)' },
  { target: NO_CACHE, label: "hostd, 2 workers, no cache at all (also hostd's code compiled afresh)" },
  { target: REPLACEMENT, label: 'hostd, a worker replacement: SIGKILL to the replacement serving (× `node app.js`)' },
];

/** The start-up section of docs/performance.md. */
export function renderStartup(s: StartupResults, file: string): string {
  const lines = s.lines;
  const head = ['', ...lines.flatMap((l) => [`Node ${l.line}: ms`, '×', 'CPU ms', 'CPU ×'])];
  const startRows = STARTS.map(({ target, label }) => {
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
  return `Missed in this run: ${missed.map((g) => `${g.name.replace(/^cold start to first 200, 2 workers, /, 'cold start, ')} ${g.measured} (goal ${g.goal})`).join('; ')}. On one core a start costs the sum of its processes' work, and node:cluster's is Node's own three starts: hostd's primary and workers each do more than start Node (above), and that work, not waiting, is what separates them, so the ratios are bounded by the floor above. Starting the worker processes while the primary still loads the config (spares, measured on both lines) moves no work off that core: it only pays on an idle machine with cores to spare, at the price of starting workers before \`pre_fork\` and before their count, \`env\` and \`worker_exec_argv\` are known, and it was left out.`;
}

/**
 * The floor on one line: a start's CPU on one core is about the sum of its processes', so
 * Node's own start of three processes is node:cluster's start, and what hostd's own commands
 * cost over `node -e ''` says how far above it hostd can get with its code as it is.
 */
function floorNote(l: StartupLine): string {
  const cluster = start(l, CLUSTER);
  const warm = start(l, WARM);
  const unseen = start(l, UNSEEN);
  const over = (name: string) => Math.max(0, (command(l, name)?.ms ?? Number.NaN) - l.node_e_ms);
  const node = l.node_e_ms;
  const primary = over('hostd check --no-app');
  const worker = over('node dist/worker.js');
  const floor = 3 * node + primary + 2 * worker;
  const [p, ...ws] = warm.cpu_ms_by_process;
  const [cp, ...cws] = cluster.cpu_ms_by_process;
  const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
  const ms = (x: number) => `${Math.round(x)} ms`;
  return `**Node ${l.line}.** A bare Node start (\`node -e ''\`) takes ${ms(node)}; node:cluster's start is three of them and little else (${ms(cluster.cpu_ms)} of CPU: ${ms(cp ?? 0)} in the primary, ${ms(sum(cws) / Math.max(1, cws.length))} per worker). hostd's, with warm caches, takes ${ms(warm.cpu_ms)} (${ms(p ?? 0)} in the primary, ${ms(sum(ws) / Math.max(1, ws.length))} per worker): the primary loads hostd's CLI and evaluates and validates the config before it starts a worker (\`hostd check --no-app\`: ${ms(primary)} over a bare start), and each worker loads hostd's worker code (\`node dist/worker.js\`: ${ms(worker)} over a bare start), evaluates the config again for its hooks and then loads the app. Those two costs, once and twice, over Node's three starts are hostd's floor as it is built: ${ms(floor)}, ${times(floor / cluster.ms)} node:cluster's start (${times(warm.ratio)} measured). A config its caches have never seen adds ${ms(Math.max(0, unseen.cpu_ms - warm.cpu_ms))} of CPU (${times(unseen.ratio)}).`;
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
