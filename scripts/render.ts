/**
 * Renders every file derived from the settings table, and the generated regions of
 * hand-written docs (between `<!-- generated: NAME -->` and `<!-- end generated -->`). Pure
 * but for reading those docs: `generate.ts` writes the results and a test compares them with
 * the committed files, so they cannot drift.
 */
import { readFileSync } from 'node:fs';
import { ERRORS } from '../src/errors.ts';
import { buildJsonSchema } from '../src/config/json-schema.ts';
import { callGuarantees, deadlineDoc, describeStep, STOP_PATHS } from '../src/runtime/guarantees.ts';
import { LATE_HEARTBEAT, REASON_NAMES, REASONS, type ReasonHook, reasonsOf } from '../src/hooks/reasons.ts';
import { configShape, ESCALATED_SECONDS, explainPlan, FAST_CALL_SECONDS, KILL_GRACE_SECONDS, stopPlan } from '../src/config/stop-plan.ts';
import kubernetes from '../src/presets/kubernetes.ts';
import {
  CONTEXT_DOCS,
  envName,
  flagName,
  HOOK_NAMES,
  HOOKS,
  POLICY_DOCS,
  SECTIONS,
  FILE_SETTING_NAMES,
  SETTING_NAMES,
  SETTINGS,
  type SettingName,
} from '../src/config/settings.ts';

export interface Rendered {
  readonly path: string;
  readonly content: string;
}

const GENERATED = 'Generated from src/config/settings.ts by `npm run generate`; edit the table, not this file.';

export function renderAll(version: string): Rendered[] {
  return [
    { path: 'src/config/options.generated.ts', content: renderOptionsTs() },
    { path: 'schema/hostd.schema.json', content: `${JSON.stringify(buildJsonSchema(version), null, 2)}\n` },
    { path: 'docs/settings.md', content: renderSettingsDoc() },
    { path: 'docs/errors.md', content: renderErrorsDoc() },
    { path: 'docs/guarantees.md', content: renderGuaranteesDoc() },
    { path: 'docs/running.md', content: withRegions('docs/running.md', { supervision: renderSupervision() }) },
    { path: 'docs/observability.md', content: withRegions('docs/observability.md', { 'exit reasons': renderExitReasons() }) },
  ];
}

const REGION = /<!-- generated: ([a-z ]+) \(from [^)]*\) -->\n[\s\S]*?<!-- end generated -->/g;

/**
 * A hand-written doc with its generated regions rendered again. Each region named in
 * `regions` must be there once (a marker removed by hand would stop the doc from following
 * the table), and every region there must be named.
 */
function withRegions(path: string, regions: Record<string, string>): string {
  const text = readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');
  const seen = new Set<string>();
  const rendered = text.replace(REGION, (_, name: string) => {
    if (!Object.hasOwn(regions, name) || seen.has(name)) throw new Error(`${path}: a generated region "${name}" that render.ts does not make, or twice`);
    seen.add(name);
    return `<!-- generated: ${name} (from src/hooks/reasons.ts by \`npm run generate\`; edit the table, not this region) -->\n${regions[name]}<!-- end generated -->`;
  });
  const missing = Object.keys(regions).filter((name) => !seen.has(name));
  if (missing.length > 0) throw new Error(`${path}: no generated region ${missing.map((m) => `"${m}"`).join(', ')}: add \`<!-- generated: NAME (from ...) -->\` and \`<!-- end generated -->\` lines where it goes`);
  return rendered;
}

/** docs/running.md's supervision table: what happens to a worker, what hostd does, and the `child_exit` reason. */
function renderSupervision(): string {
  const rows = [`| ${mdCell(LATE_HEARTBEAT.event)} | ${mdCell(LATE_HEARTBEAT.action)} | — |`];
  for (const name of reasonsOf('child_exit')) {
    for (const row of REASONS[name].supervision) rows.push(`| ${mdCell(row.event)} | ${mdCell(row.action)} | \`${name}\` |`);
  }
  return ['| event | what hostd does | `child_exit` reason |', '|---|---|---|', ...rows, ''].join('\n');
}

/** docs/observability.md's reasons of `hostd_worker_exits_total`: those `child_exit` gets. */
function renderExitReasons(): string {
  return ['| reason | when |', '|---|---|', ...reasonsOf('child_exit').map((name) => `| \`${name}\` | ${mdCell(REASONS[name].doc)} |`), ''].join('\n');
}

