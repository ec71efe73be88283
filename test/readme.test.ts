/**
 * The README's tour is true: its config is written to a project, the commands its console
 * samples show are run on it, and their output is compared with the sample's lines. To update
 * a sample, edit the README: this file holds no expected output.
 *
 * How a sample is read: `$ CMD` runs CMD (`npx hostd ...` runs the built CLI, `VAR=value`
 * before it sets the environment, `echo $?` prints the last exit code); the lines after it are
 * its output, in order and one for one. A line `...` stands for any number of lines, `[...]`
 * for any text within a line (the time and pid of a log line), and `^C` interrupts a running
 * `hostd run` as a terminal does. Whitespace runs compare as one space. What must vary is
 * normalised on both sides: ports, pids, the folder of the project, and the worker count
 * `workers: 'auto'` gives on this machine.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, cleanEnv, hostd } from './helpers/cli.ts';
import { project, REPO } from './helpers/project.ts';
import { buildProgram } from '../src/cli/program.ts';
import { waitUntil } from './helpers/run.ts';

const README = readFileSync(join(REPO, 'README.md'), 'utf8');

interface Block {
  readonly lang: string;
  readonly lines: string[];
  /** Where it starts in the text. */
  readonly at: number;
}

function blocks(markdown: string): Block[] {
  return [...markdown.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({ lang: m[1]!, lines: m[2]!.replace(/\n$/, '').split('\n'), at: m.index }));
}

interface Step {
  readonly command: string;
  readonly expected: string[];
}

function steps(block: Block): Step[] {
  const out: { command: string; expected: string[] }[] = [];
  for (const line of block.lines) {
    if (line.startsWith('$ ')) out.push({ command: line.slice(2), expected: [] });
    else out.at(-1)?.expected.push(line);
  }
  return out;
}

