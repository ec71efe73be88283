/**
 * `hostd status|reload|stop|scale` over the control socket, through the real CLI, against a
 * real primary. Each test names its own socket in its temp folder (parallel-safe); one uses
 * the default location, under an XDG_RUNTIME_DIR of its own.
 */
import { connect, type Socket } from 'node:net';
import { chmodSync, cpSync, existsSync, lstatSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { appProject, recordingConfig } from '../helpers/apps.ts';
import { hostd } from '../helpers/cli.ts';
import { REPO, tempDir } from '../helpers/project.ts';
import { native } from '../../src/runtime/native.ts';
import { GATE_MODULE, release } from '../helpers/gates.ts';
import { processState } from '../../src/runtime/control-path.ts';
import { type Hostd, hooksLog, records, startHostd, waitForRecord, waitUntil, workerPids } from '../helpers/run.ts';

/** Sends raw bytes to a socket and reads what comes back until it closes. */
function raw(path: string, bytes: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(path);
    let text = '';
    socket.on('connect', () => socket.write(bytes));
    socket.on('data', (chunk) => (text += chunk));
    socket.on('error', () => resolve(text));
    socket.on('close', () => resolve(text));
  });
}

describe('the control socket', () => {
  let run: Hostd | undefined;
  afterEach(async () => {
    await run?.stop();
    run = undefined;
  });

  const start = async (body = '', files: Record<string, string> = {}) => {
    const dir = appProject(recordingConfig(`workers: 2, control_socket: './control.sock', ${body}`), files);
    run = startHostd(dir);
    const url = await run.ready();
    await waitUntil(() => existsSync(join(dir, 'control.sock')), 'the control socket');
    return { dir, url, socket: join(dir, 'control.sock') };
  };

  it('status shows the primary and its workers; the socket is its owner\'s only', async () => {
    const { dir, socket } = await start();
    const json = await hostd(['status', '--json'], { cwd: dir });
    expect(json.code).toBe(0);
    const status = JSON.parse(json.stdout) as { pid: number; control_socket: string; workers: { id: number; pid: number }[] };
    expect(status.pid).toBe(run!.pid);
    expect(status.control_socket).toBe(socket);
    expect(status.workers.map((w) => w.id).sort()).toEqual([1, 2]);
    expect(status.workers.map((w) => w.pid).sort()).toEqual(workerPids(run!.pid).sort());
    expect(lstatSync(socket).mode & 0o777).toBe(0o600);
    const text = await hostd(['status'], { cwd: dir });
    expect(text.stdout).toMatch(/^hostd .* \(pid \d+\), generation 1/);
    expect(text.stdout).toMatch(/^id +pid +gen +state/m);
  });

  it('scale sets or changes the worker count as TTIN and TTOU do, and refuses a bad count', async () => {
    const { dir } = await start();
    expect((await hostd(['scale', '+1'], { cwd: dir })).stdout).toBe('workers: 2 → 3\n');
    await waitUntil(() => workerPids(run!.pid).length === 3, 'a third worker');
    expect((await hostd(['scale', '1'], { cwd: dir })).stdout).toBe('workers: 3 → 1\n');
    await waitUntil(() => workerPids(run!.pid).length === 1, 'one worker');
    // Each scale sets the count once: nworkers_changed with where it went from and to.
    await waitUntil(() => records(hooksLog(dir)).filter((l) => l.startsWith('nworkers_changed')).length === 2, 'nworkers_changed twice');
    expect(records(hooksLog(dir)).filter((l) => l.startsWith('nworkers_changed'))).toEqual(['nworkers_changed 2->3', 'nworkers_changed 3->1']);
    for (const bad of ['0', 'abc', '+0']) expect((await hostd(['scale', bad], { cwd: dir })).code).toBe(2);
  });

  it('reload waits for the outcome: 0 when the new generation serves, 1 with the reason when rejected', async () => {
    // The default socket: a config that no longer resolves still leads the command to it.
    const env = { XDG_RUNTIME_DIR: tempDir() };
    const dir = appProject(recordingConfig('workers: 2,'));
    run = startHostd(dir, [], { env });
    const url = await run.ready();
    const ok = await waitUntil(async () => {
      const result = await hostd(['reload'], { cwd: dir, env });
      return result.code === 0 ? result : null;
    }, 'the control socket to answer');
    expect(ok.stdout).toBe('reloaded: generation 2 serves\n');
    writeFileSync(join(dir, 'hostd.config.ts'), recordingConfig('workers: 2, wokers: 3,'));
    const rejected = await hostd(['reload'], { cwd: dir, env });
    expect(rejected.code).toBe(1);
    expect(rejected.stderr).toContain('wokers: unknown key (did you mean "workers"?)');
    expect((await fetch(url)).status).toBe(200);
  });

  it('stop returns once the primary exited; then status says not running', async () => {
    const { dir, socket } = await start();
    const stopped = await hostd(['stop'], { cwd: dir });
    expect(stopped.code).toBe(0);
    expect((await run!.exited).code).toBe(0);
    expect(records(hooksLog(dir)).at(-1)).toBe('on_exit 0 shutdown');
    run = undefined;
    const status = await hostd(['status'], { cwd: dir });
    expect(status.code).toBe(1);
    // Its record is gone with it: the command looks at the default socket, and says so.
    expect(status.stderr).toMatch(/^hostd: not running \(nothing answers on \S+\/[0-9a-f]{16}\.sock, and no primary started from hostd\.config\.ts left a record of another socket\)\n$/);
    expect(status.stderr).not.toContain(socket);
  });

  it('answers a malformed, oversized or silent request with an error and keeps serving', async () => {
    const { url, socket } = await start();
    expect(JSON.parse(await raw(socket, 'not json\n'))).toEqual({ ok: false, error: 'a request is one line of JSON' });
    expect(JSON.parse(await raw(socket, '{"command":"format-disk"}\n')).ok).toBe(false);
    expect(JSON.parse(await raw(socket, 'x'.repeat(70 * 1024))).error).toMatch(/at most 65536 bytes/);
    expect(JSON.parse(await raw(socket, '{"command":'))).toEqual({ ok: false, error: 'no request within 5 s' });
    // A request read after its command stopped waiting is refused, not carried out.
    const expired = JSON.parse(await raw(socket, `${JSON.stringify({ command: 'scale', n: 1, relative: true, expires: Date.now() - 1000 })}\n`)) as { ok: boolean; error: string };
    expect(expired).toEqual({ ok: false, error: expect.stringMatching(/^refused: this scale request was read \d+\.\d s after its command stopped waiting for the answer$/) });
    expect((JSON.parse((await hostd(['status', '--json'], { cwd: dirname(socket) })).stdout) as { workers_target: number }).workers_target).toBe(2);
    expect((await fetch(url)).status).toBe(200);
  });

  it('keeps a live primary\'s socket when a flood keeps it from answering: the commands say so and exit 1', async () => {
    // The primary may hold 200 descriptors: a flood of idle control connections exhausts them.
    const dir = appProject(recordingConfig("workers: 1, control_socket: './control.sock',"));
    run = startHostd(dir, [], { prefix: ['sh', '-c', 'ulimit -n 200 && exec "$@"', 'sh'] });
    const url = await run.ready();
    const socket = join(dir, 'control.sock');
    await waitUntil(() => existsSync(socket), 'the control socket');
    const flood: Socket[] = [];
    try {
      let settled = 0;
      for (let i = 0; i < 600; i++) flood.push(connect(socket, () => settled++).on('error', () => settled++));
      // Past its descriptors, the primary's accepts close what they take (libuv's EMFILE reserve).
      await waitUntil(() => settled === 600 || flood.some((s) => s.closed), 'the flood to be accepted or closed');
      const answers = await Promise.all(Array.from({ length: 4 }, () => hostd(['status'], { cwd: dir })));
      for (const answer of answers) {
        expect(answer.stderr).not.toContain('not running');
        if (answer.code !== 0) expect(answer.stderr).toMatch(/^hostd: the primary at .* did not answer: .*; try again\n$/);
      }
      expect(answers.some((a) => a.code === 1)).toBe(true);
      expect(lstatSync(socket).isSocket()).toBe(true);
    } finally {
      for (const s of flood) s.destroy();
    }
    await waitUntil(async () => (await hostd(['status'], { cwd: dir })).code === 0, 'status to answer once the flood is over');
    expect((await fetch(url)).status).toBe(200);
  });

  it('is found by default from the config file\'s path, in an owner-only folder; a stale socket file goes', async () => {
    const runtime = tempDir();
    const dir = appProject(recordingConfig('workers: 1,'));
    run = startHostd(dir, [], { env: { XDG_RUNTIME_DIR: runtime } });
    await run.ready();
    const status = await waitUntil(async () => {
      const result = await hostd(['status', '--json'], { cwd: dir, env: { XDG_RUNTIME_DIR: runtime } });
      return result.code === 0 ? (JSON.parse(result.stdout) as { control_socket: string }) : null;
    }, 'status to answer');
    expect(status.control_socket.startsWith(join(runtime, 'hostd') + '/')).toBe(true);
    expect(lstatSync(join(runtime, 'hostd')).mode & 0o777).toBe(0o700);
    // A primary killed with SIGKILL leaves its socket file: the next command removes it.
    process.kill(run.pid, 'SIGKILL');
    await run.exited;
    run = undefined;
    const after = await hostd(['status'], { cwd: dir, env: { XDG_RUNTIME_DIR: runtime } });
    expect(after.code).toBe(1);
    expect(existsSync(status.control_socket)).toBe(false);
  });

  it('is not handed to the workers: no worker sees its path in its environment or arguments', async () => {
    // What a worker knows of its own process, as app code (or a library it loads) would look.
    const seen = `export default (req, res) => res.end(JSON.stringify({ env: process.env, argv: process.argv, execArgv: process.execArgv }));\n`;
    const dir = appProject(recordingConfig("workers: 1, control_socket: './control.sock',"), { 'app.mjs': seen });
    run = startHostd(dir);
    const url = await run.ready();
    await waitUntil(() => existsSync(join(dir, 'control.sock')), 'the control socket');
    const text = await (await fetch(url)).text();
    expect(JSON.parse(text)).toHaveProperty('argv');
    expect(text).not.toContain('control.sock');
    expect(text).not.toContain('control_socket');
  });

  // App code that finds the socket (here it is told) and asks for the status, itself or from a process it starts.
  const ASKING_APP = `import { connect } from 'node:net';
import { execFileSync } from 'node:child_process';
const path = new URL('./control.sock', import.meta.url).pathname;
const ask = \`const s = require('node:net').connect(\${JSON.stringify(path)}, () => s.write('{"command":"status"}\\\\n')); let t = ''; s.on('data', (d) => (t += d)); s.on('close', () => process.stdout.write(t));\`;
export default (req, res) => {
  if (req.url === '/child') return void res.end(execFileSync(process.execPath, ['-e', ask], { encoding: 'utf8' }));
  const socket = connect(path, () => socket.write('{"command":"status"}\\n'));
  let text = '';
  socket.on('data', (d) => (text += d));
  socket.on('close', () => res.end(text));
  socket.on('error', (e) => res.end(String(e)));
};
`;

  it.skipIf(native() === null)('refuses a worker, and what a worker starts, unless allow_app_control; the CLI still works', async () => {
    const { dir, url } = await start('', { 'app.mjs': ASKING_APP });
    const fromWorker = JSON.parse(await (await fetch(url)).text()) as { ok: boolean; error?: string };
    expect(fromWorker.ok).toBe(false);
    expect(fromWorker.error).toMatch(/^refused: pid \d+ is a hostd worker or was started by one, and app code may use the control socket only with allow_app_control: true$/);
    const fromChild = JSON.parse(await (await fetch(`${url}/child`)).text()) as { ok: boolean; error?: string };
    expect(fromChild.ok).toBe(false);
    expect(fromChild.error).toMatch(/^refused: /);
    expect((await hostd(['status', '--json'], { cwd: dir })).code).toBe(0);
  });

  // The attacks of issue 24: app code that computes the socket's path and asks from a process
  // 70 levels below its worker, or from one that is gone by the time the primary looks.
  const ATTACKING_APP = `import { execFileSync, spawn } from 'node:child_process';
const here = new URL('.', import.meta.url).pathname;
const sock = here + 'control.sock';
export default (req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname === '/deep') {
    const env = { ...process.env, NODE: process.execPath, ASK: here + 'ask.cjs', SOCK: sock };
    return void res.end(execFileSync('sh', [here + 'chain.sh', url.searchParams.get('n')], { encoding: 'utf8', env }));
  }
  if (url.pathname === '/gone') {
    // Holds the primary still while a peer asks and exits, so its /proc entry is gone when looked at.
    process.kill(process.ppid, 'SIGSTOP');
    const peer = spawn(process.execPath, [here + 'ask.cjs', sock, 'quit'], { stdio: 'ignore' });
    peer.on('exit', () => {
      process.kill(process.ppid, 'SIGCONT');
      res.end(String(peer.pid));
    });
    return;
  }
  res.end('hello');
};
`;
  const ATTACK_FILES = {
    'app.mjs': ATTACKING_APP,
    // Each level waits for the next (no exec), so the last is n + 1 levels below the worker.
    'chain.sh': 'n=$1\nif [ "$n" -gt 0 ]; then sh "$0" $((n - 1)); exit $?; fi\nexec "$NODE" "$ASK" "$SOCK"\n',
    'ask.cjs': `const [sock, mode] = process.argv.slice(2);
const s = require('node:net').connect(sock, () => s.write('{"command":"stop"}\\n', () => mode === 'quit' && process.exit(0)));
let t = '';
s.on('data', (d) => (t += d));
s.on('close', () => process.stdout.write(t));
s.on('error', (e) => process.stdout.write(String(e)));
`,
  };

  it.skipIf(native() === null)('refuses a process any depth below a worker: a chain of 70 shells asking to stop', async () => {
    const { dir, url } = await start('', ATTACK_FILES);
    const answer = JSON.parse(await (await fetch(`${url}/deep?n=70`)).text()) as { ok: boolean; error?: string };
    expect(answer.ok).toBe(false);
    const pid = /^refused: pid (\d+) is a hostd worker or was started by one/.exec(answer.error ?? '')?.[1];
    expect(pid).toBeDefined();
    expect(run!.output).toContain(`control socket: refused: pid ${pid} is a hostd worker`);
    expect((await hostd(['status', '--json'], { cwd: dir })).code).toBe(0);
    expect((await fetch(url)).status).toBe(200);
  });

  it.skipIf(native() === null)('refuses a peer gone before the primary could read its ancestry (fails closed)', async () => {
    const { dir, url } = await start('', ATTACK_FILES);
    const pid = await (await fetch(`${url}/gone`)).text();
    await run!.waitForOutput(new RegExp(`control socket: refused: the ancestry of pid ${pid} cannot be read`));
    expect((await hostd(['status', '--json'], { cwd: dir })).code).toBe(0);
    expect((await fetch(url)).status).toBe(200);
    expect(run!.output).not.toContain('hostd stopping');
  });

  it('says at start, where the native helper is not built, that app code can use the control socket', async () => {
    // A copy of the built package without dist/native, as an install without a C compiler has.
    const copy = tempDir('hostd-no-native-');
    cpSync(join(REPO, 'dist'), join(copy, 'dist'), { recursive: true, filter: (from) => !from.split(sep).includes('native') });
    cpSync(join(REPO, 'package.json'), join(copy, 'package.json'));
    symlinkSync(join(REPO, 'node_modules'), join(copy, 'node_modules'), 'dir');
    const dir = appProject(recordingConfig("workers: 1, control_socket: './control.sock',"));
    run = startHostd(dir, [], { cli: join(copy, 'dist', 'bin.cjs') });
    await run.ready();
    await run.waitForOutput(/control socket: hostd's native helper is not built here, so the primary cannot tell app code from the CLI: app code can use the control socket/);
    const allowed = appProject(recordingConfig("workers: 1, control_socket: './control.sock', allow_app_control: true,"));
    const quiet = startHostd(allowed, [], { cli: join(copy, 'dist', 'bin.cjs') });
    await quiet.ready();
    await waitUntil(() => existsSync(join(allowed, 'control.sock')), 'the control socket');
    expect(quiet.output).not.toContain('native helper');
    await quiet.stop();
  });

  it('lets the app use it with allow_app_control', async () => {
    const { url } = await start('allow_app_control: true,', { 'app.mjs': ASKING_APP });
    const answer = JSON.parse(await (await fetch(url)).text()) as { ok: boolean; pid?: number };
    expect(answer.ok).toBe(true);
    expect(answer.pid).toBe(run!.pid);
  });

  // ---- issue 24, item 3: every command has a deadline and says what it waited for ----

  it('gives up on a primary that accepts and never answers (SIGSTOP): each command says so, and none is carried out later', async () => {
    const { dir, url, socket } = await start();
    const pid = run!.pid;
    process.kill(pid, 'SIGSTOP');
    let results: Awaited<ReturnType<typeof hostd>>[];
    try {
      const commands = [['status'], ['reload'], ['stop'], ['scale', '+1'], ['status', '--json']];
      results = await Promise.all(commands.map((args) => hostd(args, { cwd: dir, timeoutMs: 30_000 })));
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    const unanswered = (command: string) =>
      `${command}: the primary at ${socket} accepted the request but did not answer within 11 s (it refuses a request it reads more than 10 s after it was sent: this one will not be carried out); pid ${pid} is stopped (SIGSTOP or SIGTSTP): kill -CONT ${pid} resumes it`;
    expect(results.slice(0, 4).map((r) => [r.code, r.stderr])).toEqual(['status', 'reload', 'stop', 'scale'].map((command) => [1, `hostd: ${unanswered(command)}\n`]));
    expect(results[4]!.code).toBe(1);
    expect(JSON.parse(results[4]!.stdout)).toEqual({ ok: false, error: unanswered('status'), control_socket: socket });
    // Resumed, it reads the requests that queued meanwhile (before this status) and carries out none of them.
    const status = JSON.parse((await hostd(['status', '--json'], { cwd: dir })).stdout) as { generation: number; workers_target: number };
    expect(status).toMatchObject({ generation: 1, workers_target: 2 });
    expect((await fetch(url)).status).toBe(200);
    expect(run!.output).not.toContain('hostd stopping');
  });

  it('stop reports a primary that exited but that its parent has not collected (a zombie) as stopped', async () => {
    const dir = appProject(recordingConfig("workers: 1, control_socket: './control.sock',"));
    // The shell starts hostd, then becomes a sleep, which never collects it.
    run = startHostd(dir, [], { prefix: ['sh', '-c', '"$@" & exec sleep 120', 'sh'] });
    await run.ready();
    await waitUntil(() => existsSync(join(dir, 'control.sock')), 'the control socket');
    const { pid } = JSON.parse((await hostd(['status', '--json'], { cwd: dir })).stdout) as { pid: number };
    expect(pid).not.toBe(run.pid);
    const stopped = await hostd(['stop'], { cwd: dir, timeoutMs: 20_000 });
    expect(stopped).toMatchObject({ code: 0, stdout: `stopped (pid ${pid})\n` });
    expect(processState(pid)).toBe('zombie');
  });

  /** One worker and its own socket, with `body`; resolves once the control socket is there. */
  const startOne = async (body: string, env: Record<string, string> = {}) => {
    const dir = appProject(recordingConfig(`workers: 1, control_socket: './control.sock', ${body}`));
    run = startHostd(dir, [], { env });
    const url = await run.ready();
    await waitUntil(() => existsSync(join(dir, 'control.sock')), 'the control socket');
    return { dir, url, pid: run.pid };
  };

  /** Runs a command against a primary that a hook stops (SIGSTOP), and continues it after, whatever happened. */
  const whileItStops = async (pid: number, args: string[], cwd: string) => {
    try {
      return await hostd(args, { cwd, timeoutMs: 30_000 });
    } finally {
      process.kill(pid, 'SIGCONT');
    }
  };

  it('stop waits as long as the stop plan the primary answered with, then says what it waited for', async () => {
    // on_exit stops the primary itself: it exits only once continued.
    const { dir, pid } = await startOne("graceful_timeout: 1, hook_timeout: 1, on_exit: () => process.kill(process.pid, 'SIGSTOP'),");
    const stop = await whileItStops(pid, ['stop'], dir);
    expect(stop.code).toBe(1);
    const m = new RegExp(`^hostd: stop: pid ${pid} has not exited within (\\d+) s, the longest its graceful stop can take \\((graceful_timeout 1 s \\+ .*) = ([\\d.]+) s\\) with 2 s more; pid ${pid} is stopped \\(SIGSTOP or SIGTSTP\\): kill -CONT ${pid} resumes it\\n$`).exec(stop.stderr);
    expect(m, stop.stderr).not.toBeNull();
    expect(Number(m![1])).toBe(Math.ceil(Number(m![3])) + 2);
    expect(m![2]).toContain('on_exit 1 × 1 s');
    expect((await run!.exited).code).toBe(0);
  });

  it('reload waits as long as the reload plan, which the primary gives from the settings it knows, then says what it waited for', async () => {
    // on_reload stops the primary itself: the outcome comes only once it is continued.
    const { dir, url, pid } = await startOne("hook_timeout: 1, boot_timeout: 5, on_reload: () => process.kill(process.pid, 'SIGSTOP'),", { HOSTD_CONFIG_TIMEOUT: '2' });
    const reload = await whileItStops(pid, ['reload'], dir);
    expect(reload.code).toBe(1);
    const plan = 'config_timeout 2 s + on_reload 1 × 1 s + 1 batch of 1 × (pre_fork 1 × 1 s + boot_timeout 5 s) = 9 s';
    expect(reload.stderr).toBe(
      `hostd: reload: no outcome within 11 s, the longest it can take (a reload: ${plan}) with 2 s more; it may still be under way (hostd status shows which generation each worker runs); pid ${pid} is stopped (SIGSTOP or SIGTSTP): kill -CONT ${pid} resumes it\n`,
    );
    // Continued, the reload goes on to its end.
    await waitUntil(async () => (JSON.parse((await hostd(['status', '--json'], { cwd: dir })).stdout) as { generation: number }).generation === 2, 'generation 2');
    expect((await fetch(url)).status).toBe(200);
  });

  it('a reload says how long it may take: from the running settings, then from the new generation\'s once it starts', async () => {
    const { dir, socket } = await start('boot_timeout: 7, reload_batch: 1,');
    writeFileSync(join(dir, 'hostd.config.ts'), recordingConfig("workers: 3, control_socket: './control.sock', boot_timeout: 9, reload_batch: 2,"));
    const lines = (await raw(socket, '{"command":"reload","progress":true}\n')).trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toHaveLength(3);
    const [before, after, answer] = lines as [{ deadline_seconds: number; waiting_for: string }, { deadline_seconds: number; waiting_for: string }, unknown];
    // The running generation: 2 workers, 1 at a time, boot_timeout 7; its workers' stop between the batches.
    expect(before.waiting_for).toMatch(/^a reload: config_timeout 30 s \+ on_reload 1 × 30 s \+ 2 batches of 1 × \(pre_fork 1 × 30 s \+ boot_timeout 7 s\) \+ 1 × the old workers' stop \d+ s = \d+ s$/);
    // The new one: 3 workers, 2 at a time, boot_timeout 9; what is left once it starts.
    expect(after.waiting_for).toMatch(/^the rest of the reload once its new generation starts: 2 batches of 2 × \(pre_fork 1 × 30 s \+ boot_timeout 9 s\) \+ 1 × the old workers' stop \d+ s = \d+ s$/);
    for (const line of [before, after]) expect(line.deadline_seconds).toBe(Number(/= (\d+) s$/.exec(line.waiting_for)![1]));
    expect(answer).toEqual({ ok: true, generation: 2 });
  });

  it('a scale during the start waits for it, and says how long that may take', async () => {
    const dir = appProject(recordingConfig("workers: 1, control_socket: './control.sock', post_worker_init: () => gate('boot'),", "import { gate } from './gate.mjs';"), { 'gate.mjs': GATE_MODULE });
    run = startHostd(dir);
    const socket = join(dir, 'control.sock');
    await waitUntil(() => existsSync(socket), 'the control socket');
    await waitForRecord(hooksLog(dir), /^boot waiting$/);
    const answered = raw(socket, '{"command":"scale","n":1,"relative":true,"progress":true}\n');
    await run.waitForOutput(/scale \+1 while starting: applied once that is done/);
    release(dir, 'boot');
    const [progress, answer] = (await answered).trimEnd().split('\n').map((line) => JSON.parse(line) as unknown);
    expect(progress).toEqual({
      deadline_seconds: 330,
      waiting_for: 'the start under way: 3 boots (1 worker + 2 failures) × (backoff 10 s + pre_fork 1 × 30 s + boot_timeout 60 s) + when_ready 1 × 30 s = 330 s; then the scale',
      behind: 'start',
    });
    expect(answer).toEqual({ ok: true, workers: 2, was: 1 });
  });

  // ---- issue 24, item 4: the commands find the primary from the config file's location alone ----

  it('reaches the primary through a config that no longer parses (default socket): status, scale, reload fails with the problem, stop', async () => {
    const env = { XDG_RUNTIME_DIR: tempDir() };
    const dir = appProject(recordingConfig('workers: 1,'));
    run = startHostd(dir, [], { env });
    const url = await run.ready();
    await waitUntil(async () => (await hostd(['status'], { cwd: dir, env })).code === 0, 'status to answer');
    writeFileSync(join(dir, 'hostd.config.ts'), 'module.exports = {\n');
    const status = await hostd(['status', '--json'], { cwd: dir, env });
    expect(status.code).toBe(0);
    expect((JSON.parse(status.stdout) as { pid: number }).pid).toBe(run.pid);
    expect(await hostd(['scale', '+1'], { cwd: dir, env })).toMatchObject({ code: 0, stdout: 'workers: 1 → 2\n' });
    const reload = await hostd(['reload'], { cwd: dir, env });
    expect(reload.code).toBe(1);
    expect(reload.stderr).toMatch(/^hostd: reload failed: the config is invalid; nothing changed:\nhostd\.config\.ts:2:1: syntax error/);
    expect((await fetch(url)).status).toBe(200);
    expect(await hostd(['stop'], { cwd: dir, env })).toMatchObject({ code: 0, stdout: `stopped (pid ${run.pid})\n` });
    expect((await run.exited).code).toBe(0);
  });

  it('finds a custom control_socket through the owner-only record the primary leaves beside the default one, removed at exit', async () => {
    const env = { XDG_RUNTIME_DIR: tempDir() };
    const { dir, pid } = await startOne('', env);
    const folder = join(env.XDG_RUNTIME_DIR, 'hostd');
    const record = await waitUntil(() => readdirSync(folder, { withFileTypes: true }).find((e) => e.name.endsWith('.json')), 'the record');
    const path = join(folder, record.name);
    expect(lstatSync(path).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ hostd: 1, pid, socket: join(dir, 'control.sock'), config: join(dir, 'hostd.config.ts') });
    writeFileSync(join(dir, 'hostd.config.ts'), 'export default {\n');
    const status = await hostd(['status', '--json'], { cwd: dir, env });
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ pid, control_socket: join(dir, 'control.sock') });
    // The flag and the variable still name a socket, and win over the record.
    expect((await hostd(['status', '--control-socket', './control.sock'], { cwd: dir })).code).toBe(0);
    expect((await hostd(['status'], { cwd: dir, env: { HOSTD_CONTROL_SOCKET: join(dir, 'control.sock') } })).code).toBe(0);
    const bad = await hostd(['status', '--control-socket', ''], { cwd: dir, env });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--control-socket: expected a path, "auto" or null');
    expect((await hostd(['stop'], { cwd: dir, env })).code).toBe(0);
    expect(existsSync(path)).toBe(false);
  });

  it('does not trust a record that is not the primary\'s own: it says why and looks at the default socket', async () => {
    const env = { XDG_RUNTIME_DIR: tempDir() };
    const { dir } = await startOne('', env);
    const folder = join(env.XDG_RUNTIME_DIR, 'hostd');
    const record = join(folder, (await waitUntil(() => readdirSync(folder).find((name) => name.endsWith('.json')), 'the record'))!);
    chmodSync(record, 0o644);
    const status = await hostd(['status'], { cwd: dir, env });
    expect(status.code).toBe(1);
    expect(status.stderr).toBe(`hostd: ignoring ${record}: it is open to other users (mode 644)\nhostd: not running (nothing answers on ${record.replace(/\.json$/, '.sock')}, and no primary started from hostd.config.ts left a record of another socket)\n`);
  });

  it('says so when the running primary has control_socket: null, without evaluating the config', async () => {
    const env = { XDG_RUNTIME_DIR: tempDir() };
    const dir = appProject(recordingConfig('workers: 1, control_socket: null,'));
    run = startHostd(dir, [], { env });
    await run.ready();
    const folder = join(env.XDG_RUNTIME_DIR, 'hostd');
    await waitUntil(() => existsSync(folder) && readdirSync(folder).some((name) => name.endsWith('.json')), 'the record');
    writeFileSync(join(dir, 'hostd.config.ts'), 'export default {\n');
    const status = await hostd(['status'], { cwd: dir, env });
    expect(status.code).toBe(1);
    expect(status.stderr).toBe(`hostd: the primary started from hostd.config.ts (pid ${run.pid}) has control_socket: null: no command can reach it; signals do (kill -HUP ${run.pid} reloads, kill -TERM ${run.pid} stops)\n`);
  });

  // ---- issue 24, item 10: memory not known yet is not 0 ----

  it('status shows a worker\'s memory as not known until its first heartbeat tells it', async () => {
    // Node loads gate.mjs before any of hostd's worker code: no heartbeat until the test opens the gate.
    const gate = "import { existsSync } from 'node:fs';\nconst open = new URL('./open', import.meta.url);\nconst nap = new Int32Array(new SharedArrayBuffer(4));\nwhile (!existsSync(open)) Atomics.wait(nap, 0, 0, 20);\n";
    const dir = appProject(recordingConfig("workers: 1, control_socket: './control.sock', worker_exec_argv: [`--import=${new URL('./gate.mjs', import.meta.url).href}`],"), { 'gate.mjs': gate });
    run = startHostd(dir);
    await waitUntil(() => existsSync(join(dir, 'control.sock')), 'the control socket');
    const booting = await waitUntil(async () => {
      const status = JSON.parse((await hostd(['status', '--json'], { cwd: dir })).stdout) as { workers: { state: string; rss_bytes: number | null; heap_used_bytes: number | null }[] };
      return status.workers.length === 1 ? status.workers[0]! : null;
    }, 'a booting worker');
    expect(booting).toMatchObject({ state: 'booting', rss_bytes: null, heap_used_bytes: null });
    expect((await hostd(['status'], { cwd: dir })).stdout).toMatch(/^1 +\d+ +1 +booting .* not yet +not yet +[\d.]+ s ago$/m);
    writeFileSync(join(dir, 'open'), '');
    await run.ready();
    const known = await waitUntil(async () => {
      const [w] = (JSON.parse((await hostd(['status', '--json'], { cwd: dir })).stdout) as { workers: { rss_bytes: number | null; heap_used_bytes: number | null }[] }).workers;
      return w?.rss_bytes != null ? w : null;
    }, 'a memory reading');
    expect(known.rss_bytes).toBeGreaterThan(0);
    expect(known.heap_used_bytes).toBeGreaterThan(0);
    expect((await hostd(['status'], { cwd: dir })).stdout).toMatch(/^1 +\d+ +1 +serving .* \d+ MiB +\d+ MiB +[\d.]+ s ago$/m);
  });
});

describe('control requests during a reload or a stop (issue 23, bugs 4 to 7)', () => {
  let run: Hostd | undefined;
  afterEach(async () => {
    await run?.stop();
    run = undefined;
  });

  /** A project whose reload holds its first new worker in post_worker_init until the test releases `reload`. */
  const held = async (body = '') => {
    const config = recordingConfig(
      `workers: 2, control_socket: './control.sock', ${body} post_worker_init: async ({ worker }) => { if (worker.generation === 2 && worker.id === 1) await gate('reload'); },`,
      "import { gate } from './gate.mjs';",
    );
    const dir = appProject(config, { 'gate.mjs': GATE_MODULE });
    run = startHostd(dir);
    const url = await run.ready();
    await waitUntil(() => existsSync(join(dir, 'control.sock')), 'the control socket');
    return { dir, url };
  };

  it('scale during a reload sets the count the reload leaves, and each says what was applied', async () => {
    const { dir } = await held();
    run!.signal('SIGHUP');
    await waitForRecord(hooksLog(dir), /^reload waiting$/);
    const scales = [hostd(['scale', '4'], { cwd: dir, timeoutMs: 30_000 }), hostd(['scale', '4'], { cwd: dir, timeoutMs: 30_000 })];
    await waitUntil(() => (run!.output.match(/while reloading: applied once that is done/g) ?? []).length >= 2, 'both scales to be queued');
    release(dir, 'reload');
    const answers = await Promise.all(scales);
    expect(answers.map((a) => a.code)).toEqual([0, 0]);
    expect(answers.map((a) => a.stdout).sort()).toEqual(['workers: 2 → 4\n', 'workers: 4 → 4\n']);
    await waitUntil(() => workerPids(run!.pid).length === 4, 'four workers');
    await run!.waitForOutput(/hostd is ready|reloaded: generation 2 is serving/);
    expect(workerPids(run!.pid)).toHaveLength(4);
  });

  it('reload during a reload gets the answer of its own reload, not of the one under way', async () => {
    // The default socket (found from the config file's path), as the reproduction has it.
    const env = { XDG_RUNTIME_DIR: tempDir() };
    const config = recordingConfig("workers: 2, post_worker_init: async ({ worker }) => { if (worker.generation === 2 && worker.id === 1) await gate('reload'); },", "import { gate } from './gate.mjs';");
    const dir = appProject(config, { 'gate.mjs': GATE_MODULE });
    run = startHostd(dir, [], { env });
    const url = await run.ready();
    await waitUntil(async () => (await hostd(['status'], { cwd: dir, env })).code === 0, 'the control socket');
    run.signal('SIGHUP');
    await waitForRecord(hooksLog(dir), /^reload waiting$/);
    writeFileSync(join(dir, 'hostd.config.ts'), recordingConfig('workers: 0,'));
    const second = hostd(['reload'], { cwd: dir, env, timeoutMs: 30_000 });
    await run.waitForOutput(/HUP while reloading: reloading once that is done/);
    release(dir, 'reload');
    const answer = await second;
    expect(answer.code).toBe(1);
    expect(answer.stdout).toBe('');
    // Queued, it says what it waits for, once; then its own outcome.
    expect(answer.stderr).toMatch(/^hostd: reload: waiting for the reload under way to finish \(the outcome within \d+ s at the latest\)\nhostd: reload failed: the config is invalid; nothing changed:\n.*workers: /);
    expect(run.output).toContain('reloaded: generation 2 is serving');
    expect((await fetch(url)).status).toBe(200);
  });

  it('scale during a stop fails with the reason', async () => {
    const dir = appProject(recordingConfig("workers: 2, graceful_timeout: 10, control_socket: './control.sock',"));
    run = startHostd(dir);
    const url = await run.ready();
    await waitUntil(() => existsSync(join(dir, 'control.sock')), 'the control socket');
    const slow = fetch(`${url}/slow?ms=3000`);
    await waitUntil(async () => {
      const status = JSON.parse((await hostd(['status', '--json'], { cwd: dir })).stdout) as { workers: { in_flight: number }[] };
      return status.workers.some((w) => w.in_flight > 0);
    }, 'the slow request to be in flight');
    run.signal('SIGTERM');
    await run.waitForOutput(/hostd stopping/);
    const scaled = await hostd(['scale', '3'], { cwd: dir });
    expect(scaled.code).toBe(1);
    expect(scaled.stderr).toBe('hostd: scale failed: hostd is stopping\n');
    expect(await (await slow).text()).toBe('slow done');
    expect((await run.exited).code).toBe(0);
    run = undefined;
  });

  it('a reload that takes the count back to the config\'s says so', async () => {
    const dir = appProject(recordingConfig("workers: 2, control_socket: './control.sock',"));
    run = startHostd(dir);
    await run.ready();
    await waitUntil(() => existsSync(join(dir, 'control.sock')), 'the control socket');
    expect((await hostd(['scale', '3'], { cwd: dir })).stdout).toBe('workers: 2 → 3\n');
    const reloaded = await hostd(['reload'], { cwd: dir, timeoutMs: 30_000 });
    expect(reloaded.stdout).toBe('reloaded: generation 2 serves\n');
    expect(run.output).toContain("workers: 3 → 2 (the config's workers)");
    await waitForRecord(hooksLog(dir), /^nworkers_changed 3->2$/);
  });
});