/** A hook's `reason` field, in docs/settings.md: the words that hook gets. */
function reasonDoc(hook: ReasonHook): string {
  return `${CONTEXT_DOCS.reason}: ${reasonsOf(hook).map((r) => `\`${r}\``).join(', ')}`;
}

function flagsOf(name: SettingName): string | null {
  const row = SETTINGS[name];
  if (row.cli === false) return null;
  const short = row.short ? `-${row.short}, ` : '';
  return `${short}${flagName(name)}${row.kind.arg ? ` ${row.kind.arg}` : ''}`;
}

function defaultText(name: SettingName): string {
  const value: unknown = SETTINGS[name].default;
  if (name === 'app') return 'none (required to run)';
  return JSON.stringify(value);
}

function jsdoc(lines: string[], indent = '  '): string {
  const body = lines.flatMap((line) => (line === '' ? [''] : line.split('\n')));
  return [`${indent}/**`, ...body.map((l) => (l ? `${indent} * ${l.replaceAll('*/', '*\\/')}` : `${indent} *`)), `${indent} */`].join('\n');
}

export function renderOptionsTs(): string {
  const out: string[] = [
    `// ${GENERATED}`,
    "import type { HookOption } from '../hooks/contexts.ts';",
    "import type { PresetInput } from './types.ts';",
    '',
    '/** Every setting name. */',
    `export type SettingName = ${SETTING_NAMES.map((n) => JSON.stringify(n)).join(' | ')};`,
    '',
    '/** Every hook name, in lifecycle order. */',
    `export type HookName = ${HOOK_NAMES.map((n) => JSON.stringify(n)).join(' | ')};`,
    '',
    '/** The settings a config file or preset may set; each is optional and has a default. */',
    'export interface UserSettings {',
  ];
  for (const name of FILE_SETTING_NAMES) {
    const row = SETTINGS[name];
    const flags = flagsOf(name);
    const where = flags ? [``, `Flag \`${flags}\`, env \`${envName(name)}\`.`] : [];
    const details = row.details !== undefined ? ['', row.details] : [];
    out.push(jsdoc([row.doc, ...details, ...where, `@default ${defaultText(name)}`]));
    out.push(`  ${name}?: ${row.kind.ts};`);
  }
  out.push('}', '', '/** Every setting after resolution: defaults applied, lists normalised, paths absolute. */');
  out.push('export interface ResolvedSettings {');
  for (const name of SETTING_NAMES) {
    const row = SETTINGS[name];
    out.push(jsdoc([row.doc]));
    out.push(`  readonly ${name}: ${row.kind.resolvedTs};`);
  }
  out.push('}', '', '/** Every lifecycle hook: a function or an array of functions, run in order, awaited. */');
  out.push('export interface UserHooks {');
  for (const name of HOOK_NAMES) {
    const row = HOOKS[name];
    const context = row.context.length ? `Context adds: ${row.context.map((c) => `\`${c}\``).join(', ')}.` : 'Context: the common fields.';
    out.push(
      jsdoc([
        `Runs in the ${row.runsIn} ${row.when}.`,
        '',
        context,
        row.deadline === 'none' ? `If it throws: ${POLICY_DOCS[row.onError]}.` : `Deadline: ${deadlineDoc(row.deadline, 'function')}. If it throws or passes it: ${POLICY_DOCS[row.onError]}.`,
      ]),
    );
    out.push(`  ${name}?: HookOption<${JSON.stringify(name)}>;`);
  }
  out.push('}', '');
  return out.join('\n');
}

function mdCell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

export function renderSettingsDoc(): string {
  const out: string[] = [
    '# Settings',
    '',
    `<!-- ${GENERATED} -->`,
    '',
    'Every setting can be written in `hostd.config.ts` (or `.js`, `.json`, ...). Most can also be',
    'given as an environment variable `HOSTD_<NAME>` or a command-line flag. Precedence, lowest',
    'first: built-in defaults < presets (in `extends` order) < the config file < `HOSTD_*`',
    'environment variables < command-line flags. `hostd print-config` shows each value and where',
    'it came from.',
    '',
    'Relative paths are taken from the config file\'s folder (from the working directory for',
    'flags and env vars). On the command line, lists repeat the flag (`-b a -b b`); in env vars',
    'they are comma-separated (`HOSTD_BIND=a,b`, `HOSTD_ENV=KEY=VALUE,KEY2=VALUE`).',
    '',
    '## The config file and its types',
    '',
    '`defineConfig` takes an object, or a function of `{ command, mode }` returning one (sync or',
    'async). It returns its argument unchanged; it is there for the types. Under TypeScript 5.9,',
    '6 and 7 an unknown or misspelt key, a value of the wrong type and a misspelt hook are each',
    'one error at that key, in the object form and in a function whose body is the object',
    '(`({ mode }) => ({ ... })`). TypeScript does not look inside the promise of an async',
    'function, nor at each `return` of a function with a `{ ... }` body: there the error is at the',
    'returned object or the function, still naming the key. Give such a function a return type',
    'to have the error at the key:',
    '',
    '```ts',
    "import { defineConfig, type UserConfig } from 'hostd';",
    '',
    'export default defineConfig(async ({ mode }): Promise<UserConfig> => ({',
    "  workers: mode === 'production' ? 'auto' : 1,",
    '}));',
    '```',
    '',
    "hostd's declarations reference Node's types themselves (hook contexts hold `node:http`",
    'requests), so a `tsconfig.json` without a `types` entry (the default from TypeScript 6)',
    'types `ctx.req` fully. `@types/node` is a peer dependency of hostd: npm installs it with',
    "hostd, and a project that has its own shares that copy (two copies' globals would clash).",
    '',
    '## Contents',
    '',
  ];
  for (const section of SECTIONS) {
    const names = SETTING_NAMES.filter((n) => SETTINGS[n].section === section);
    out.push(`- **${section}**: ${names.map((n) => `[\`${n}\`](#${n})`).join(', ')}`);
  }
  out.push(`- **Hooks**: ${HOOK_NAMES.map((n) => `[\`${n}\`](#${n})`).join(', ')}`, '');

  for (const section of SECTIONS) {
    out.push(`## ${section}`, '');
    for (const name of SETTING_NAMES.filter((n) => SETTINGS[n].section === section)) {
      const row = SETTINGS[name];
      const flags = flagsOf(name);
      out.push(`### \`${name}\``, '', row.doc, '');
      out.push('| type | default | flag | env |', '|---|---|---|---|');
      out.push(
        `| \`${mdCell(row.kind.ts)}\` | \`${mdCell(defaultText(name))}\` | ${flags ? `\`${mdCell(flags)}\`` : '—'} | ${flags ? `\`${envName(name)}\`` : '—'} |`,
        '',
      );
      out.push(`Accepts ${row.kind.expected}.`, '');
      if (row.details !== undefined) out.push(row.details, '');
    }
  }

  out.push(
    '## Hooks',
    '',
    'Each hook is a key of the config whose value is a function or an array of functions, run',
    'in order and awaited. Presets\' hooks run before the file\'s own, in `extends` order. Every',
    'hook gets one context object with `phase`, `log`, `server` (`pid`, `config`, `started_at`,',
    '`version`) and `signal` (an `AbortSignal` aborted at the deadline or on a second stop signal),',
    'plus the fields listed here. In a JSON config a hook is a module reference,',
    '`"./hooks.js#postFork"`.',
    '',
    '| hook | runs in | when | context adds | if it throws or passes its deadline |',
    '|---|---|---|---|---|',
  );
  for (const name of HOOK_NAMES) {
    const row = HOOKS[name];
    out.push(
      `| [\`${name}\`](#${name}) | ${row.runsIn} | ${mdCell(row.when)} | ${row.context.map((c) => `\`${c}\``).join(', ') || '—'} | ${mdCell(POLICY_DOCS[row.onError])} |`,
    );
  }
  out.push('');
  for (const name of HOOK_NAMES) {
    const row = HOOKS[name];
    out.push(`### \`${name}\``, '', `Runs in the **${row.runsIn}** ${row.when}.`, '');
    if (row.context.length) {
      out.push('Context adds:', '');
      for (const field of row.context) out.push(`- \`${field}\`: ${field === 'reason' ? reasonDoc(name as ReasonHook) : (CONTEXT_DOCS[field] ?? '')}`);
      out.push('');
    }
    out.push(
      `Deadline: ${row.deadline === 'none' ? 'none (it runs on the request path; keep it fast)' : deadlineDoc(row.deadline, 'function')}.`,
      `If it throws${row.deadline === 'none' ? '' : ' or passes its deadline'}: ${POLICY_DOCS[row.onError]}.`,
      '',
    );
  }
  return out.join('\n');
}

