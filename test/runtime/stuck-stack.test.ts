/**
 * A worker stuck in a busy loop is killed at `timeout`; the log and `child_exit` get the
 * JavaScript stack it was stuck in, recorded by its watchdog thread through the inspector.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { project } from '../helpers/project.ts';
import { type Hostd, startHostd, waitUntil } from '../helpers/run.ts';

const APP = `function spinForever() {
  let n = 0;
  for (;;) n++;
}
export default (req, res) => {
  if (req.url === '/spin') return spinForever();
  res.end(String(process.pid));
};
`;

const CONFIG = `import { appendFileSync } from 'node:fs';
import { defineConfig } from 'hostd';
export default defineConfig({
  app: './app.mjs',
  bind: '127.0.0.1:0',
  workers: 1,
  timeout: 2,
  child_exit: ({ reason, stack }) => appendFileSync(new URL('./exits.json', import.meta.url), JSON.stringify({ reason, stack }) + '\\n'),
});
`;

describe('a worker stuck past timeout', () => {
  let run: Hostd | undefined;
  afterEach(async () => {
    await run?.stop();
    run = undefined;
  });

  it('is killed with the stack it was stuck in, in the log and in child_exit', async () => {
    const dir = project({ 'app.mjs': APP, 'hostd.config.ts': CONFIG });
    run = startHostd(dir);
    const url = await run.ready();
    fetch(`${url}/spin`).catch(() => {});
    const exits = join(dir, 'exits.json');
    const [exit] = await waitUntil(() => {
      try {
        return readFileSync(exits, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { reason: string; stack: string | null });
      } catch {
        return null;
      }
    }, 'child_exit after the timeout', 20_000);
    expect(exit!.reason).toBe('timeout');
    expect(exit!.stack).toMatch(/^ {4}at spinForever \(.*app\.mjs:3:\d+\)/);
    expect(run.output).toMatch(/worker 1 \(pid \d+\) was stuck in:\n {4}at spinForever/);
    // Its replacement serves.
    await waitUntil(() => fetch(url).then((r) => r.ok, () => false), 'the replacement to serve');
  });

  it('passes a null stack for a worker that ended otherwise', async () => {
    const dir = project({ 'app.mjs': APP, 'hostd.config.ts': CONFIG });
    run = startHostd(dir);
    const url = await run.ready();
    const pid = Number(await (await fetch(url)).text());
    process.kill(pid, 'SIGKILL');
    const exit = await waitUntil(() => {
      try {
        return JSON.parse(readFileSync(join(dir, 'exits.json'), 'utf8').split('\n')[0]!) as { reason: string; stack: string | null };
      } catch {
        return null;
      }
    }, 'child_exit');
    expect(exit).toEqual({ reason: 'killed', stack: null });
  });
});
