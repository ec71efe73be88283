/** Runs the built CLI as a user would, and waits for it to finish. */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO } from './project.ts';

/** The `hostd` bin, as npm links it (it hands everything but a bare --version or --help to dist/cli.js). */
export const CLI = join(REPO, 'dist', 'bin.cjs');
/** The whole CLI, which the bin loads. */
export const FULL_CLI = join(REPO, 'dist', 'cli.js');

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The environment without this machine's HOSTD_* variables (tests set their own). */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HOSTD_') && k !== 'FORCE_COLOR'));
  return { ...env, NO_COLOR: '1', ...extra };
}

/** A CLI run under way: what it printed so far, and its result once it exits. */
export interface CliRun {
  readonly child: ChildProcess;
  readonly stdout: () => string;
  readonly stderr: () => string;
  readonly result: Promise<CliResult>;
}

/** Starts the CLI without waiting for it, so a test can read its output while it runs (and must kill it after). */
export function startCli(args: readonly string[], options: { cwd: string; env?: Record<string, string> }): CliRun {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: options.cwd, env: cleanEnv(options.env) });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d));
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  const result = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  return { child, stdout: () => stdout, stderr: () => stderr, result };
}

export function hostd(args: readonly string[], options: { cwd: string; env?: Record<string, string>; timeoutMs?: number }): Promise<CliResult> {
  const run = startCli(args, options);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      run.child.kill('SIGKILL');
      reject(new Error(`hostd ${args.join(' ')} did not finish within ${options.timeoutMs ?? 15000} ms\nstdout: ${run.stdout()}\nstderr: ${run.stderr()}`));
    }, options.timeoutMs ?? 15000);
  });
  return Promise.race([run.result, late]).finally(() => clearTimeout(timer));
}

/** What `hostd print-config --json` reports: every setting's value and where it came from. */
export interface ConfigReport {
  readonly settings: Record<string, { readonly value: unknown; readonly source: string }>;
}

export async function printConfig(dir: string, env: Record<string, string> = {}, args: readonly string[] = []): Promise<ConfigReport> {
  return JSON.parse((await hostd(['print-config', '--json', ...args], { cwd: dir, env })).stdout) as ConfigReport;
}

/** The resolved value of every setting. */
export async function resolvedSettings(dir: string, env: Record<string, string> = {}): Promise<Record<string, unknown>> {
  return Object.fromEntries(Object.entries((await printConfig(dir, env)).settings).map(([k, v]) => [k, v.value]));
}