export function renderErrorsDoc(): string {
  const out = [
    '# Errors',
    '',
    `<!-- ${GENERATED.replace('src/config/settings.ts', 'src/errors.ts')} -->`,
    '',
    'Every error hostd reports has a stable code (in `--json` output and on `HostdError.code`)',
    'and ends the process with the exit code shown when it stops a command.',
    '',
    '| code | exit | meaning |',
    '|---|---|---|',
  ];
  for (const [code, row] of Object.entries(ERRORS)) out.push(`| \`${code}\` | ${row.exit} | ${mdCell(row.doc)} |`);
  out.push('');
  return out.join('\n');
}

export function renderGuaranteesDoc(): string {
  const out = [
    '# Guarantees',
    '',
    `<!-- ${GENERATED.replace('src/config/settings.ts', 'src/runtime/guarantees.ts and src/config/settings.ts')} -->`,
    '',
    'What your cleanup code can rely on. The first table says, for every hook and',
    "`host.on()` event, where it runs, what has and has not happened when it does, its",
    'deadline, and what a failure does. The second says, for every way a process can end,',
    'exactly which of them run and which cannot. The fault-matrix tests (`test/faults/`)',
    'check hostd against these same rows.',
    '',
    'Where no guarantee is possible this page says so: a process killed with SIGKILL runs no',
    'code. hostd then does what can be done elsewhere: `child_exit` runs in the primary for',
    'every worker that ends, however it ended, and workers whose primary is killed finish',
    'their requests and run their own exit hooks.',
    '',
    '## Hooks and events',
    '',
    '| hook | runs in | has happened | has not happened yet | deadline | if it fails (throws, rejects, passes its deadline) |',
    '|---|---|---|---|---|---|',
  ];
  for (const h of callGuarantees()) {
    out.push(`| \`${h.name}\` | ${h.process} | ${mdCell(h.after)} | ${mdCell(h.before)} | ${mdCell(h.deadline)} | ${mdCell(h.onFailure)} |`);
  }
  out.push(
    '',
    'A hook that passes its deadline has its `signal` aborted; hostd stops waiting for it and',
    'applies the failure policy. A hook that honours the signal can cut its work short; one that',
    'ignores it keeps running in the background until the process exits.',
    '',
    '## How a process ends',
    '',
    '| event | what hostd does | runs, in order | cannot run | requests in flight | service | primary exit code |',
    '|---|---|---|---|---|---|---|',
  );
  for (const path of STOP_PATHS) {
    const runs = path.runs.map(describeStep).join(' → ');
    const cannot = path.cannot.map((c) => `\`${c.call}\`: ${c.why}`).join('; ') || '—';
    const exit = path.exit === null ? 'keeps running' : path.exit === 'SIGKILL' ? 'killed' : String(path.exit);
    out.push(`| ${mdCell(path.title)} | ${mdCell(path.what)} | ${runs} | ${mdCell(cannot)} | ${path.requests} | ${path.service} | ${exit} |`);
  }
  out.push(
    '',
    '`host.on(\'shutdown\')` handlers and `worker_exit` run after the worker drained its',
    'in-flight requests (except in a fast stop, or while it was still booting), each within',
    'the deadline the stop plan gives it. `child_exit` runs once for every worker process',
    'that ends. `on_exit` runs exactly once, whatever the path, unless the primary itself is',
    'killed with SIGKILL.',
    '',
    'Requests "are cut" means the requests a worker had taken. A connection the primary',
    'handed to a worker that died before it took it (each worker acknowledges every',
    'connection it receives) goes to another worker, or waits for the replacement: a worker',
    'that crashes, is killed or is blocked loses no connection it never had.',
    '',
    ...renderReasons(),
    ...renderStopPlan(),
  );
  return out.join('\n');
}

