/**
 * The upgrade (issue 27): SIGUSR2 or `hostd upgrade` starts a new primary on the same
 * sockets; once it serves, the old one stops as on SIGTERM. Under keep-alive and
 * connection-per-request load no request fails; the pidfile, the control socket and systemd
 * follow the new primary; a new primary that cannot serve leaves the old one serving.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { native } from '../../src/runtime/native.ts';
import { CLI, cleanEnv, type CliRun, hostd, startCli } from '../helpers/cli.ts';
import { GATE_MODULE, probe, release } from '../helpers/gates.ts';
import { startLoad } from '../helpers/load.ts';
import { alive } from '../helpers/proc.ts';
import { project, tempDir } from '../helpers/project.ts';
import { type Hostd, records, startHostd, waitForRecord, waitUntil, workerPids } from '../helpers/run.ts';

const APP = "export default (req, res) => res.end('served by primary ' + process.ppid);\n";

/** A config recording each primary's on_exit and each worker's worker_exit, with a pidfile and a control socket of its own. */
function config(settings = '', head = ''): string {
  return `import { appendFileSync, existsSync } from 'node:fs';
${head}
const rec = (line) => appendFileSync(new URL('./hooks.log', import.meta.url), line + '\\n');
export default {
  app: './app.mjs',
  workers: 2,
  pidfile: './hostd.pid',
  control_socket: './control.sock',
  worker_exit: ({ worker, reason }) => rec('worker_exit ' + worker.pid + ' ' + reason),
  on_exit: ({ reason, exit_code }) => rec('on_exit ' + process.pid + ' ' + reason + ' ' + exit_code),
  ${settings}
};
`;
}

/** The pid a primary wrote to the pidfile. */
const pidfile = (dir: string) => Number(readFileSync(join(dir, 'hostd.pid'), 'utf8'));

