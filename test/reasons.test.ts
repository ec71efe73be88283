import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REASON_DETAILS, REASON_NAMES, REASONS, type ReasonHook, reasonsOf } from '../src/hooks/reasons.ts';
import { appProject, recordingConfig } from './helpers/apps.ts';
import { REPO } from './helpers/project.ts';
import { hooksLog, records, startHostd } from './helpers/run.ts';

const reasons: ReadonlySet<string> = new Set(REASON_NAMES);
const details: ReadonlySet<string> = new Set(REASON_DETAILS);

/**
 * The parenthesised reasons of log lines (`worker 1 stopping (shutdown, fast)`, `... exited
 * with code 0 (shutdown)`, `hostd stopped (shutdown), exit code 0`), split into words.
 * `while stopping (...)` is what a worker was doing, not a reason.
 */
function logReasons(text: string): string[][] {
  const found: string[][] = [];
  for (const match of text.matchAll(/(?<!while )(?:stopping|stopped|exited with (?:code|signal) \S+) \(([^)]+)\)/g)) {
    // Code in a doc that builds such a line (`stopping (${reason})`) is not a line.
    if (!match[1]!.includes('${')) found.push(match[1]!.split(', '));
  }
  return found;
}

/** Words that are not a reason followed by stop details. */
function strangers(words: readonly string[]): string[] {
  const [reason, ...rest] = words;
  return [...(reasons.has(reason!) ? [] : [reason!]), ...rest.filter((w) => !details.has(w))];
}

/** The backticked words a doc names as reasons: "reason `killed`", "`reason` is `a`, `b` or `c`", a "reason" column. */
function docReasons(text: string): string[] {
  const words: string[] = [];
  const list = /`?\breasons?`?\s+(?:is\s+(?:one\s+of\s+)?|are\s+)?((?:`[^`]+`(?:,\s*|\s+or\s+|\s+and\s+)?)+)/g;
  for (const match of text.matchAll(list)) words.push(...[...match[1]!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!));
  // guarantees.md's paths: "`on_exit` (shutdown, exit 0)".
  for (const match of text.matchAll(/`(?:worker_exit|child_exit|on_exit|host\.on\('shutdown'\))` \(([a-z_]+)(?=[,)])/g)) words.push(match[1]!);
  // Tables: every cell under a header cell that says "reason".
  const lines = text.split('\n');
  for (let i = 0; i + 1 < lines.length; i++) {
    if (!lines[i]!.startsWith('|') || !/^\|[-| ]+\|$/.test(lines[i + 1]!)) continue;
    const column = lines[i]!.split('|').findIndex((cell) => /\breason\b/.test(cell));
    if (column < 0) continue;
    for (let j = i + 2; j < lines.length && lines[j]!.startsWith('|'); j++) {
      const cell = lines[j]!.split('|')[column] ?? '';
      words.push(...[...cell.matchAll(/^\s*`([^`]+)`/g)].map((m) => m[1]!));
    }
  }
  return words;
}