/** The reason words, from the table the hook context types and the log lines use. */
function renderReasons(): string[] {
  const out = [
    '## Reasons',
    '',
    'The `reason` a hook receives, and the word in parentheses in hostd\'s log lines',
    '(`worker 1 stopping (shutdown, fast)`, `worker 1 (pid 4223) exited with code 0 (shutdown)`,',
    '`hostd stopped (shutdown), exit code 0`), is one of these. How a stop is carried out is a',
    'separate word after it: `fast` (SIGINT, SIGQUIT), `escalated` (a second stop signal), and',
    '`while booting` for a worker that had not finished booting.',
    '',
    '| reason | reported to | when |',
    '|---|---|---|',
  ];
  for (const name of REASON_NAMES) {
    const row = REASONS[name];
    out.push(`| \`${name}\` | ${row.hooks.map((h) => `\`${h}\``).join(', ')} | ${mdCell(row.doc)} |`);
  }
  out.push('');
  return out;
}

/** What bounds each step of a stop, by mode, in the order the steps happen (test/guarantees-coverage.test.ts names the tests of each cell). */
export const STEP_DOCS: Record<string, readonly [step: string, where: string, graceful: string, fast: string, escalated: string]> = {
  drain_delay: ['`drain_delay`: readiness answers 503 while the workers serve on', 'primary', '`drain_delay`', 'skipped', 'cut short'],
  drain: ['the drain: in-flight requests finish, idle connections close', 'worker', '`graceful_timeout`; then the rest are closed', 'skipped: connections are closed', `connections are closed; \`host.on('draining')\` handlers still running get up to ${ESCALATED_SECONDS} s more`],
  post_request: ['running `post_request` calls and async `host.on(\'request\')` handlers', 'worker', '`hook_timeout` for all of them', `${ESCALATED_SECONDS} s`, `${ESCALATED_SECONDS} s`],
  worker_int: ['`worker_int`, each function', 'worker', 'not called', `\`hook_timeout\`, at most ${FAST_CALL_SECONDS} s`, `${ESCALATED_SECONDS} s (if the worker had not begun stopping)`],
  shutdown: ['`host.on(\'shutdown\')`, each handler', 'worker', '`hook_timeout`', `\`hook_timeout\`, at most ${FAST_CALL_SECONDS} s`, `${ESCALATED_SECONDS} s`],
  worker_exit: ['`worker_exit`, each function', 'worker', '`hook_timeout`', `\`hook_timeout\`, at most ${FAST_CALL_SECONDS} s`, `${ESCALATED_SECONDS} s`],
  kill_grace: ['the worker exits; the primary kills it if it is still there', 'primary', `${KILL_GRACE_SECONDS} s after the steps above`, `${KILL_GRACE_SECONDS} s after the steps above`, `${KILL_GRACE_SECONDS} s after the steps above`],
  child_exit: ['`child_exit`, each function', 'primary', '`hook_timeout`', `\`hook_timeout\`, at most ${FAST_CALL_SECONDS} s`, `${ESCALATED_SECONDS} s`],
  on_exit: ['`on_exit`, each function', 'primary', '`hook_timeout`', `\`hook_timeout\`, at most ${FAST_CALL_SECONDS} s`, `${ESCALATED_SECONDS} s`],
};

