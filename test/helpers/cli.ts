/** Runs the built CLI as a user would, and waits for it to finish. */
import { spawn } from 'node:child_process';
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

export function hostd(args: readonly string[], options: { cwd: string; env?: Record<string, string>; timeoutMs?: number }): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: options.cwd, env: cleanEnv(options.env) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`hostd ${args.join(' ')} did not finish within ${options.timeoutMs ?? 15000} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, options.timeoutMs ?? 15000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
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
