/**
 * Runs `hostd run` for a test: starts it, learns its address from the "Listening at"
 * line, waits for output or hook records with deadlines, and kills whatever is still
 * running after each test.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect } from 'vitest';
import { CLI, cleanEnv } from './cli.ts';
import { workerPids } from './proc.ts';

const running = new Set<Hostd>();

afterEach(async () => {
  const started = [...running];
  running.clear();
  await Promise.all(started.map((h) => h.kill()));
});

type Maybe<T> = T | undefined | false | null;

/** Polls `check` (sync or async) until it returns a value, or fails after `timeoutMs`. */
export async function waitUntil<T>(check: () => Maybe<T> | Promise<Maybe<T>>, what: string | (() => string), timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false && value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The lines of a hook record file (each hook appends one line); empty if not written yet. */
export function records(file: string): string[] {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
}

/** How many lines match `pattern`. */
export function count(lines: readonly string[], pattern: RegExp): number {
  return lines.filter((l) => pattern.test(l)).length;
}

/** Waits until the record file has a line matching `pattern`; returns all lines. */
export function waitForRecord(file: string, pattern: RegExp, timeoutMs = 10_000): Promise<string[]> {
  return waitUntil(() => {
    const lines = records(file);
    return lines.some((l) => pattern.test(l)) ? lines : undefined;
  }, () => `a record matching ${pattern} in ${file} (have: ${records(file).join(' | ')})`, timeoutMs);
}

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export class Hostd {
  readonly child: ChildProcess;
  /** Both streams, in the order they arrived. */
  output = '';
  /** What it wrote to its standard output alone (the access log with `accesslog: '-'`). */
  stdout = '';
  /** What it wrote to its standard error alone (the error log, by default). */
  stderr = '';
  readonly exited: Promise<Exit>;
  private exit: Exit | null = null;

  constructor(dir: string, args: readonly string[], env: Record<string, string> = {}, extraFds: number[] = [], prefix: readonly string[] = [], cli = CLI) {
    // `prefix` runs hostd through another command (unshare, sh -c 'exec ...'); the prefix must exec it.
    const command = [...prefix, process.execPath, cli, 'run', ...args];
    this.child = spawn(command[0]!, command.slice(1), {
      cwd: dir,
      env: cleanEnv(env),
      stdio: ['ignore', 'pipe', 'pipe', ...extraFds],
      // A process group of its own: afterEach kills the primary, its workers and anything they
      // started, even when the primary is already gone and its workers were reparented.
      detached: true,
    });
    this.child.stdout!.on('data', (d: Buffer) => {
      this.output += d;
      this.stdout += d;
    });
    this.child.stderr!.on('data', (d: Buffer) => {
      this.output += d;
      this.stderr += d;
    });
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        // The last lines may still be in the pipes (which the workers share): the output is
        // complete at 'close'. Something the test left running can hold them open; not for long.
        const settle = () => {
          clearTimeout(late);
          this.exit ??= { code, signal };
          resolve(this.exit);
        };
        const late = setTimeout(settle, 2000);
        this.child.once('close', settle);
      });
    });
    running.add(this);
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Waits for a line of output matching `pattern`. */
  async waitForOutput(pattern: RegExp, timeoutMs = 10_000): Promise<RegExpMatchArray> {
    return waitUntil(() => this.output.match(pattern) ?? (this.exit ? this.fail(pattern) : undefined), `output matching ${pattern}`, timeoutMs);
  }

  private fail(pattern: RegExp): never {
    throw new Error(`hostd exited (${JSON.stringify(this.exit)}) before printing ${pattern}:\n${this.output}`);
  }

  /** The first "Listening at" address. */
  async url(): Promise<string> {
    return (await this.waitForOutput(/Listening at: (\S+)/))[1]!;
  }

  /** Waits until all initial workers are ready. */
  async ready(timeoutMs = 15_000): Promise<string> {
    await this.waitForOutput(/hostd is ready/, timeoutMs);
    return this.url();
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** Sends `signal` and waits for the exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 20_000): Promise<Exit> {
    this.signal(signal);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`hostd did not exit within ${timeoutMs} ms of ${signal}:\n${this.output}`)), timeoutMs)));
    try {
      return await Promise.race([this.exited, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Kills the primary, its workers and whatever they started (all that is left after a test). */
  async kill(): Promise<void> {
    try {
      process.kill(-this.pid, 'SIGKILL');
    } catch {
      // The whole group is gone already.
    }
    await this.exited;
  }
}

export { workerPids };

/** A process's title as `ps` shows it. */
export function processTitle(pid: number): string {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
}

/** `cli`: another copy of hostd's bin (a build without its native helper, say). */
export function startHostd(dir: string, args: readonly string[] = [], options: { env?: Record<string, string>; fds?: number[]; prefix?: readonly string[]; cli?: string } = {}): Hostd {
  return new Hostd(dir, args, options.env, options.fds, options.prefix, options.cli);
}

/**
 * A module for test projects (`record.ts`): every hook as a function that appends one
 * line to `hooks.log` next to it, so a test can read what ran, where, in what order.
 */
export const RECORD_MODULE = `import { appendFileSync } from 'node:fs';
import type { UserHooks } from 'hostd';

export const log = new URL('./hooks.log', import.meta.url);
export const rec = (line: string) => appendFileSync(log, line + '\\n');

export const recorded = {
  on_starting: () => rec('on_starting'),
  pre_fork: ({ worker }) => rec(\`pre_fork \${worker.id} pid=\${worker.pid} gen=\${worker.generation}\`),
  post_fork: ({ worker }) => rec(\`post_fork \${worker.id} pid=\${worker.pid}\`),
  post_worker_init: ({ worker, app }) => rec(\`post_worker_init \${worker.id} app=\${typeof app}\`),
  when_ready: ({ workers }) => rec(\`when_ready \${workers.map((w) => w.id).join(',')}\`),
  pre_request: ({ worker, req }) => rec(\`pre_request \${worker.id} \${req.url}\`),
  post_request: ({ worker, req, status, aborted, error }) =>
    rec(\`post_request \${worker.id} \${req.url} \${status} aborted=\${aborted} error=\${error?.message ?? null}\`),
  on_reload: ({ previous, server }) => rec(\`on_reload \${previous.workers}->\${server.config.workers}\`),
  nworkers_changed: (ctx) => rec(\`nworkers_changed \${ctx.old}->\${ctx.new}\`),
  worker_int: ({ worker }) => rec(\`worker_int \${worker.id}\`),
  worker_exit: ({ worker, reason }) => rec(\`worker_exit \${worker.id} \${reason}\`),
  child_exit: ({ worker, reason, exit_code, exit_signal }) =>
    rec(\`child_exit \${worker.id} \${reason} code=\${exit_code} signal=\${exit_signal}\`),
  on_exit: ({ exit_code, reason }) => rec(\`on_exit \${exit_code} \${reason}\`),
} satisfies UserHooks;
`;

/** Asserts that the first line matching `a` comes before the first matching `b`. */
export function expectBefore(lines: string[], a: RegExp, b: RegExp): void {
  const ia = lines.findIndex((l) => a.test(l));
  const ib = lines.findIndex((l) => b.test(l));
  expect(ia, `${a} is missing from:\n${lines.join('\n')}`).toBeGreaterThanOrEqual(0);
  expect(ib, `${b} is missing from:\n${lines.join('\n')}`).toBeGreaterThanOrEqual(0);
  expect(ia, `${a} should come before ${b} in:\n${lines.join('\n')}`).toBeLessThan(ib);
}

/** The hook record file of a project made with RECORD_MODULE. */
export function hooksLog(dir: string): string {
  return join(dir, 'hooks.log');
}