/** Replaces what must vary with a placeholder, on both sides. */
function normalise(line: string, dir: string): string {
  return line
    .replaceAll(dir, '<dir>')
    .replace(/:\d{2,5}\b/g, ':<port>')
    .replace(/\b(pid:? |\(pid |\] \[)\d+/g, '$1<pid>')
    .replace(/\((\d+)\)$/, '(<pid>)')
    .replace(/hostd is ready: \d+ workers?/, 'hostd is ready: <n> workers')
    .replace(/\s+/g, ' ')
    .trim();
}

function pattern(expected: string): RegExp {
  const parts = expected.split(/\[\.\.\.\]/).map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${parts.join('.*')}$`);
}

/** Whether `actual` is `expected` line for line, `...` standing for any number of lines. */
function matches(expected: readonly string[], actual: readonly string[]): boolean {
  const [first, ...rest] = expected;
  if (first === undefined) return actual.length === 0;
  if (first === '...') return actual.some((_, i) => matches(rest, actual.slice(i))) || matches(rest, []);
  return actual.length > 0 && pattern(first).test(actual[0]!) && matches(rest, actual.slice(1));
}

/** `HOSTD_WORKERS=2 npx hostd print-config --timeout 10` → its env and hostd's arguments. */
function parse(command: string): { env: Record<string, string>; args: string[] } {
  const words = command.split(/\s+/);
  const env: Record<string, string> = {};
  while (/^[A-Z_]+=/.test(words[0]!)) {
    const [name, value] = words.shift()!.split('=') as [string, string];
    env[name] = value;
  }
  expect(words.slice(0, 2), `a README command: ${command}`).toEqual(['npx', 'hostd']);
  return { env, args: words.slice(2) };
}

/** Runs `hostd run` until it is ready, interrupts it (`^C`: the whole process group) or stops it, and returns its output. */
async function runUntilReady(dir: string, args: string[], env: Record<string, string>, interrupt: boolean): Promise<{ code: number | null; output: string }> {
  // The README's bind may be taken on this machine: any free port, normalised anyway.
  const child = spawn(process.execPath, [CLI, ...args], { cwd: dir, env: cleanEnv({ HOSTD_BIND: '127.0.0.1:0', ...env }), detached: true });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d));
  child.stderr.on('data', (d: Buffer) => (output += d));
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  try {
    await waitUntil(() => /hostd is ready/.test(output), () => `hostd run to be ready:\n${output}`, 20_000);
    process.kill(interrupt ? -child.pid! : child.pid!, interrupt ? 'SIGINT' : 'SIGTERM');
    return { code: await closed, output };
  } finally {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // Gone already.
    }
  }
}

/** The config of the tour's error step: each line of the snippet replaces the line of its key, or of the key it misspells. */
function withSnippet(config: string, snippet: readonly string[]): string {
  const lines = config.split('\n');
  const keyOf = (line: string) => /^\s*(\w+):/.exec(line)?.[1];
  for (const replacement of snippet) {
    const key = keyOf(replacement)!;
    const distances = lines.map((line) => {
      const other = keyOf(line);
      return other === undefined ? Infinity : distance(key, other);
    });
    const best = distances.indexOf(Math.min(...distances));
    expect(distances[best], `a config line for "${key}"`).toBeLessThanOrEqual(2);
    lines[best] = replacement;
  }
  return lines.join('\n');
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}

describe('the README tour', () => {
  const all = blocks(README.slice(README.indexOf('## Five minutes with hostd'), README.indexOf('## Commands')));
  const config = all.find((b) => b.lang === 'ts')!;
  const snippet = all.filter((b) => b.lang === 'ts')[1]!;
  const samples = all.filter((b) => b.lang === 'console');

  it('starts with the two commands', () => {
    const first = blocks(README)[0]!;
    expect(first.lines.map((l) => l.replace(/\s+#.*$/, ''))).toEqual(['npm install && npm start', 'npm test']);
  });

  it('has a config and console samples to check', () => {
    expect(config.lines.join('\n')).toContain('defineConfig');
    expect(samples.length).toBeGreaterThanOrEqual(4);
  });

  it('shows what the commands print, on its own config', async () => {
    const dir = project({ 'src/app.ts': "import type { RequestListener } from 'node:http';\n\nconst app: RequestListener = (req, res) => void res.end('hello\\n');\nexport default app;\n", 'hostd.config.ts': `${config.lines.join('\n')}\n` });
    const valid = readFileSync(join(dir, 'hostd.config.ts'), 'utf8');
    let lastCode: number | null = null;
    let checked = 0;
    // The sample right after the misspelt snippet runs on the config with it; the others on the valid one.
    const broken = samples.find((s) => s.at > snippet.at);
    for (const sample of samples) {
      writeFileSync(join(dir, 'hostd.config.ts'), sample === broken ? withSnippet(valid, snippet.lines) : valid);
      for (const step of steps(sample)) {
        let output: string;
        let expected = step.expected;
        if (step.command === 'echo $?') {
          output = `${lastCode}\n`;
        } else {
          const { env, args } = parse(step.command);
          if (args[0] === 'run') {
            const interrupt = expected.includes('^C');
            const result = await runUntilReady(dir, args, env, interrupt);
            output = result.output;
            lastCode = result.code;
            expected = expected.filter((l) => l !== '^C');
          } else {
            const result = await hostd(args, { cwd: dir, env });
            output = result.stdout + result.stderr;
            lastCode = result.code;
          }
        }
        const actual = output.replace(/\n$/, '').split('\n').map((l) => normalise(l, dir));
        const want = expected.map((l) => normalise(l, dir));
        expect(matches(want, actual), `README: $ ${step.command}\nexpected (README):\n${want.join('\n')}\n\nactual:\n${actual.join('\n')}`).toBe(true);
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(5);
  }, 90_000);

  it('compares lines: a stale line, a missing line or an extra line fails', () => {
    expect(matches(['a', '...', 'c'], ['a', 'b', 'b', 'c'])).toBe(true);
    expect(matches(['a', 'c'], ['a', 'b', 'c'])).toBe(false);
    expect(matches(['a'], ['a', 'b'])).toBe(false);
    expect(matches(['[...] x'], ['[time] [1] x'])).toBe(true);
    expect(normalise('[2026-11-23 10:25:00 +0000] [4211] [INFO] Listening at: http://127.0.0.1:8000 (4211)', '/nowhere')).toBe(
      normalise('[2026-11-23 10:25:00 +0000] [99] [INFO] Listening at: http://127.0.0.1:41234 (99)', '/nowhere'),
    );
  });
});

describe("the README's commands table", () => {
  it('lists every command of the CLI, and no other', () => {
    const table = README.slice(README.indexOf('## Commands'), README.indexOf('## Documentation'));
    const listed = [...table.matchAll(/^\| `hostd ([a-z-]+)/gm)].map((m) => m[1]);
    const commands = buildProgram(() => {}).commands.map((c) => c.name());
    expect(listed.length).toBeGreaterThan(5);
    expect([...listed].sort()).toEqual([...commands].sort());
  });
});
