/**
 * `reload_batch`: a reload replaces N workers at a time. Under load, no request fails, and
 * no more than workers + N worker processes are alive at any moment of it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { appProject, recordingConfig } from '../helpers/apps.ts';
import { type Hostd, hooksLog, records, startHostd, waitUntil, workerPids } from '../helpers/run.ts';

describe('reload_batch', () => {
  let run: Hostd | undefined;
  afterEach(async () => {
    await run?.stop();
    run = undefined;
  });

  it('replaces one worker at a time under load: no failed request, never more than workers + 1 alive', async () => {
    const dir = appProject(recordingConfig('workers: 3, reload_batch: 1, graceful_timeout: 10,'));
    run = startHostd(dir);
    const url = await run.ready();
    const hostdRun = run;

    let failures = 0;
    let served = 0;
    let most = 0;
    let loading = true;
    // Bounded: three clients in a loop until the reload is over (or 20 s at most).
    const until = Date.now() + 20_000;
    const client = async () => {
      while (loading && Date.now() < until) {
        const ok = await fetch(`${url}/pid`).then((r) => r.ok, () => false);
        if (ok) served++;
        else failures++;
      }
    };
    const sampler = setInterval(() => (most = Math.max(most, workerPids(hostdRun.pid).length)), 10);
    const clients = [client(), client(), client()];
    await waitUntil(() => served > 20, 'some requests served before the reload');

    run.signal('SIGHUP');
    await run.waitForOutput(/reloaded: generation 2 is serving/, 20_000);
    await waitUntil(() => workerPids(hostdRun.pid).length === 3, 'the old workers to leave');
    loading = false;
    await Promise.all(clients);
    clearInterval(sampler);

    expect(failures).toBe(0);
    expect(served).toBeGreaterThan(20);
    expect(most).toBeLessThanOrEqual(4);
    expect(run.output).toMatch(/reloading: starting generation 2 \(3 workers, 1 at a time\)/);
    // One batch after another: each new worker's post_fork comes after the previous old worker was told to go.
    expect(records(hooksLog(dir)).filter((l) => l.startsWith('post_fork')).length).toBe(6);
  });
});
