/**
 * docs/guarantees.md, `post_request`: a stopping worker waits for running `post_request` calls
 * (and async `host.on('request')` handlers), for at most `hook_timeout`, before
 * `host.on('shutdown')` and `worker_exit`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { appProject, recordingConfig } from '../helpers/apps.ts';
import { type Hostd, hooksLog, records, startHostd, waitForRecord } from '../helpers/run.ts';

describe('a stop and the post_request calls still running', () => {
  let run: Hostd | undefined;
  afterEach(async () => {
    await run?.stop();
    run = undefined;
  });

  it('waits for one that finishes within hook_timeout: it ends before worker_exit', async () => {
    const dir = appProject(recordingConfig("workers: 1, hook_timeout: 30, post_request: async () => { rec('post_request start'); await new Promise((r) => setTimeout(r, 400)); rec('post_request done'); },"));
    run = startHostd(dir);
    const url = await run.ready();
    await (await fetch(url)).text();
    await waitForRecord(hooksLog(dir), /^post_request start$/);
    run.signal('SIGTERM');
    expect((await run.exited).code).toBe(0);
    const lines = records(hooksLog(dir));
    expect(lines.indexOf('post_request done')).toBeGreaterThan(-1);
    expect(lines.indexOf('post_request done')).toBeLessThan(lines.findIndex((l) => l.startsWith('worker_exit')));
  });

  it('stops waiting for one that never settles at hook_timeout: worker_exit still runs', async () => {
    const dir = appProject(recordingConfig("workers: 1, hook_timeout: 1, post_request: async () => { rec('post_request start'); await new Promise(() => {}); },"));
    run = startHostd(dir);
    const url = await run.ready();
    await (await fetch(url)).text();
    await waitForRecord(hooksLog(dir), /^post_request start$/);
    run.signal('SIGTERM');
    expect((await run.exited).code).toBe(0);
    const lines = records(hooksLog(dir));
    expect(lines.some((l) => l.startsWith('worker_exit 1 shutdown'))).toBe(true);
    expect(lines.at(-1)).toBe('on_exit 0 shutdown');
  });
});