function renderStopPlan(): string[] {
  const defaults = { drain_delay: 0, graceful_timeout: 30, hook_timeout: 30 };
  const shape = { post_request: 1, worker_int: 1, shutdown: 1, worker_exit: 1, child_exit: 1, on_exit: 1 };
  const k8s = kubernetes();
  const k8sSettings = { drain_delay: k8s.drain_delay!, graceful_timeout: k8s.graceful_timeout!, hook_timeout: k8s.hook_timeout! };
  const out = [
    '## The stop plan',
    '',
    'Every deadline of a stop comes from one plan (`src/config/stop-plan.ts`), a function of the',
    'settings and of how many functions the stop calls. The worker follows it step by step and',
    'reports each step to the primary. The primary kills a stopping worker only when it is past',
    `the plan's end plus ${KILL_GRACE_SECONDS} s, or when it has sent no heartbeat for \`timeout\` (its event loop`,
    'is blocked). A worker that reports more `host.on(\'shutdown\')` handlers gets a plan that',
    'long. The presets size `graceful_timeout` with the same plan, and `hostd export` derives',
    "systemd's `TimeoutStopSec` and Kubernetes' `terminationGracePeriodSeconds` from it (the",
    'exported files show the sum). With `hook_timeout: 0` a graceful stop has no bound.',
    '',
    '| step | in | graceful stop (SIGTERM) | fast stop (SIGINT, SIGQUIT) | after a second stop signal |',
    '|---|---|---|---|---|',
  ];
  for (const step of stopPlan(defaults, shape, 'graceful').steps) {
    const [what, where, graceful, fast, escalated] = STEP_DOCS[step.name]!;
    out.push(`| ${mdCell(what)} | ${where} | ${mdCell(graceful)} | ${mdCell(fast)} | ${mdCell(escalated)} |`);
  }
  const k8sShape = configShape({ post_request: [], worker_int: [], worker_exit: [1], child_exit: [1], on_exit: [1] });
  out.push(
    '',
    'For example, the longest stops:',
    '',
    `- graceful, with the default settings and one function or handler of each kind: \`${explainPlan(stopPlan(defaults, shape, 'graceful'))}\`;`,
    `- fast, the same: \`${explainPlan(stopPlan(defaults, shape, 'fast'))}\`;`,
    `- graceful, with the kubernetes preset's settings, one \`host.on('shutdown')\` handler and one of each exit hook: \`${explainPlan(stopPlan(k8sSettings, k8sShape, 'graceful'))}\`, within the pod's 30 s \`terminationGracePeriodSeconds\`.`,
    '',
  );
  return out;
}
