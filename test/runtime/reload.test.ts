import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { appProject, recordingConfig } from '../helpers/apps.ts';
import { type LoadResult, startLoad } from '../helpers/load.ts';
import { count, type Hostd, hooksLog, records, startHostd, waitUntil } from '../helpers/run.ts';

/**
 * Serves `before` (settings source) under load, rewrites the config to `after`, sends HUP,
 * waits for `settled` (the reload's outcome in the output), and lets 100 more requests
 * through. Resolves with the load's result and the hook records.
 */
async function reloadUnderLoad(before: string, after: string, settled: (hostd: Hostd, log: string) => Promise<unknown>): Promise<{ result: LoadResult; lines: string[]; hostd: Hostd }> {
  const dir = appProject(recordingConfig(before));
  const log = hooksLog(dir);
  const hostd = startHostd(dir);
  const url = await hostd.ready();
  const load = startLoad(`${url}/env`);
  await waitUntil(() => load.result.ok >= 100, '100 requests before the reload');
  writeFileSync(join(dir, 'hostd.config.ts'), recordingConfig(after));
  hostd.signal('SIGHUP');
  await settled(hostd, log);
  const seen = load.result.ok;
  await waitUntil(() => load.result.ok >= seen + 100, '100 requests after the reload');
  return { result: await load.stop(), lines: records(log), hostd };
}

describe('hostd run: reload (SIGHUP)', () => {
  it('rolls to a new generation under load without failing a request', async () => {
    const { result, lines, hostd } = await reloadUnderLoad("workers: 2, env: { GREETING: 'v1' },", "workers: 3, env: { GREETING: 'v2' },", async (hostd, log) => {
      await hostd.waitForOutput(/reloaded: generation 2 is serving/);
      await waitUntil(() => count(records(log), /^child_exit [12] reload code=0/) === 2, 'both old workers to leave', 20_000);
    });
    expect(result.failures).toEqual([]);
    expect(result.bodies).toContain('v1');
    expect(result.bodies.slice(-100).every((body) => body === 'v2')).toBe(true);
    expect(lines).toContain('on_reload 2->3');
    expect(lines).toContain('nworkers_changed 2->3');
    for (const id of [1, 2, 3]) expect(lines).toContain(`pre_fork ${id} pid=null gen=2`);
    for (const id of [1, 2]) expect(lines).toContain(`worker_exit ${id} reload`);
    // The new generation was up before the old one was retired.
    expect(lines.findLastIndex((l) => l.startsWith('post_worker_init'))).toBeLessThan(lines.findIndex((l) => l.startsWith('worker_exit')));
    expect((await hostd.stop()).code).toBe(0);
  });

  it('keeps serving the old config when the new one is invalid, and logs every problem', async () => {
    const { result, lines, hostd } = await reloadUnderLoad("workers: 2, env: { GREETING: 'v1' },", "workers: -1, wrokers: 2, env: { GREETING: 'v2' },", async (hostd) => {
      await hostd.waitForOutput(/reload: the config is invalid; nothing changed/);
      await hostd.waitForOutput(/hostd\.config\.ts: wrokers: unknown key \(did you mean "workers"\?\)/);
    });
    expect(hostd.output).toMatch(/hostd\.config\.ts: workers: expected an integer from 1 to 1,024, or "auto", got -1/);
    expect(result.failures).toEqual([]);
    expect(new Set(result.bodies)).toEqual(new Set(['v1']));
    expect(count(lines, /^on_reload|^worker_exit|^child_exit|^pre_fork \d pid=null gen=2/)).toBe(0);
  });

  it('abandons a reload whose new workers cannot boot; the old generation keeps serving', async () => {
    const failing = "workers: 2, env: { GREETING: 'v2' }, post_worker_init: () => { throw new Error('cache warm-up failed'); },";
    const { result, lines, hostd } = await reloadUnderLoad("workers: 2, env: { GREETING: 'v1' },", failing, (hostd) =>
      hostd.waitForOutput(/reload failed: worker \d of the new generation could not boot \(see above\); generation 1 keeps serving/),
    );
    expect(hostd.output).toMatch(/worker \d failed to boot: hook post_worker_init \(from hostd\.config\.ts\) threw: Error: cache warm-up failed/);
    expect(result.failures).toEqual([]);
    expect(new Set(result.bodies)).toEqual(new Set(['v1']));
    expect(lines).toContain('on_reload 2->2');
    expect((await hostd.stop()).code).toBe(0);
  });

  it('abandons a reload when on_reload throws', async () => {
    const throwing = "workers: 1, env: { GREETING: 'v2' }, on_reload: () => { throw new Error('not now'); },";
    const { result } = await reloadUnderLoad("workers: 1, env: { GREETING: 'v1' },", throwing, (hostd) =>
      hostd.waitForOutput(/reload abandoned, the old config and workers keep serving: hook on_reload \(from hostd\.config\.ts\) threw: Error: not now/),
    );
    expect(result.failures).toEqual([]);
    expect(new Set(result.bodies)).toEqual(new Set(['v1']));
  });
});
