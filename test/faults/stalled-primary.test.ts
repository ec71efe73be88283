/**
 * A primary that could not run (SIGSTOP, a paused container or VM, a laptop lid) judges no
 * worker on that time (issue 23, bug 1): its healthy workers are not killed for the
 * heartbeats it did not read, and requests on keep-alive connections do not fail.
 */
import { describe, expect, it } from 'vitest';
import { appProject, recordingConfig } from '../helpers/apps.ts';
import { hostd } from '../helpers/cli.ts';
import { startLoad } from '../helpers/load.ts';
import { type Hostd, startHostd, waitUntil, workerPids } from '../helpers/run.ts';

/** The stall itself: how long the primary is held stopped (the stimulus, not a wait for an outcome). */
const stall = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until the primary has read a heartbeat from every worker since `since` (Date.now()). */
async function heardFromAll(run: Hostd, dir: string, since: number): Promise<void> {
  await waitUntil(async () => {
    const status = await hostd(['status', '--json'], { cwd: dir });
    if (status.code !== 0) return false;
    const { workers } = JSON.parse(status.stdout) as { workers: { last_heartbeat_seconds_ago: number }[] };
    const now = Date.now();
    return workers.length === 2 && workers.every((w) => now - w.last_heartbeat_seconds_ago * 1000 > since);
  }, 'a heartbeat from every worker after the stall');
}

describe('a primary that did not run', () => {
  for (const [what, target] of [
    ['the primary alone', (pid: number) => pid],
    ['its whole process group', (pid: number) => -pid],
  ] as const) {
    it(`kills no worker when ${what} was stopped for longer than timeout, and keep-alive requests do not fail`, async () => {
      const dir = appProject(recordingConfig("workers: 2, timeout: 2, control_socket: './control.sock',"));
      const run = startHostd(dir);
      const url = await run.ready();
      const workers = workerPids(run.pid).sort();
      const load = startLoad(url, { concurrency: 4, maxMs: 25_000 });
      await waitUntil(() => load.result.ok > 50, 'the load to run');
      process.kill(target(run.pid), 'SIGSTOP');
      await stall(3500);
      process.kill(target(run.pid), 'SIGCONT');
      const resumed = Date.now();
      // Two rounds of heartbeats read after the stall: a worker judged on it would have been killed by now.
      await heardFromAll(run, dir, resumed);
      await heardFromAll(run, dir, Date.now());
      const okAfter = load.result.ok;
      await waitUntil(() => load.result.ok > okAfter + 50, 'requests after the stall');
      const result = await load.stop();
      expect(run.output).not.toContain('WORKER TIMEOUT');
      expect(workerPids(run.pid).sort()).toEqual(workers);
      expect(result.failures).toEqual([]);
      expect(run.output).toMatch(/the primary did not run for \d(\.\d)? s \(stopped, paused or blocked\); no worker is judged on that time/);
    });
  }
});