function markdownFiles(): string[] {
  const docs = readdirSync(join(REPO, 'docs'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.md')).map((f) => join(REPO, 'docs', f));
  const examples = readdirSync(join(REPO, 'examples')).map((e) => join(REPO, 'examples', e, 'README.md'));
  return [join(REPO, 'README.md'), ...docs, ...examples.filter((f) => readdirSync(join(f, '..')).includes('README.md'))];
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(dir, f));
}

describe('one vocabulary of reasons', () => {
  it('every reason a doc names is in the table', () => {
    const problems: string[] = [];
    let seen = 0;
    for (const file of markdownFiles()) {
      const text = readFileSync(file, 'utf8');
      for (const word of docReasons(text)) {
        seen++;
        if (!reasons.has(word)) problems.push(`${relative(REPO, file)}: reason \`${word}\``);
      }
      for (const words of logReasons(text)) {
        seen++;
        for (const w of strangers(words)) problems.push(`${relative(REPO, file)}: a log line's (${words.join(', ')}): ${w}`);
      }
    }
    expect(problems).toEqual([]);
    // The scan found the reasons the docs do name (guarantees.md's table, running.md's supervision table).
    expect(seen).toBeGreaterThan(20);
  });

  it('the scan of docs catches a word that is not in the table', () => {
    expect(docReasons('`on_exit` gets reason `interrupt`.')).toEqual(['interrupt']);
    expect(docReasons("`host.on('shutdown')` (shutdown) in the worker → `on_exit` (interrupt, exit 0) in the primary")).toEqual(['shutdown', 'interrupt']);
    expect(docReasons('`reason` is `shutdown`, `reload` or `max_requests`;')).toEqual(['shutdown', 'reload', 'max_requests']);
    expect(docReasons('| event | `child_exit` reason |\n|---|---|\n| a crash | `crash` |\n')).toEqual(['crash']);
    expect(strangers(['interrupt', 'fast'])).toEqual(['interrupt']);
    expect(logReasons('x while stopping (serving); worker 1 stopping (shutdown, fast)')).toEqual([['shutdown', 'fast']]);
  });

  it('every reason child_exit gets has a row in the supervision table, and no other reason has one', () => {
    for (const name of REASON_NAMES) {
      const childExit = (REASONS[name].hooks as readonly ReasonHook[]).includes('child_exit');
      expect(REASONS[name].supervision.length > 0, `${name}: supervision rows`).toBe(childExit);
    }
  });

  it("the docs' generated lists name every reason of their hook: the supervision table, the exit reasons, each hook's reason in settings.md", () => {
    const doc = (path: string) => readFileSync(join(REPO, 'docs', path), 'utf8');
    const region = (text: string, name: string) => text.slice(text.indexOf(`<!-- generated: ${name} `), text.indexOf('<!-- end generated -->', text.indexOf(`<!-- generated: ${name} `)));
    for (const [text, name] of [
      [doc('running.md'), 'supervision'],
      [doc('observability.md'), 'exit reasons'],
    ] as const) {
      expect(new Set(docReasons(region(text, name))), name).toEqual(new Set(reasonsOf('child_exit')));
    }
    const settings = doc('settings.md');
    for (const hook of ['worker_exit', 'child_exit', 'on_exit'] as const) {
      const section = settings.slice(settings.indexOf(`### \`${hook}\``));
      const line = section.split('\n').find((l) => l.startsWith('- `reason`: '))!;
      expect([...line.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]).slice(1), hook).toEqual(reasonsOf(hook));
    }
  });

  it("hostd's log lines put a reason in parentheses only through reasonText()", () => {
    const problems: string[] = [];
    for (const file of sourceFiles(join(REPO, 'src'))) {
      readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (/\(\$\{[^}]*\breason\b[^}]*\}/.test(line) && !line.includes('reasonText(')) problems.push(`${relative(REPO, file)}:${i + 1}: ${line.trim()}`);
        });
    }
    expect(problems).toEqual([]);
  });

  it('the primary and the workers log the same words for one stop, and the hooks receive them', async () => {
    const dir = appProject(recordingConfig('workers: 2,'));
    const hostd = startHostd(dir);
    await hostd.ready();
    expect((await hostd.stop('SIGINT')).code).toBe(0);

    expect(hostd.output).toMatch(/hostd stopping \(shutdown, fast\)/);
    expect(hostd.output).toMatch(/worker 1 stopping \(shutdown, fast\)/);
    expect(hostd.output).toMatch(/hostd stopped \(shutdown\), exit code 0/);
    const found = logReasons(hostd.output);
    expect(found.length).toBeGreaterThanOrEqual(6);
    expect(found.flatMap(strangers)).toEqual([]);

    // Every reason a hook received is in the table, and listed for that hook.
    // "worker_exit ID REASON", "child_exit ID REASON ...", "on_exit CODE REASON".
    const received = records(hooksLog(dir)).flatMap((line): [ReasonHook, string][] => {
      const [hook, , reason] = line.split(' ');
      return hook === 'worker_exit' || hook === 'child_exit' || hook === 'on_exit' ? [[hook, reason!]] : [];
    });
    expect(received.map(([hook]) => hook).sort()).toEqual(['child_exit', 'child_exit', 'on_exit', 'worker_exit', 'worker_exit']);
    for (const [hook, reason] of received) {
      expect(reasons.has(reason), `${hook} got ${reason}`).toBe(true);
      expect((REASONS[reason as keyof typeof REASONS].hooks as readonly ReasonHook[]).includes(hook), `${reason} is listed for ${hook}`).toBe(true);
    }
  });
});
