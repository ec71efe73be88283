import { existsSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { appProject, recordingConfig } from '../helpers/apps.ts';
import { startLoad } from '../helpers/load.ts';
import { count, hooksLog, records, startHostd, waitForRecord, waitUntil, workerPids } from '../helpers/run.ts';

/** The pid each `post_fork` record names for worker `id`, in order. */
function forkedPids(lines: string[], id: number): number[] {
  return lines.flatMap((l) => {
    const m = new RegExp(`^post_fork ${id} pid=(\\d+)`).exec(l);
    return m ? [Number(m[1])] : [];
  });
}

describe('hostd run: supervision', () => {
  it('replaces a worker killed with SIGKILL, keeping its id, and reports it in child_exit', async () => {
    const dir = appProject(recordingConfig('workers: 2,'));
    const log = hooksLog(dir);
    const hostd = startHostd(dir);
    const url = await hostd.ready();
    const [victim] = forkedPids(records(log), 1);
    process.kill(victim!, 'SIGKILL');
    await waitForRecord(log, /^child_exit 1 killed code=null signal=SIGKILL/);
    await hostd.waitForOutput(new RegExp(`worker 1 \\(pid ${victim}\\) exited with signal SIGKILL \\(killed\\)`));
    await waitUntil(() => forkedPids(records(log), 1).length === 2, 'a new worker 1');
    expect(forkedPids(records(log), 1)[1]).not.toBe(victim);
    await waitUntil(() => workerPids(hostd.pid).length === 2 || undefined, 'two workers again');
    for (let i = 0; i < 4; i++) expect((await fetch(`${url}/`)).status).toBe(200);
  });

  it('kills and replaces a worker whose event loop is blocked for longer than timeout', async () => {
    const dir = appProject(recordingConfig('workers: 1, timeout: 1,'));
    const log = hooksLog(dir);
    const hostd = startHostd(dir);
    const url = await hostd.ready();
    const blocked = fetch(`${url}/block?ms=60000`).catch((error: Error) => error);
    await waitForRecord(log, /^child_exit 1 timeout code=null signal=SIGKILL/);
    await hostd.waitForOutput(/WORKER TIMEOUT: worker 1 \(pid \d+\) sent no heartbeat for 1 s; killing it/);
    expect(await blocked).toBeInstanceOf(Error);
    await waitUntil(() => forkedPids(records(log), 1).length === 2, 'a replacement worker 1');
    await waitForRecord(log, /^post_worker_init 1/);
    await waitUntil(async () => (await fetch(`${url}/`).catch(() => null))?.status === 200, 'the replacement to serve');
  });

  it('recycles a worker after max_requests, starting the replacement first, without failing a request', async () => {
    const dir = appProject(recordingConfig('workers: 1, max_requests: 20,'));
    const log = hooksLog(dir);
    const hostd = startHostd(dir);
    const url = await hostd.ready();
    const load = startLoad(`${url}/`, { concurrency: 4, maxMs: 20_000 });
    await waitUntil(() => count(records(log), /^child_exit 1 max_requests code=0/) >= 2, 'two recycles', 20_000);
    const result = await load.stop();
    expect(result.failures).toEqual([]);
    const lines = records(log);
    // Each worker_exit for max_requests comes after its replacement was booted.
    const firstExit = lines.findIndex((l) => l === 'worker_exit 1 max_requests');
    const replacementReady = lines.findIndex((l, i) => i > lines.findIndex((x) => x.startsWith('post_worker_init 1')) && l.startsWith('post_worker_init 1'));
    expect(replacementReady).toBeGreaterThan(0);
    expect(replacementReady).toBeLessThan(firstExit);
  });

  it('replaces a crashed worker', async () => {
    const dir = appProject(recordingConfig('workers: 1,'), {
      'app.mjs': "export default (req, res) => { if (req.url === '/crash') setImmediate(() => { throw new Error('boom'); }); res.end('ok'); };\n",
    });
    const log = hooksLog(dir);
    const hostd = startHostd(dir);
    const url = await hostd.ready();
    await fetch(`${url}/crash`);
    await waitForRecord(log, /^child_exit 1 crash code=1 signal=null/);
    await hostd.waitForOutput(/uncaught exception; exiting: Error: boom/);
    await waitUntil(() => forkedPids(records(log), 1).length === 2, 'a replacement worker 1');
    await waitUntil(async () => (await fetch(`${url}/`).catch(() => null))?.status === 200, 'the replacement to serve');
  });

  it('gives up with exit code 3, naming the cause, when workers never boot: after workers + 2 failures, each retried with backoff', async () => {
    const dir = appProject(
      recordingConfig(`workers: 1,
  post_fork: () => { throw new Error('database unreachable'); },
  pre_fork: [recorded.pre_fork, ({ worker }) => rec(\`at pre_fork \${worker.id} \${Date.now()}\`)],
  child_exit: [recorded.child_exit, ({ worker }) => rec(\`at child_exit \${worker.id} \${Date.now()}\`)],`),
    );
    const hostd = startHostd(dir);
    const exit = await hostd.exited;
    expect(exit.code).toBe(3);
    expect(hostd.output).toMatch(/workers cannot boot; the last cause: hook post_fork \(from hostd\.config\.ts\) threw: Error: database unreachable/);
    const lines = records(hooksLog(dir));
    expect(lines.at(-1)).toBe('on_exit 3 boot_error');
    // workers + 2 = 3 boots, each ending in child_exit with the boot error's code 3.
    expect(count(lines, /^pre_fork \d pid=null/)).toBe(3);
    expect(count(lines, /^child_exit \d boot_error code=3 signal=null$/)).toBe(3);
    // Each boot after a failure came at least the backoff after it: 100 ms after the first, 200 ms after the second.
    const times = (what: string) => lines.flatMap((l) => (l.startsWith(`at ${what} 1 `) ? [Number(l.split(' ')[3])] : []));
    const [, second, third] = times('pre_fork');
    const [firstExit, secondExit] = times('child_exit');
    expect(second! - firstExit!, `restarted ${second! - firstExit!} ms after its first failure`).toBeGreaterThanOrEqual(95);
    expect(third! - secondExit!, `restarted ${third! - secondExit!} ms after its second failure`).toBeGreaterThanOrEqual(195);
  });

  it('adds a worker on TTIN and retires one on TTOU (never below one)', async () => {
    const dir = appProject(recordingConfig('workers: 1,'));
    const log = hooksLog(dir);
    const hostd = startHostd(dir);
    await hostd.ready();
    hostd.signal('SIGTTIN');
    await waitForRecord(log, /^post_worker_init 2/);
    expect(records(log)).toContain('nworkers_changed 1->2');
    hostd.signal('SIGTTOU');
    await waitForRecord(log, /^child_exit 2 shutdown code=0/);
    expect(records(log)).toContain('nworkers_changed 2->1');
    hostd.signal('SIGTTOU');
    await hostd.waitForOutput(/already at 1 worker; TTOU ignored/);
    expect(workerPids(hostd.pid)).toHaveLength(1);
  });

  it('writes the pidfile after binding and removes it at exit', async () => {
    const dir = appProject(recordingConfig("pidfile: './run/hostd.pid',"), { 'run/.keep': '' });
    const pidfile = join(dir, 'run', 'hostd.pid');
    const hostd = startHostd(dir);
    await hostd.url();
    await waitUntil(() => existsSync(pidfile), 'the pidfile');
    expect(readFileSync(pidfile, 'utf8')).toBe(`${hostd.pid}\n`);
    await hostd.ready();
    expect((await hostd.stop()).code).toBe(0);
    expect(existsSync(pidfile)).toBe(false);
  });

  it('reopens log files on USR1', async () => {
    const dir = appProject(recordingConfig("workers: 1, errorlog: './error.log', accesslog: './access.log',"));
    const hostd = startHostd(dir);
    await waitUntil(() => existsSync(join(dir, 'error.log')) && /hostd is ready/.test(readFileSync(join(dir, 'error.log'), 'utf8')), 'ready in error.log');
    const url = /Listening at: (\S+)/.exec(readFileSync(join(dir, 'error.log'), 'utf8'))![1]!;
    renameSync(join(dir, 'error.log'), join(dir, 'error.log.1'));
    renameSync(join(dir, 'access.log'), join(dir, 'access.log.1'));
    hostd.signal('SIGUSR1');
    await waitUntil(() => existsSync(join(dir, 'error.log')), 'a new error.log');
    await fetch(`${url}/after-rotation`);
    await waitUntil(() => existsSync(join(dir, 'access.log')) && readFileSync(join(dir, 'access.log'), 'utf8').includes('GET /after-rotation HTTP/1.1" 200'), 'the request in the new access.log');
    expect(readFileSync(join(dir, 'error.log.1'), 'utf8')).toMatch(/Handling signal: usr1/);
    expect(readFileSync(join(dir, 'error.log'), 'utf8')).toMatch(/reopened the log files/);
  });

  it('stops fast on SIGINT: worker_int, no drain, exit hooks still run', async () => {
    const dir = appProject(recordingConfig('workers: 1,'));
    const log = hooksLog(dir);
    const hostd = startHostd(dir);
    const url = await hostd.ready();
    const slow = fetch(`${url}/slow?ms=5000`).catch((error: Error) => error);
    await waitForRecord(log, /^pre_request 1 \/slow/);
    expect((await hostd.stop('SIGINT')).code).toBe(0);
    expect(await slow).toBeInstanceOf(Error);
    const lines = records(log);
    const tail = lines.slice(lines.indexOf('worker_int 1'));
    expect(tail.filter((l) => !l.startsWith('post_request'))).toEqual(['worker_int 1', 'worker_exit 1 shutdown', 'child_exit 1 shutdown code=0 signal=null', 'on_exit 0 shutdown']);
  });

  it('escalates to a fast stop on a second SIGTERM', async () => {
    const dir = appProject(recordingConfig('workers: 1, graceful_timeout: 60,'));
    const log = hooksLog(dir);
    const hostd = startHostd(dir);
    const url = await hostd.ready();
    const slow = fetch(`${url}/slow?ms=30000`).catch((error: Error) => error);
    await waitForRecord(log, /^pre_request 1 \/slow/);
    hostd.signal('SIGTERM');
    await hostd.waitForOutput(/worker 1 stopping \(shutdown\)/);
    expect((await hostd.stop('SIGTERM')).code).toBe(0);
    expect(await slow).toBeInstanceOf(Error);
    expect(records(log).at(-1)).toBe('on_exit 0 shutdown');
  });
});
