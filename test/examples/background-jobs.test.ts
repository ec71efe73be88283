import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO, tempDir } from '../helpers/project.ts';
import { startHostd, waitUntil } from '../helpers/run.ts';

/** Jobs done (one per line in done-*.log) and still pending (pending-*.json), across workers. */
function state(dir: string): { done: string[]; pending: string[] } {
  const done: string[] = [];
  const pending: string[] = [];
  for (const file of readdirSync(dir)) {
    const text = readFileSync(join(dir, file), 'utf8');
    if (file.startsWith('done-')) done.push(...text.split('\n').filter(Boolean));
    if (file.startsWith('pending-') && file.endsWith('.json')) pending.push(...(JSON.parse(text) as string[]));
  }
  return { done, pending };
}

describe('examples/background-jobs', () => {
  it('loses no job when stopped with SIGTERM mid-load, and finishes the rest on the next start', async () => {
    const jobsDir = tempDir('hostd-jobs-');
    const example = join(REPO, 'examples', 'background-jobs');
    const hostd = startHostd(example, ['-b', '127.0.0.1:0'], { env: { JOBS_DIR: jobsDir } });
    const url = await hostd.ready();

    // Clients keep queueing jobs until hostd stops listening; SIGTERM arrives while jobs run
    // and requests are in flight. A job counts as accepted only when it was answered 202.
    const accepted: string[] = [];
    let next = 0;
    const client = async () => {
      while (next < 500) {
        const id = `job-${next++}`;
        const response = await fetch(`${url}/jobs?id=${id}`, { method: 'POST' }).catch(() => null);
        if (response === null) return;
        if (response.status === 202) accepted.push(id);
        await new Promise((resolve) => setTimeout(resolve, 15));
      }
    };
    const clients = Promise.all([client(), client(), client()]);
    await waitUntil(() => state(jobsDir).done.length >= 10, '10 jobs done', 15_000);
    hostd.signal('SIGTERM');
    await clients;
    expect((await hostd.exited).code).toBe(0);

    const afterStop = state(jobsDir);
    expect(afterStop.pending.length, 'some jobs were still queued at the stop').toBeGreaterThan(0);
    const seen = [...afterStop.done, ...afterStop.pending];
    expect(new Set(seen).size, 'no job twice').toBe(seen.length);
    expect(new Set(seen)).toEqual(new Set(accepted));

    // The next start picks the pending jobs up and finishes them.
    const again = startHostd(example, ['-b', '127.0.0.1:0'], { env: { JOBS_DIR: jobsDir } });
    await again.ready();
    await waitUntil(() => state(jobsDir).done.length === accepted.length, 'every accepted job done', 30_000);
    expect((await again.stop()).code).toBe(0);
    const final = state(jobsDir);
    expect(final.pending).toEqual([]);
    expect(new Set(final.done)).toEqual(new Set(accepted));
    expect(final.done).toHaveLength(accepted.length);
  });

  it('keeps its state in the temp folder, leaving nothing in the repository', async () => {
    const tmp = tempDir('hostd-jobs-tmp-');
    const example = join(REPO, 'examples', 'background-jobs');
    // No JOBS_DIR: the default place, under os.tmpdir() (TMPDIR points it at a folder of this test).
    const hostd = startHostd(example, ['-b', '127.0.0.1:0'], { env: { TMPDIR: tmp } });
    const url = await hostd.ready();
    expect((await fetch(`${url}/jobs?id=one`, { method: 'POST' })).status).toBe(202);
    const stateDir = join(tmp, 'hostd-background-jobs');
    await waitUntil(() => existsSync(stateDir) && state(stateDir).done.includes('one'), 'job "one" done in the temp folder');
    expect((await hostd.stop()).code).toBe(0);
    expect(existsSync(join(example, 'state')), 'no state/ folder in the example').toBe(false);
    // Every file in the example that git does not track, ignored ones included.
    const untracked = execFileSync('git', ['ls-files', '--others', '--', '.'], { cwd: example, encoding: 'utf8' });
    expect(untracked, 'files left in examples/background-jobs').toBe('');
  });
});
