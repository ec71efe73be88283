import { request, Agent } from 'node:http';
import { readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { native } from '../../src/runtime/native.ts';
import { CLI } from '../helpers/cli.ts';
import { appProject, recordingConfig } from '../helpers/apps.ts';
import { count, expectBefore, hooksLog, processTitle, records, startHostd, waitForRecord, waitUntil, workerPids } from '../helpers/run.ts';

describe('hostd run: the lifecycle', () => {
  it('runs every hook at its phase, in the SPEC order, from on_starting to on_exit', async () => {
    const dir = appProject(recordingConfig('workers: 2,'));
    const log = hooksLog(dir);
    const hostd = startHostd(dir);
    const url = await hostd.ready();
    for (let i = 0; i < 4; i++) expect(await (await fetch(`${url}/`)).text()).toBe('hello');
    await waitUntil(() => count(records(log), /^post_request/) === 4, '4 post_request records');
    const exit = await hostd.stop('SIGTERM');
    expect(exit).toEqual({ code: 0, signal: null });

    const lines = records(log);
    expect(lines[0]).toBe('on_starting');
    expect(lines.at(-1)).toBe('on_exit 0 shutdown');
    for (const once of [/^on_starting$/, /^when_ready/, /^on_exit/]) expect(count(lines, once)).toBe(1);
    expect(lines).toContain('when_ready 1,2');
    for (const id of [1, 2]) {
      expectBefore(lines, /^on_starting/, new RegExp(`^pre_fork ${id} pid=null gen=1`));
      expectBefore(lines, new RegExp(`^pre_fork ${id}`), new RegExp(`^post_fork ${id} pid=\\d+`));
      expectBefore(lines, new RegExp(`^post_fork ${id}`), new RegExp(`^post_worker_init ${id} app=function`));
      expectBefore(lines, new RegExp(`^post_worker_init ${id}`), /^when_ready/);
      expectBefore(lines, new RegExp(`^worker_exit ${id} shutdown`), new RegExp(`^child_exit ${id} shutdown code=0 signal=null`));
      expectBefore(lines, new RegExp(`^child_exit ${id}`), /^on_exit/);
    }
    expectBefore(lines, /^when_ready/, /^pre_request/);
    const lastRequest = lines.findLastIndex((l) => l.startsWith('post_request'));
    expect(lastRequest).toBeLessThan(lines.findIndex((l) => l.startsWith('worker_exit')));
    expect(count(lines, /^post_request \d \/ 200 aborted=false error=null/)).toBe(4);
  });

  it('finishes an in-flight request on SIGTERM, refuses new connections, then exits 0', async () => {
    const dir = appProject(recordingConfig('workers: 1,'));
    const log = hooksLog(dir);
    const hostd = startHostd(dir);
    const url = await hostd.ready();
    const slow = fetch(`${url}/slow?ms=1000`);
    await waitForRecord(log, /^pre_request 1 \/slow/);
    hostd.signal('SIGTERM');
    await hostd.waitForOutput(/hostd stopping \(shutdown\)/);
    await expect(fetch(`${url}/`)).rejects.toThrow();

    const response = await slow;
    expect(response.status).toBe(200);
    expect(response.headers.get('connection')).toBe('close');
    expect(await response.text()).toBe('slow done');
    expect((await hostd.exited).code).toBe(0);
    const lines = records(log);
    expectBefore(lines, /^post_request 1 \/slow\S* 200 aborted=false/, /^worker_exit 1 shutdown/);
  });

  // Issue 27, item 2: a signal hostd does not use must not end the primary with no drain, no logs, no on_exit.
  for (const signal of ['SIGALRM', 'SIGPWR', 'SIGXCPU'] as const) {
    it(`stops gracefully on ${signal}, which would end a Node process at once: the request in flight finishes, on_exit runs`, async () => {
      const dir = appProject(recordingConfig('workers: 1,'));
      const log = hooksLog(dir);
      const hostd = startHostd(dir);
      const url = await hostd.ready();
      const slow = fetch(`${url}/slow?ms=500`);
      await waitForRecord(log, /^pre_request 1 \/slow/);
      hostd.signal(signal);
      expect(await (await slow).text()).toBe('slow done');
      expect(await hostd.exited).toEqual({ code: 0, signal: null });
      expect(hostd.output).toContain(`Handling signal: ${signal.slice(3).toLowerCase()}, which hostd does not use: stopping gracefully, as on TERM`);
      const lines = records(log);
      expectBefore(lines, /^post_request 1 \/slow\S* 200 aborted=false/, /^worker_exit 1 shutdown/);
      expect(lines.at(-1)).toBe('on_exit 0 shutdown');
    });
  }

  it('closes keep-alive connections during a drain without resetting one (and without waiting out keepalive)', async () => {
    // keepalive is long: a worker that waited for idle connections to time out would not exit within the test.
    const dir = appProject(recordingConfig('workers: 1, keepalive: 120, headers_timeout: 125,'));
    const hostd = startHostd(dir);
    const url = new URL(await hostd.ready());
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const get = (path: string) =>
      new Promise<{ status: number; connection: string | undefined; body: string; reused: boolean }>((resolve, reject) => {
        const req = request({ host: url.hostname, port: url.port, path, agent }, (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode!, connection: res.headers.connection, body, reused: req.reusedSocket }));
        });
        req.on('error', reject);
        req.end();
      });
    const first = await get('/');
    expect(first.connection).toBe('keep-alive');
    // The slow request reuses the same kept-alive socket; TERM arrives while it runs.
    const slow = get('/slow?ms=800');
    await waitForRecord(hooksLog(dir), /^pre_request 1 \/slow/);
    hostd.signal('SIGTERM');
    const answer = await slow;
    expect(answer).toMatchObject({ status: 200, body: 'slow done', connection: 'close', reused: true });
    expect((await hostd.exited).code).toBe(0);
    agent.destroy();
  });

  it('closes a keep-alive connection that is idle when the drain starts', async () => {
    const dir = appProject(recordingConfig('workers: 1, keepalive: 120, headers_timeout: 125,'));
    const hostd = startHostd(dir);
    const url = new URL(await hostd.ready());
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const closed = new Promise<void>((resolve) => {
      const req = request({ host: url.hostname, port: url.port, path: '/', agent }, (res) => {
        res.resume();
        res.on('end', () => req.socket!.once('close', () => resolve()));
      });
      req.end();
    });
    await waitForRecord(hooksLog(dir), /^post_request 1 \/ 200/);
    hostd.signal('SIGTERM');
    await closed;
    expect((await hostd.exited).code).toBe(0);
    agent.destroy();
  });

  it('cuts and reports a request still running at graceful_timeout', async () => {
    const dir = appProject(recordingConfig('workers: 1, graceful_timeout: 1,'));
    const hostd = startHostd(dir);
    const url = await hostd.ready();
    const slow = fetch(`${url}/slow?ms=20000`).then((r) => r.text()).catch((error: Error) => error);
    await waitForRecord(hooksLog(dir), /^pre_request 1 \/slow/);
    expect((await hostd.stop('SIGTERM')).code).toBe(0);
    expect(await slow).toBeInstanceOf(Error);
    expect(hostd.output).toMatch(/worker 1: 1 connection\(s\) still open after graceful_timeout \(1 s\); closed/);
    expect(records(hooksLog(dir)).slice(-3)).toEqual(['worker_exit 1 shutdown', 'child_exit 1 shutdown code=0 signal=null', 'on_exit 0 shutdown']);
  });

  it('kills and reports a worker that cannot stop (its event loop is blocked)', async () => {
    const dir = appProject(recordingConfig('workers: 1, graceful_timeout: 1, hook_timeout: 1, timeout: 0,'));
    const hostd = startHostd(dir);
    const url = await hostd.ready();
    void fetch(`${url}/block?ms=60000`).catch(() => {});
    await waitForRecord(hooksLog(dir), /^pre_request 1 \/block/);
    const signalled = Date.now();
    hostd.signal('SIGTERM');
    await hostd.waitForOutput(/did not exit within its stop plan/, 15_000);
    // The plan: graceful_timeout 1 s + the post_request wait 1 s + worker_exit 1 s, then 1 s of grace.
    const elapsed = Date.now() - signalled;
    expect(elapsed).toBeGreaterThanOrEqual(3900);
    expect(elapsed).toBeLessThan(5500);
    expect((await hostd.exited).code).toBe(0);
    expect(hostd.output).toMatch(/worker 1 \(pid \d+\) did not exit within its stop plan \(4(\.\d)? s; last seen serving\); killing it/);
    expect(records(hooksLog(dir)).slice(-2)).toEqual(['child_exit 1 killed code=null signal=SIGKILL', 'on_exit 0 shutdown']);
  });

  it('names its processes and keeps worker ids 1..N', async () => {
    const dir = appProject(recordingConfig("workers: 2, proc_name: 'titled',"));
    const hostd = startHostd(dir);
    await hostd.ready();
    // /proc/PID/cmdline is what `ps` shows.
    expect(processTitle(hostd.pid)).toBe('hostd primary [titled]');
    const titles = workerPids(hostd.pid).map(processTitle).sort();
    expect(titles).toEqual(['hostd worker 1 [titled]', 'hostd worker 2 [titled]']);
  });

  it.skipIf(native() === null)('sets the kernel process name too (top, ps -e), with the native helper', async () => {
    const hostd = startHostd(appProject(recordingConfig("workers: 2, proc_name: 'titled',")));
    await hostd.ready();
    const comm = (pid: number) => readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    expect(comm(hostd.pid)).toBe('hostd primary');
    expect(workerPids(hostd.pid).map(comm).sort()).toEqual(['hostd worker 1', 'hostd worker 2']);
  });

  it('keeps the titles readable after a short launch command: the name is left out rather than cut', async () => {
    const dir = appProject(recordingConfig("proc_name: 'titled',"));
    symlinkSync(CLI, join(dir, 'c.js'));
    // `node c.js run` leaves 15 bytes for the title: "hostd primary [titled]" cannot fit.
    const hostd = startHostd(dir, [], { prefix: ['bash', '-c', 'exec -a node "$1" c.js run', 'bash'] });
    await hostd.ready();
    expect(processTitle(hostd.pid)).toBe('hostd primary');
    expect(workerPids(hostd.pid).map(processTitle)).toEqual(['hostd worker 1 [titled]']);
  });

  it('titles the processes with the default proc_name without repeating it', async () => {
    const hostd = startHostd(appProject(recordingConfig()));
    await hostd.ready();
    expect(processTitle(hostd.pid)).toBe('hostd primary');
    expect(workerPids(hostd.pid).map(processTitle)).toEqual(['hostd worker 1']);
  });
});
