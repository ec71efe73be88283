/**
 * For tests of `metrics_bind` against a running `hostd run`: a project that can import the
 * repository's prom-client, hostd started with its metrics address, the value of one sample,
 * and processes a test stopped (SIGSTOP) let go again.
 */
import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { project, REPO } from './project.ts';
import { type Hostd, startHostd } from './run.ts';

/** A project of `files` whose app can `import client from 'prom-client'` (the repository's). */
export function promProject(files: Record<string, string>): string {
  const dir = project(files);
  symlinkSync(join(REPO, 'node_modules', 'prom-client'), join(dir, 'node_modules', 'prom-client'), 'dir');
  return dir;
}

/** `hostd run` in `dir` (under `prefix`, a command it runs through), once ready: its URL and its `Metrics at:` URL. */
export async function startWithMetrics(dir: string, options: { readonly prefix?: readonly string[]; readonly readyMs?: number } = {}): Promise<{ run: Hostd; url: string; metrics: string }> {
  const run = startHostd(dir, [], options.prefix ? { prefix: options.prefix } : {});
  const url = await run.ready(options.readyMs);
  const metrics = (await run.waitForOutput(/Metrics at: (\S+)/))[1]!;
  return { run, url, metrics };
}

/** The value of one sample (`name{labels}` exactly as written), or undefined. */
export function sampleValue(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** Lets every process a test stopped go on (SIGCONT), emptying the list; one already gone is skipped. */
export function continueStopped(pids: number[]): void {
  for (const pid of pids.splice(0)) {
    try {
      process.kill(pid, 'SIGCONT');
    } catch {
      // gone
    }
  }
}
