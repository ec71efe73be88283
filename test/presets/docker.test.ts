import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { resolvedSettings } from '../helpers/cli.ts';
import { project } from '../helpers/project.ts';
import { RECORD_MODULE, hooksLog, records, startHostd, waitUntil, workerPids } from '../helpers/run.ts';

/**
 * `/orphan` starts a grandchild (sleep 0.3, detached), answers with its pid, then kills its
 * own worker: the grandchild is orphaned and, once it exits, must be reaped by hostd or it
 * stays a zombie. `/state?pid=N` reads /proc as the worker sees it: Z (zombie), gone, or alive.
 */
const APP = `import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
export default (req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname === '/orphan') {
    const child = spawn('sleep', [url.searchParams.get('seconds') ?? '0.3'], { detached: true, stdio: 'ignore' });
    child.unref();
    res.end(String(child.pid), () => setTimeout(() => process.kill(process.pid, 'SIGKILL'), 50));
    return;
  }
  if (url.pathname === '/state') {
    let state = 'gone';
    try { const stat = readFileSync('/proc/' + url.searchParams.get('pid') + '/stat', 'utf8'); state = stat[stat.lastIndexOf(')') + 2]; } catch {}
    return void res.end(state);
  }
  res.end('pid ' + process.pid);
};
`;

const CONFIG = `import { defineConfig } from 'hostd';
import docker from 'hostd/presets/docker';
import { recorded } from './record.ts';
export default defineConfig({ extends: [docker()], app: './app.mjs', bind: '127.0.0.1:0', ...recorded });
`;

/** Runs hostd as PID 1 of a new PID namespace (as in a container), without root. */
const AS_PID_1 = ['unshare', '--user', '--map-root-user', '--fork', '--pid', '--mount-proc'];

async function orphanIsReaped(url: string): Promise<void> {
  const pid = await (await fetch(`${url}/orphan`)).text();
  // The worker that made the orphan is gone; a replacement answers /state (with the same /proc).
  await waitUntil(async () => (await fetch(`${url}/state?pid=${pid}`).then((r) => r.text()).catch(() => null)) === 'gone', `orphan ${pid} to be reaped`, 15_000);
}

describe('hostd/presets/docker', () => {
  it('binds $PORT on every interface and logs to stdout and stderr', async () => {
    const dir = project({ 'app.mjs': APP, 'hostd.config.ts': "import docker from 'hostd/presets/docker';\nexport default { extends: [docker()], app: './app.mjs' };\n" });
    const s = await resolvedSettings(dir, { PORT: '7311' });
    expect(s.bind).toEqual(['0.0.0.0:7311']);
    expect(s.accesslog).toBe('-');
    expect(s.errorlog).toBe('-');
  });

  it('as PID 1: honours SIGTERM (every hook runs, exit 0) and reaps orphaned processes', async () => {
    const dir = project({ 'record.ts': RECORD_MODULE, 'app.mjs': APP, 'hostd.config.ts': CONFIG });
    const run = startHostd(dir, [], { prefix: AS_PID_1 });
    const url = await run.ready();
    // The primary's pid inside its namespace is 1: the app's worker sees its parent as 1.
    const [primary] = workerPids(run.pid);
    expect(readFileSync(`/proc/${primary}/status`, 'utf8')).toMatch(/^NSpid:\s+\d+\s+1$/m);
    await orphanIsReaped(url);

    process.kill(primary!, 'SIGTERM');
    expect((await run.exited).code).toBe(0);
    const lines = records(hooksLog(dir));
    expect(lines.filter((l) => /^worker_exit 1 shutdown$/.test(l))).toHaveLength(1);
    expect(lines.at(-1)).toBe('on_exit 0 shutdown');
  });

  it('adopts and reaps orphans of its workers when it is not PID 1 too (it is their subreaper)', async () => {
    const dir = project({ 'record.ts': RECORD_MODULE, 'app.mjs': APP, 'hostd.config.ts': CONFIG });
    const run = startHostd(dir);
    const url = await run.ready();
    const pid = await (await fetch(`${url}/orphan?seconds=2`)).text();
    // Without the subreaper, the orphan would go to the system's init instead of to hostd.
    const parent = () => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
    await waitUntil(() => parent() === run.pid, `orphan ${pid} to be adopted by the primary ${run.pid}`);
    await waitUntil(async () => (await fetch(`${url}/state?pid=${pid}`).then((r) => r.text()).catch(() => null)) === 'gone', `orphan ${pid} to be reaped`, 15_000);
    expect((await run.stop()).code).toBe(0);
  });
});

describe('hostd/presets/docker: stop timeout', () => {
  it("fits the whole stop into the stop timeout it was given", async () => {
    const { PLATFORM_MARGIN_SECONDS, PRESET_SHAPE, stopPlan } = await import('../../src/config/stop-plan.ts');
    for (const [options, window] of [['', 30], ['{ stop_timeout: 60 }', 60]] as const) {
      const dir = project({ 'app.mjs': APP, 'hostd.config.ts': `import docker from 'hostd/presets/docker';\nexport default { extends: [docker(${options})], app: './app.mjs' };\n` });
      const s = (await resolvedSettings(dir)) as unknown as Parameters<typeof stopPlan>[0];
      expect(stopPlan(s, PRESET_SHAPE, 'graceful').total).toBeLessThanOrEqual(window - PLATFORM_MARGIN_SECONDS);
    }
  });
});
