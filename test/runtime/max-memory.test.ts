/**
 * `max_memory`: a worker whose RSS stays above the limit is replaced, replacement first,
 * while a client keeps sending requests: none fails.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { appProject, recordingConfig } from '../helpers/apps.ts';
import { type Hostd, hooksLog, records, startHostd, waitUntil } from '../helpers/run.ts';

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
});
