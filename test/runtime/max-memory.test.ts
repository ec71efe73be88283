/**
 * `max_memory`: a worker whose RSS stays above the limit is replaced, replacement first,
 * while a client keeps sending requests: none fails.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { appProject, recordingConfig } from '../helpers/apps.ts';
import { GATE_MODULE, release } from '../helpers/gates.ts';
import { type Hostd, hooksLog, records, startHostd, waitForRecord, waitUntil } from '../helpers/run.ts';

const APP = `export default async (req, res) => {
  // Touched pages count in RSS: Buffer.alloc fills them. 16 MiB at a time, yielding between,
  // so that a slow machine does not block the event loop past the heartbeat timeout.
  if (req.url === '/grow') {
    globalThis.kept = [];
    for (let i = 0; i < 16; i++) {
      globalThis.kept.push(Buffer.alloc(16 * 2 ** 20, 1));
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  res.end(String(process.pid));
};
`;

describe('max_memory', () => {
  let run: Hostd | undefined;
  afterEach(async () => {
    await run?.stop();
    run = undefined;
  });

  it('replaces a worker above the limit while a client polls it, with no failed request', async () => {
    const dir = appProject(recordingConfig('workers: 1, max_memory: 200, timeout: 4,'), { 'app.mjs': APP });
    run = startHostd(dir);
    const url = await run.ready();
    const first = Number(await (await fetch(url)).text());

    let failures = 0;
    let served = 0;
    let polling = true;
    const until = Date.now() + 30_000;
    const poll = (async () => {
      while (polling && Date.now() < until) {
        const ok = await fetch(url).then((r) => r.text().then(() => r.ok), () => false);
        if (ok) served++;
        else failures++;
      }
    })();
    expect(await (await fetch(`${url}/grow`)).text()).toBe(String(first));
    await run.waitForOutput(new RegExp(`worker 1 \\(pid ${first}\\) uses \\d+ MiB, above max_memory \\(200 MiB\\), for 3 heartbeats: replacing it`), 20_000);
    await waitUntil(() => records(hooksLog(dir)).some((l) => /^child_exit 1 max_memory/.test(l)), 'child_exit with reason max_memory', 20_000);
    const second = await waitUntil(async () => {
      const pid = Number(await (await fetch(url)).text());
      return pid !== first ? pid : null;
    }, 'the replacement to serve');
    polling = false;
    await poll;
    expect(second).not.toBe(first);
    expect(failures).toBe(0);
    expect(served).toBeGreaterThan(0);
    expect(records(hooksLog(dir))).toContain('worker_exit 1 max_memory');
  });

  // Issue 23, bug 2: the rule held outside reloads only.
  it('replaces a new worker above the limit while its reload is still under way', async () => {
    const grows = `export default ({ worker }) => async (req, res) => {
  if (req.url === '/grow' && worker.generation === 2) {
    globalThis.kept = [];
    for (let i = 0; i < 16; i++) {
      globalThis.kept.push(Buffer.alloc(16 * 2 ** 20, 1));
      await new Promise((resolve) => setImmediate(resolve));
    }
    return void res.end('grew ' + process.pid);
  }
  res.end('generation ' + worker.generation);
};
`;
    // The reload's second batch is held in post_worker_init: the reload stays under way.
    const config = recordingConfig(
      "workers: 2, max_memory: 150, timeout: 2, reload_batch: 1, post_worker_init: async ({ worker }) => { if (worker.generation === 2 && worker.id === 2) await gate('boot2'); },",
      "import { gate } from './gate.mjs';",
    );
    const dir = appProject(config, { 'app.mjs': grows, 'gate.mjs': GATE_MODULE });
    run = startHostd(dir);
    const url = await run.ready();
    run.signal('SIGHUP');
    await waitForRecord(hooksLog(dir), /^boot2 waiting$/);
    const grown = await waitUntil(async () => {
      const body = await (await fetch(`${url}/grow`, { headers: { connection: 'close' } })).text();
      return body.startsWith('grew ') ? body.slice(5) : null;
    }, 'a worker of generation 2 to grow');
    await run.waitForOutput(new RegExp(`worker 1 \\(pid ${grown}\\) uses \\d+ MiB, above max_memory \\(150 MiB\\), for 3 heartbeats: replacing it`), 20_000);
    expect(run.output).not.toContain('reloaded: generation 2 is serving');
    release(dir, 'boot2');
    await run.waitForOutput(/reloaded: generation 2 is serving/, 20_000);
    await waitUntil(() => records(hooksLog(dir)).some((l) => /^child_exit 1 max_memory/.test(l)), 'child_exit with reason max_memory', 20_000);
  });

  // Issue 23, bug 3: a replacement was retried at every heartbeat, whatever its failures.
  it('backs off a memory replacement that cannot boot, and calls it no recycle request', async () => {
    const config = recordingConfig("workers: 1, max_memory: 150, timeout: 2, post_fork: ({ worker }) => { if (worker.age > 1) throw new Error('no database'); },");
    const dir = appProject(config, { 'app.mjs': APP });
    run = startHostd(dir);
    const url = await run.ready();
    await fetch(`${url}/grow`);
    await run.waitForOutput(/worker 1: restarting in 400 ms/, 20_000);
    expect(run.output).toMatch(/worker 1: restarting in 100 ms[\s\S]*worker 1: restarting in 200 ms[\s\S]*worker 1: restarting in 400 ms/);
    expect(run.output).not.toContain('asked to be recycled');
    // The grown worker serves all along.
    expect((await fetch(url)).status).toBe(200);
  });

  it('says once that max_memory is below what the app uses from its start, and backs off', async () => {
    const big = `globalThis.kept = Array.from({ length: 12 }, () => Buffer.alloc(16 * 2 ** 20, 1));\nexport default (req, res) => res.end(String(process.pid));\n`;
    const dir = appProject(recordingConfig('workers: 1, max_memory: 100, timeout: 2,'), { 'app.mjs': big });
    run = startHostd(dir);
    await run.ready();
    await run.waitForOutput(/worker 1: restarting in 400 ms/, 20_000);
    const told = run.output.match(/max_memory \(100 MiB\) is below what this app uses from its start: worker 1 \(pid \d+\) was above it at every reading \(\d+ MiB\)/g);
    expect(told).toHaveLength(1);
  });
});
