import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { appProject, recordingConfig } from '../helpers/apps.ts';
import { startLoad } from '../helpers/load.ts';
import { hooksLog, records, startHostd, waitUntil } from '../helpers/run.ts';

const count = (lines: string[], pattern: RegExp) => lines.filter((l) => pattern.test(l)).length;

describe('hostd run: reload (SIGHUP)', () => {
  it('rolls to a new generation under load without failing a request', async () => {
    const dir = appProject(recordingConfig("workers: 2, env: { GREETING: 'v1' },"));
    const log = hooksLog(dir);
    const hostd = startHostd(dir);
    const url = await hostd.ready();
    const load = startLoad(`${url}/env`);
    await waitUntil(() => load.result.ok >= 200, '200 requests before the reload');

    writeFileSync(join(dir, 'hostd.config.ts'), recordingConfig("workers: 3, env: { GREETING: 'v2' },"));
    hostd.signal('SIGHUP');
    await hostd.waitForOutput(/reloaded: generation 2 is serving/);
    await waitUntil(() => count(records(log), /^child_exit [12] reload code=0/) === 2, 'both old workers to leave', 20_000);
    const after = load.result.ok;
    await waitUntil(() => load.result.ok >= after + 200, '200 requests after the reload');
    const result = await load.stop();

    expect(result.failures).toEqual([]);
    expect(result.bodies).toContain('v1');
    expect(result.bodies.slice(-100).every((body) => body === 'v2')).toBe(true);
    const lines = records(log);
    expect(lines).toContain('on_reload 2->3');
    expect(lines).toContain('nworkers_changed 2->3');
    for (const id of [1, 2, 3]) expect(lines).toContain(`pre_fork ${id} pid=null gen=2`);
    for (const id of [1, 2]) expect(lines).toContain(`worker_exit ${id} reload`);
    // The new generation was up before the old one was retired.
    expect(lines.findLastIndex((l) => l.startsWith('post_worker_init'))).toBeLessThan(lines.findIndex((l) => l.startsWith('worker_exit')));
    expect((await hostd.stop()).code).toBe(0);
  });

  it('keeps serving the old config when the new one is invalid, and logs every problem', async () => {
    const dir = appProject(recordingConfig("workers: 2, env: { GREETING: 'v1' },"));
    const log = hooksLog(dir);
    const hostd = startHostd(dir);
    const url = await hostd.ready();
    const load = startLoad(`${url}/env`);
    await waitUntil(() => load.result.ok >= 100, '100 requests before the reload');

    writeFileSync(join(dir, 'hostd.config.ts'), recordingConfig("workers: -1, wrokers: 2, env: { GREETING: 'v2' },"));
    hostd.signal('SIGHUP');
    await hostd.waitForOutput(/reload: the config is invalid; nothing changed/);
    await hostd.waitForOutput(/hostd\.config\.ts: wrokers: unknown key \(did you mean "workers"\?\)/);
    expect(hostd.output).toMatch(/hostd\.config\.ts: workers: expected an integer ≥ 1 or "auto", got -1/);
    const after = load.result.ok;
    await waitUntil(() => load.result.ok >= after + 100, '100 requests after the reload');
    const result = await load.stop();

    expect(result.failures).toEqual([]);
    expect(new Set(result.bodies)).toEqual(new Set(['v1']));
    const lines = records(log);
    expect(count(lines, /^on_reload|^worker_exit|^child_exit|^pre_fork \d pid=null gen=2/)).toBe(0);
  });

  it('abandons a reload whose new workers cannot boot; the old generation keeps serving', async () => {
    const dir = appProject(recordingConfig("workers: 2, env: { GREETING: 'v1' },"));
    const log = hooksLog(dir);
    const hostd = startHostd(dir);
    const url = await hostd.ready();
    const load = startLoad(`${url}/env`);
    await waitUntil(() => load.result.ok >= 100, '100 requests before the reload');

    writeFileSync(
      join(dir, 'hostd.config.ts'),
      recordingConfig("workers: 2, env: { GREETING: 'v2' }, post_worker_init: () => { throw new Error('cache warm-up failed'); },"),
    );
    hostd.signal('SIGHUP');
    await hostd.waitForOutput(/reload failed: worker \d of the new generation could not boot \(see above\); generation 1 keeps serving/);
    expect(hostd.output).toMatch(/worker \d failed to boot: hook post_worker_init \(from hostd\.config\.ts\) threw: Error: cache warm-up failed/);
    const after = load.result.ok;
    await waitUntil(() => load.result.ok >= after + 100, '100 requests after the failed reload');
    const result = await load.stop();

    expect(result.failures).toEqual([]);
    expect(new Set(result.bodies)).toEqual(new Set(['v1']));
    expect(records(log)).toContain('on_reload 2->2');
    expect((await hostd.stop()).code).toBe(0);
  });

  it('abandons a reload when on_reload throws', async () => {
    const dir = appProject(recordingConfig("workers: 1, env: { GREETING: 'v1' },"));
    const hostd = startHostd(dir);
    const url = await hostd.ready();
    writeFileSync(join(dir, 'hostd.config.ts'), recordingConfig("workers: 1, env: { GREETING: 'v2' }, on_reload: () => { throw new Error('not now'); },"));
    hostd.signal('SIGHUP');
    await hostd.waitForOutput(/reload abandoned, the old config and workers keep serving: hook on_reload \(from hostd\.config\.ts\) threw: Error: not now/);
    expect(await (await fetch(`${url}/env`)).text()).toBe('v1');
  });
});