/** Connection-per-request load (each request a connection of its own) until stopped; the failures. */
function perConnection(url: string): { stop(): Promise<{ ok: number; failures: string[] }> } {
  let running = true;
  const result = { ok: 0, failures: [] as string[] };
  const until = Date.now() + 30_000;
  const loops = Array.from({ length: 4 }, async () => {
    while (running && Date.now() < until) {
      const body = await probe(url, '/', 10_000);
      if (body.startsWith('served by primary ')) result.ok++;
      else result.failures.push(body);
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      return result;
    },
  };
}

describe('the upgrade', () => {
  const started: number[] = [];
  const commands: CliRun[] = [];
  /** Primaries a test started itself, each in a process group of its own. */
  const groups: ChildProcess[] = [];
  let run: Hostd | undefined;

  /**
   * `primary` (hostd serving the project at `dir`) once ready, then `hold` written and `hostd upgrade` asked:
   * once the new primary recorded `held(its pid)`.
   */
  const upgradeHeld = async (primary: Hostd, dir: string, held: (pid: number) => RegExp) => {
    const url = await primary.ready();
    await waitUntil(() => existsSync(join(dir, 'control.sock')), 'the control socket');
    writeFileSync(join(dir, 'hold'), '');
    const upgrade = startCli(['upgrade'], { cwd: dir });
    commands.push(upgrade);
    const next = Number((await primary.waitForOutput(/upgrade: the new primary has pid (\d+)/))[1]);
    started.push(next);
    await waitForRecord(join(dir, 'hooks.log'), held(next));
    return { url, upgrade, next };
  };
  afterEach(async () => {
    for (const command of commands.splice(0)) command.child.kill('SIGKILL');
    for (const child of groups.splice(0)) {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {}
    }
    // The new primaries are in the test's process group, which run.kill() ends; a successor may outlive it otherwise.
    for (const pid of started.splice(0)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
    await run?.kill();
    run = undefined;
  });

  it('USR2 under keep-alive and connection-per-request load: no request fails, the pidfile and the control socket follow, the old primary drains and exits with reason upgrade', async () => {
    const dir = project({ 'app.mjs': APP, 'hostd.config.mjs': config("bind: '127.0.0.1:0',") });
    run = startHostd(dir);
    const url = await run.ready();
    const old = run.pid;
    const oldWorkers = workerPids(old).sort();
    await waitUntil(() => existsSync(join(dir, 'control.sock')), 'the control socket');
    const keptAlive = startLoad(url, { concurrency: 4, maxMs: 30_000 });
    const fresh = perConnection(url);
    await waitUntil(() => keptAlive.result.ok > 50, 'the load to run');
    run.signal('SIGUSR2');
    const [, successor] = (await run.waitForOutput(/upgraded: the new primary \(pid (\d+)\) serves; this one stops/, 30_000)) as RegExpMatchArray;
    const next = Number(successor);
    started.push(next);
    expect(await run.exited).toEqual({ code: 0, signal: null });
    // Requests after the old primary is gone: all to the new one.
    const okAfter = keptAlive.result.ok;
    await waitUntil(() => keptAlive.result.ok > okAfter + 50, 'requests after the hand-over');
    const [kept, each] = await Promise.all([keptAlive.stop(), fresh.stop()]);
    expect(kept.failures).toEqual([]);
    expect(each.failures).toEqual([]);
    expect(kept.bodies.at(-1)).toBe(`served by primary ${next}`);
    expect(pidfile(dir)).toBe(next);
    const status = JSON.parse((await hostd(['status', '--json'], { cwd: dir })).stdout) as { pid: number; upgraded_from: { pid: number } };
    expect(status.pid).toBe(next);
    expect(status.upgraded_from.pid).toBe(old);
    const lines = records(join(dir, 'hooks.log'));
    expect(lines).toContain(`on_exit ${old} upgrade 0`);
    for (const pid of oldWorkers) expect(lines).toContain(`worker_exit ${pid} shutdown`);
    // The new primary stops as any does; its pidfile and socket go with it.
    process.kill(next, 'SIGTERM');
    await waitUntil(() => !alive(next), 'the new primary to stop');
    expect(records(join(dir, 'hooks.log'))).toContain(`on_exit ${next} shutdown 0`);
    expect(existsSync(join(dir, 'hostd.pid'))).toBe(false);
    expect(existsSync(join(dir, 'control.sock'))).toBe(false);
  });

  it('hostd upgrade waits for the new primary and says which it is; a second upgrade upgrades the upgraded one', async () => {
    const dir = project({ 'app.mjs': APP, 'hostd.config.mjs': config("bind: '127.0.0.1:0',") });
    run = startHostd(dir);
    const url = await run.ready();
    await waitUntil(() => existsSync(join(dir, 'control.sock')), 'the control socket');
    const first = await hostd(['upgrade'], { cwd: dir, timeoutMs: 30_000 });
    expect(first.code).toBe(0);
    const next = Number(/^upgraded: the new primary \(pid (\d+)\) serves; the old one stops\n$/.exec(first.stdout)?.[1]);
    started.push(next);
    await run.exited;
    const second = await hostd(['upgrade'], { cwd: dir, timeoutMs: 30_000 });
    expect(second.code).toBe(0);
    const third = Number(/\(pid (\d+)\)/.exec(second.stdout)?.[1]);
    started.push(third);
    await waitUntil(() => !alive(next), 'the second primary to stop');
    expect(await (await fetch(url)).text()).toBe(`served by primary ${third}`);
    expect(pidfile(dir)).toBe(third);
  });

  it('with no limit on its start (hook_timeout: 0), the new primary is given all the time it takes, not stopped at once', async () => {
    const dir = project({ 'app.mjs': APP, 'hostd.config.mjs': config("bind: '127.0.0.1:0', hook_timeout: 0,") });
    run = startHostd(dir);
    const url = await run.ready();
    await waitUntil(() => existsSync(join(dir, 'control.sock')), 'the control socket');
    const answer = await hostd(['upgrade'], { cwd: dir, timeoutMs: 30_000 });
    expect(answer.code, answer.stderr).toBe(0);
    const next = Number(/\(pid (\d+)\)/.exec(answer.stdout)?.[1]);
    started.push(next);
    await run.exited;
    expect(await (await fetch(url)).text()).toBe(`served by primary ${next}`);
  });

  for (const [what, breakIt, why] of [
    ['an invalid config', (dir: string) => writeFileSync(join(dir, 'hostd.config.mjs'), config("bind: '127.0.0.1:0', workers: 0,")), /upgrade failed: the new primary exited with code 1 before it served/],
    ['an app that cannot load', (dir: string) => writeFileSync(join(dir, 'app.mjs'), "throw new Error('broken release');\n"), /upgrade failed: the new primary exited with code 3 before it served/],
  ] as const) {
    it(`a new primary with ${what} exits; the old one says why and keeps serving`, async () => {
      const dir = project({ 'app.mjs': APP, 'hostd.config.mjs': config("bind: '127.0.0.1:0',") });
      run = startHostd(dir);
      const url = await run.ready();
      await waitUntil(() => existsSync(join(dir, 'control.sock')), 'the control socket');
      breakIt(dir);
      const answer = await hostd(['upgrade'], { cwd: dir, timeoutMs: 60_000 });
      expect(answer.code).toBe(1);
      expect(answer.stderr).toMatch(/^hostd: upgrade failed: the new primary exited with code \d before it served \(its log says why\); the running primary keeps serving\n$/);
      expect(run.output).toMatch(why);
      expect(await (await fetch(url)).text()).toBe(`served by primary ${run.pid}`);
      expect(pidfile(dir)).toBe(run.pid);
      expect(JSON.parse((await hostd(['status', '--json'], { cwd: dir })).stdout).pid).toBe(run.pid);
    });
  }

  it('the new primary takes the pidfile only once the old one took it on: not while the old one cannot answer', async () => {
    const dir = project({ 'app.mjs': APP, 'hostd.config.mjs': config("bind: '127.0.0.1:0',") });
    run = startHostd(dir);
    await run.ready();
    run.signal('SIGUSR2');
    const next = Number((await run.waitForOutput(/upgrade: the new primary has pid (\d+)/))[1]);
    started.push(next);
    // The old primary paused (it could as well have given up on the new one): the new one serves, and waits.
    process.kill(run.pid, 'SIGSTOP');
    try {
      await run.waitForOutput(new RegExp(`\\[${next}\\] \\[INFO\\] hostd is ready`), 20_000);
      expect(pidfile(dir)).toBe(run.pid);
    } finally {
      process.kill(run.pid, 'SIGCONT');
    }
    await run.exited;
    await waitUntil(() => existsSync(join(dir, 'hostd.pid')) && pidfile(dir) === next, 'the pidfile to name the new primary');
  });

  // ---- the limit within which the new primary must serve ----

  /**
   * Its limit, as the old primary counts it from these settings (config_timeout from the environment, which the new
   * primary inherits): config_timeout 2 s + on_starting 1 × 0.5 s + 3 boots (1 worker + 2 failures) × (backoff 10 s + boot_timeout 2 s) = 38.5 s.
   * Once the test writes `hold`, a primary's on_starting (the new one's: the old one started before) blocks its event
   * loop, where hook_timeout cannot end it, until the test writes `go`.
   */
  const LIMIT_S = 38.5;
  const BLOCKED = `bind: '127.0.0.1:0', workers: 1, hook_timeout: 0.5, boot_timeout: 2,
  on_starting: () => {
    if (!existsSync(new URL('./hold', import.meta.url))) return;
    rec('on_starting blocked ' + process.pid);
    const nap = new Int32Array(new SharedArrayBuffer(4));
    while (!existsSync(new URL('./go', import.meta.url))) Atomics.wait(nap, 0, 0, 20);
  },`;

  it('a new primary not serving within its limit is stopped: hostd upgrade fails saying so, and the old one keeps serving', async () => {
    const dir = project({ 'app.mjs': APP, 'hostd.config.mjs': config(BLOCKED) });
    run = startHostd(dir, [], { env: { HOSTD_CONFIG_TIMEOUT: '2' } });
    const { url, upgrade, next } = await upgradeHeld(run, dir, (pid) => new RegExp(`^on_starting blocked ${pid}$`));
    const answer = await upgrade.result;
    expect(answer.code).toBe(1);
    const why = `the new primary was not serving within ${LIMIT_S} s, the longest its start can take; it was stopped`;
    expect(answer.stderr).toMatch(new RegExp(`hostd: upgrade failed: ${why}; the running primary keeps serving\n$`));
    expect(run.output).toContain(`upgrade failed: ${why}; this primary keeps serving`);
    expect(await (await fetch(url)).text()).toBe(`served by primary ${run.pid}`);
    expect(pidfile(dir)).toBe(run.pid);
    // Until the one given up has exited, another upgrade is refused, naming it.
    const again = await hostd(['upgrade'], { cwd: dir, timeoutMs: 30_000 });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`the new primary of the last upgrade (pid ${next}) has not exited yet`);
    // Told to stop while blocked: it stops as on TERM once its event loop runs again.
    writeFileSync(join(dir, 'go'), '');
    await waitForRecord(join(dir, 'hooks.log'), new RegExp(`^on_exit ${next} shutdown 0$`));
    await waitUntil(() => !alive(next), 'the new primary to exit');
    expect(await (await fetch(url)).text()).toBe(`served by primary ${run.pid}`);
    expect(pidfile(dir)).toBe(run.pid);
  }, 120_000);

  it('a stop during an upgrade whose new primary never exits: the new one is killed once the old one\'s own stop plan has passed, and the old one exits', async () => {
    // The old primary's graceful stop: drain 1 s + post_request wait 0.5 s + shutdown 0.5 s + worker_exit 0.5 s + kill grace 1 s + on_exit 0.5 s = 4 s.
    const dir = project({ 'app.mjs': APP, 'hostd.config.mjs': config(`${BLOCKED} graceful_timeout: 1,`) });
    run = startHostd(dir, [], { env: { HOSTD_CONFIG_TIMEOUT: '2' } });
    await run.ready();
    writeFileSync(join(dir, 'hold'), '');
    run.signal('SIGUSR2');
    const next = Number((await run.waitForOutput(/upgrade: the new primary has pid (\d+)/))[1]);
    started.push(next);
    await waitForRecord(join(dir, 'hooks.log'), new RegExp(`^on_starting blocked ${next}$`));
    run.signal('SIGTERM');
    expect(await run.exited).toEqual({ code: 0, signal: null });
    expect(run.output).toContain("the new primary of the abandoned upgrade did not exit within 4 s of being told to stop (the serving config's graceful stop); killing it");
    await waitUntil(() => !alive(next), 'the new primary to be gone');
    const lines = records(join(dir, 'hooks.log'));
    expect(lines).toContain(`on_exit ${run.pid} shutdown 0`);
    // Killed while blocked: it ran nothing of its own stop.
    expect(lines.some((line) => line.startsWith(`on_exit ${next} `))).toBe(false);
  }, 60_000);

  it('both primaries paused together past the limit: the new one is not given up for the time neither ran, and takes over once it serves', async () => {
    const dir = project({ 'app.mjs': APP, 'hostd.config.mjs': config(BLOCKED) });
    run = startHostd(dir, [], { env: { HOSTD_CONFIG_TIMEOUT: '2' } });
    const url = await run.ready();
    writeFileSync(join(dir, 'hold'), '');
    run.signal('SIGUSR2');
    const next = Number((await run.waitForOutput(/upgrade: the new primary has pid (\d+)/))[1]);
    started.push(next);
    await waitForRecord(join(dir, 'hooks.log'), new RegExp(`^on_starting blocked ${next}$`));
    // The whole process group (both primaries and the workers), as a paused VM, for longer than the whole limit: the stimulus, not a wait for an outcome.
    process.kill(-run.pid, 'SIGSTOP');
    try {
      await new Promise((resolve) => setTimeout(resolve, LIMIT_S * 1000 + 2000));
    } finally {
      process.kill(-run.pid, 'SIGCONT');
    }
    writeFileSync(join(dir, 'go'), '');
    await run.waitForOutput(new RegExp(`upgraded: the new primary \\(pid ${next}\\) serves; this one stops`), 30_000);
    expect(await run.exited).toEqual({ code: 0, signal: null });
    expect(run.output).not.toContain('upgrade failed');
    expect(run.output).toMatch(/the primary did not run for \d+(\.\d)? s \(stopped, paused or blocked\)/);
    expect(await (await fetch(url)).text()).toBe(`served by primary ${next}`);
    await waitUntil(() => existsSync(join(dir, 'hostd.pid')) && pidfile(dir) === next, 'the pidfile to name the new primary');
  }, 120_000);

  it('from an older hostd, whose primary never answers that it took the new one on, the new primary takes the pidfile and the control socket as soon as it serves', async () => {
    // The test plays the old primary: its listening socket handed over as descriptor 3, an IPC channel, and HOSTD_UPGRADE as a hostd from before the answer wrote it.
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = `127.0.0.1:${(server.address() as { port: number }).port}`;
    const fd = (server as unknown as { _handle: { fd: number } })._handle.fd;
    const dir = project({ 'app.mjs': APP, 'hostd.config.mjs': config(`bind: '${address}',`) });
    const inheritance = { from: { pid: process.pid, version: '0.0.9', at: new Date().toISOString() }, binds: [[address, 3]], metrics: null };
    const child = spawn(process.execPath, [CLI, 'run'], { cwd: dir, env: cleanEnv({ HOSTD_UPGRADE: JSON.stringify(inheritance) }), stdio: ['ignore', 'pipe', 'pipe', fd, 'ipc'], detached: true });
    groups.push(child);
    server.close();
    let output = '';
    for (const stream of [child.stdout!, child.stderr!]) stream.on('data', (d: Buffer) => (output += d));
    let serves = false;
    child.on('message', (message: { t?: unknown } | null) => (serves ||= message?.t === 'upgraded'));
    await waitUntil(() => serves, () => `the new primary to say it serves (its log: ${output})`, 20_000);
    // The old primary never answers: the pidfile and the control socket follow the new one at once, not when the old one exits.
    await waitUntil(() => existsSync(join(dir, 'hostd.pid')) && pidfile(dir) === child.pid, () => `the pidfile to name the new primary (its log: ${output})`);
    const status = await hostd(['status', '--json'], { cwd: dir });
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ pid: child.pid, upgraded_from: { pid: process.pid, version: '0.0.9' } });
    expect(await (await fetch(`http://${address}/`)).text()).toBe(`served by primary ${child.pid}`);
  });

  it('a control socket whose path is near the 107 bytes a unix socket allows follows the new primary too', async () => {
    const dir = project({ 'app.mjs': APP });
    const name = `${'c'.repeat(104 - dir.length - 6)}.sock`;
    writeFileSync(join(dir, 'hostd.config.mjs'), config(`bind: '127.0.0.1:0', control_socket: './${name}',`));
    expect(Buffer.byteLength(join(dir, name))).toBe(104);
    run = startHostd(dir);
    await run.ready();
    await waitUntil(() => existsSync(join(dir, name)), 'the control socket');
    const answer = await hostd(['upgrade'], { cwd: dir, timeoutMs: 30_000 });
    expect(answer.code, answer.stderr).toBe(0);
    const next = Number(/\(pid (\d+)\)/.exec(answer.stdout)?.[1]);
    started.push(next);
    await run.exited;
    const status = await hostd(['status', '--json'], { cwd: dir });
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout).pid).toBe(next);
  });

  it('a bind the new config dropped is closed by the new primary: its clients are refused, not left waiting', async () => {
    const dir = project({ 'app.mjs': APP, 'hostd.config.mjs': config("bind: ['127.0.0.1:0', '127.0.0.2:0'],") });
    run = startHostd(dir);
    const url = await run.ready();
    const dropped = (await run.waitForOutput(/Listening at: (http:\/\/127\.0\.0\.2:\d+)/))[1]!;
    await waitUntil(() => existsSync(join(dir, 'control.sock')), 'the control socket');
    writeFileSync(join(dir, 'hostd.config.mjs'), config("bind: '127.0.0.1:0',"));
    const answer = await hostd(['upgrade'], { cwd: dir, timeoutMs: 30_000 });
    expect(answer.code, answer.stderr).toBe(0);
    const next = Number(/\(pid (\d+)\)/.exec(answer.stdout)?.[1]);
    started.push(next);
    await run.exited;
    expect(run.output).toContain('upgrade: 127.0.0.2:0 is not among the binds of the config now; its socket from the old primary is closed');
    expect(await (await fetch(url)).text()).toBe(`served by primary ${next}`);
    await expect(fetch(dropped, { signal: AbortSignal.timeout(5000) })).rejects.toMatchObject({ cause: { code: 'ECONNREFUSED' } });
  });

  it('hands over a unix bind (its file stays) and an inherited fd:// bind', async () => {
    const socket = join(tempDir(), 'app.sock');
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const fd = (server as unknown as { _handle: { fd: number } })._handle.fd;
    const dir = project({ 'app.mjs': APP, 'hostd.config.mjs': config(`bind: ['unix:${socket}', 'fd://3'],`) });
    run = startHostd(dir, [], { fds: [fd] });
    await run.ready();
    server.close();
    const over = (path: string | null): Promise<string> =>
      new Promise((resolve, reject) => {
        const options = path === null ? { host: '127.0.0.1', port, agent: false } : { socketPath: path, agent: false };
        request({ ...options, path: '/' }, (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d));
          res.on('end', () => resolve(text));
        })
          .on('error', reject)
          .end();
      });
    expect(await over(socket)).toBe(`served by primary ${run.pid}`);
    run.signal('SIGUSR2');
    const next = Number((await run.waitForOutput(/upgraded: the new primary \(pid (\d+)\) serves/, 30_000))[1]);
    started.push(next);
    await run.exited;
    expect(existsSync(socket)).toBe(true);
    expect(await over(socket)).toBe(`served by primary ${next}`);
    expect(await over(null)).toBe(`served by primary ${next}`);
  });

  it.skipIf(native() === null)('tells systemd the new main pid (MAINPID=), and not that the service stops', async () => {
    const helper = native()!;
    const address = join(tempDir(), 'notify.sock');
    const fd = helper.bindDatagram(address);
    const messages: string[] = [];
    const timer = setInterval(() => {
      for (let m = helper.receiveDatagram(fd); m !== null; m = helper.receiveDatagram(fd)) messages.push(m);
    }, 10);
    try {
      const dir = project({ 'app.mjs': APP, 'hostd.config.mjs': config("bind: '127.0.0.1:0', sd_notify: true,") });
      run = startHostd(dir, [], { env: { NOTIFY_SOCKET: address } });
      await run.ready();
      await waitUntil(() => messages.some((m) => m.includes('READY=1')), 'READY=1');
      run.signal('SIGUSR2');
      const next = Number((await run.waitForOutput(/upgraded: the new primary \(pid (\d+)\) serves/, 30_000))[1]);
      started.push(next);
      await run.exited;
      await waitUntil(() => messages.some((m) => m.includes(`MAINPID=${next}`)), () => `MAINPID=${next} in ${JSON.stringify(messages)}`);
      expect(messages.some((m) => m.includes('STOPPING=1'))).toBe(false);
    } finally {
      clearInterval(timer);
      helper.closeFd(fd);
    }
  });

  it('is refused to PID 1 of a container, saying to roll the container; the primary keeps serving', async () => {
    // The command comes from outside the container's pid namespace, where the kernel names no peer: allow_app_control lets it in.
    const dir = project({ 'app.mjs': APP, 'hostd.config.mjs': config("bind: '127.0.0.1:0', allow_app_control: true,") });
    run = startHostd(dir, [], { prefix: ['unshare', '--user', '--map-root-user', '--fork', '--pid', '--mount-proc'] });
    const url = await run.ready();
    await waitUntil(() => existsSync(join(dir, 'control.sock')), 'the control socket');
    // From outside the container the record's pid is another process: the command is told where the socket is.
    const answer = await hostd(['upgrade', '--control-socket', join(dir, 'control.sock')], { cwd: dir, timeoutMs: 30_000 });
    expect(answer.code).toBe(1);
    expect(answer.stderr).toMatch(/hostd is PID 1 of its container: .* roll the container instead/);
    expect((await fetch(url)).status).toBe(200);
  });

  // ---- a reload and a scale asked for during an upgrade wait for it, say so, and get an answer whatever its outcome ----

  /**
   * Limits small enough to check the deadlines by (config_timeout from the environment, which the new primary inherits): the upgrade's is config_timeout 5 s + on_starting 25 s + 4 boots (2 workers +
   * 2 failures) × (backoff 10 s + boot_timeout 10 s) = 110 s from its start; a reload's 5 s + 1 batch of 2 × boot_timeout 10 s = 15 s.
   * Once the test writes `hold`, a primary's on_starting (the new one's: the old one started before) waits for release('upgrade'), then fails if told to.
   */
  const HELD = `bind: '127.0.0.1:0', hook_timeout: 25, boot_timeout: 10,
  on_starting: async () => {
    if (!existsSync(new URL('./hold', import.meta.url))) return;
    await gate('upgrade');
    if (existsSync(new URL('./fail', import.meta.url))) throw new Error('broken release');
  },`;

  /** A primary serving with 2 workers, an upgrade held in the new primary's on_starting, and `hostd scale 3` then `hostd reload` queued behind it, each having said so. */
  const queuedBehindUpgrade = async () => {
    const dir = project({ 'app.mjs': APP, 'gate.mjs': GATE_MODULE, 'hostd.config.mjs': config(HELD, "import { gate } from './gate.mjs';") });
    run = startHostd(dir, [], { env: { HOSTD_CONFIG_TIMEOUT: '5' } });
    const { url, upgrade, next } = await upgradeHeld(run, dir, () => /^upgrade waiting$/);
    const scale = startCli(['scale', '3'], { cwd: dir });
    commands.push(scale);
    await run.waitForOutput(/scale 3 while upgrading: applied once that is done/);
    const reload = startCli(['reload'], { cwd: dir });
    commands.push(reload);
    await run.waitForOutput(/HUP while upgrading: reloading once that is done/);
    // Each says what it waits for while it waits, with a deadline that counts the upgrade's limit (110 s from its start) and its own.
    const waiting = (command: string) => new RegExp(`^hostd: ${command}: waiting for the upgrade under way to finish \\(the outcome within (\\d+) s at the latest\\)\\n$`);
    const [, scaleWithin] = await waitUntil(() => waiting('scale').exec(scale.stderr()), () => `scale to say it waits (stderr: ${scale.stderr()})`);
    const [, reloadWithin] = await waitUntil(() => waiting('reload').exec(reload.stderr()), () => `reload to say it waits (stderr: ${reload.stderr()})`);
    // At most the upgrade's limit (+ the CLI's 2 s margin); at least what is left of it before the gate gives up (20 s).
    expect(Number(scaleWithin)).toBeGreaterThanOrEqual(110 - 20 + 2);
    expect(Number(scaleWithin)).toBeLessThanOrEqual(110 + 2);
    expect(Number(reloadWithin)).toBeGreaterThanOrEqual(110 - 20 + 15 + 2);
    expect(Number(reloadWithin)).toBeLessThanOrEqual(110 + 15 + 2);
    expect([scale.stdout(), reload.stdout()]).toEqual(['', '']);
    return { dir, url, next, upgrade, scale, reload, waitingLines: { scale: scale.stderr(), reload: reload.stderr() } };
  };

  it('a scale and a reload queued behind an upgrade that succeeds say what they waited for, then fail saying the new primary serves without them', async () => {
    const { dir, url, next, upgrade, scale, reload, waitingLines } = await queuedBehindUpgrade();
    const old = run!.pid;
    release(dir, 'upgrade');
    const [upgraded, scaled, reloaded] = await Promise.all([upgrade.result, scale.result, reload.result]);
    expect(upgraded).toMatchObject({ code: 0, stdout: `upgraded: the new primary (pid ${next}) serves; the old one stops\n` });
    expect(scaled).toEqual({
      code: 1,
      stdout: '',
      stderr: `${waitingLines.scale}hostd: scale failed: the upgrade finished first: the new primary (pid ${next}) serves with the config's worker count, and this one stops without applying the scale 3; run hostd scale 3 again to scale the new primary\n`,
    });
    expect(reloaded).toEqual({
      code: 1,
      stdout: '',
      stderr: `${waitingLines.reload}hostd: reload failed: the upgrade finished first: the new primary (pid ${next}) serves the config it loaded at its start, and this one stops without reloading; run hostd reload again to reload the new primary\n`,
    });
    expect(await run!.exited).toEqual({ code: 0, signal: null });
    expect(records(join(dir, 'hooks.log'))).toContain(`on_exit ${old} upgrade 0`);
    // The new primary serves its own first generation with the config's 2 workers; the scale, asked again, reaches it.
    expect(await (await fetch(url)).text()).toBe(`served by primary ${next}`);
    const status = JSON.parse((await hostd(['status', '--json'], { cwd: dir })).stdout) as { pid: number; generation: number; workers_target: number };
    expect(status).toMatchObject({ pid: next, generation: 1, workers_target: 2 });
    expect(await hostd(['scale', '3'], { cwd: dir })).toMatchObject({ code: 0, stdout: 'workers: 2 → 3\n' });
    await waitUntil(() => workerPids(next).length === 3, 'the new primary to run 3 workers');
  });

  it('a scale and a reload queued behind an upgrade that fails run once it failed, and each gets its own outcome', async () => {
    const { dir, url, upgrade, scale, reload, waitingLines } = await queuedBehindUpgrade();
    writeFileSync(join(dir, 'fail'), '');
    release(dir, 'upgrade');
    const [upgraded, scaled, reloaded] = await Promise.all([upgrade.result, scale.result, reload.result]);
    expect(upgraded.code).toBe(1);
    expect(upgraded.stderr).toBe('hostd: upgrade failed: the new primary exited with code 1 before it served (its log says why); the running primary keeps serving\n');
    expect(scaled).toEqual({ code: 0, stdout: 'workers: 2 → 3\n', stderr: waitingLines.scale });
    expect(reloaded).toEqual({ code: 0, stdout: 'reloaded: generation 2 serves\n', stderr: waitingLines.reload });
    // The scale ran first, then the reload, which takes the count back to the config's, and says so.
    expect(run!.output).toContain("workers: 3 → 2 (the config's workers)");
    expect(await (await fetch(url)).text()).toBe(`served by primary ${run!.pid}`);
    const status = JSON.parse((await hostd(['status', '--json'], { cwd: dir })).stdout) as { pid: number; generation: number; workers_target: number };
    expect(status).toMatchObject({ pid: run!.pid, generation: 2, workers_target: 2 });
    expect(pidfile(dir)).toBe(run!.pid);
  });
});
