/**
 * Bad messages, bad files and bad timing must not take hostd down: each test causes one
 * through the real CLI and checks that hostd says what happened and goes on (or stops
 * cleanly where it must).
 */
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { appProject, recordingConfig } from '../helpers/apps.ts';
import { hostd } from '../helpers/cli.ts';
import { project } from '../helpers/project.ts';
import { hooksLog, RECORD_MODULE, records, startHostd, waitForRecord, waitUntil, workerPids } from '../helpers/run.ts';

/** No stack from hostd's own code, and no "internal error", in what a user reads. */
function expectNoStack(text: string): void {
  expect(text).not.toMatch(/internal error/);
  expect(text).not.toMatch(/^\s+at .*(dist|src)\//m);
}

describe('messages from workers are untrusted', () => {
  const APP = `export default (req, res) => {
  const send = (message) => { try { process.send(message); res.end('sent'); } catch (error) { res.end(\`\${error.code}: \${error.message}\`); } };
  if (req.url === '/unknown') return send({ t: 'x', payload: 1 });
  if (req.url === '/pose') return send({ t: 'ready', shape: { post_request: 0, worker_int: 0, shutdown: 0, worker_exit: 0 } });
  if (req.url === '/recycle') return send({ t: 'recycle' });
  if (req.url === '/huge') return send({ blob: 'x'.repeat(2 * 1024 * 1024) });
  res.end(String(process.pid));
};
`;

  it('ignores a message it does not know (once said), and refuses one that poses as its own or is too large', async () => {
    const dir = appProject(recordingConfig('workers: 1,'), { 'app.mjs': APP });
    const run = startHostd(dir);
    const url = await run.ready();
    for (let i = 0; i < 5; i++) expect(await (await fetch(`${url}/unknown`)).text()).toBe('sent');
    await run.waitForOutput(/worker 1 \(pid \d+\) sent a message hostd does not know; ignored/);
    expect(run.output.match(/does not know/g)).toHaveLength(1);
    expect(await (await fetch(`${url}/pose`)).text()).toBe(`HOSTD_ERR_IPC_MESSAGE: process.send: messages with t: "ready" are hostd's own; app code cannot send them`);
    expect(await (await fetch(`${url}/recycle`)).text()).toMatch(/^HOSTD_ERR_IPC_MESSAGE: .*"recycle" are hostd's own/);
    expect(await (await fetch(`${url}/huge`)).text()).toMatch(/^HOSTD_ERR_IPC_MESSAGE: process\.send: a message of \d+ bytes is over the 1048576 bytes/);
    // The instance serves on, with its one worker, never recycled.
    expect((await fetch(`${url}/`)).status).toBe(200);
    expect(records(hooksLog(dir)).filter((l) => l.startsWith('post_fork'))).toHaveLength(1);
    expect((await run.stop()).code).toBe(0);
  });
});

describe('log files that cannot be opened', () => {
  it('is a clean error at start, naming the setting and the path', async () => {
    const dir = appProject(recordingConfig("errorlog: './logs/error.log',"), { 'logs': '' });
    const run = startHostd(dir);
    const exit = await run.exited;
    expect(exit.code).toBe(1);
    expect(run.output).toMatch(/errorlog/);
    expect(run.output).toMatch(/logs[/\\]error\.log/);
    expectNoStack(run.output);
  });

  it('rejects a reload to a log it cannot open, and keeps serving; USR1 after the folder moved keeps the old file', async () => {
    const dir = appProject(recordingConfig("errorlog: './logs/error.log',"), { 'logs/.keep': '' });
    const run = startHostd(dir);
    const errorLog = join(dir, 'logs', 'error.log');
    await waitUntil(() => existsSync(errorLog) && /hostd is ready/.test(readFileSync(errorLog, 'utf8')), 'ready in the error log');
    const url = /Listening at: (\S+)/.exec(readFileSync(errorLog, 'utf8'))![1]!;

    writeFileSync(join(dir, 'hostd.config.ts'), recordingConfig("errorlog: './logs/error.log/nested.log',"));
    run.signal('SIGHUP');
    await waitUntil(() => /reload: the config is invalid; nothing changed/.test(readFileSync(errorLog, 'utf8')), 'the rejected reload in the error log');
    expect(readFileSync(errorLog, 'utf8')).toMatch(/errorlog/);
    expect((await fetch(`${url}/`)).status).toBe(200);

    // logrotate moved the whole folder away: reopening fails, the old descriptor stays in use.
    renameSync(join(dir, 'logs'), join(dir, 'logs.1'));
    run.signal('SIGUSR1');
    const moved = join(dir, 'logs.1', 'error.log');
    await waitUntil(() => /USR1: cannot reopen the error log: .*still writing to the file it had open/.test(readFileSync(moved, 'utf8')), 'the failed reopen, in the file still open');
    expect((await fetch(`${url}/`)).status).toBe(200);
    expect((await run.stop()).code).toBe(0);
    expect(readFileSync(moved, 'utf8')).toMatch(/hostd stopped \(shutdown\), exit code 0/);
  });
});

describe('unix sockets', () => {
  it('never removes a regular file at the socket path', async () => {
    const dir = appProject();
    const path = join(dir, 'data.txt');
    writeFileSync(path, 'keep me\n');
    const result = await hostd(['run', '--bind', `unix:${path}`], { cwd: dir });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`cannot listen on unix:${path}: ${path} is a regular file, not a socket; hostd removes only a socket nothing answers on`);
    expect(readFileSync(path, 'utf8')).toBe('keep me\n');
  });

  it('creates the socket with unix_mode and gives it to unix_group', async () => {
    const dir = appProject();
    const path = join(dir, 'app.sock');
    // As root any group will do; otherwise only one's own.
    const group = process.getuid?.() === 0 ? 1 : process.getgid!();
    const run = startHostd(dir, ['--bind', `unix:${path}`, '--unix-mode', '640', '--unix-group', String(group)]);
    await run.ready();
    const stats = statSync(path);
    expect(stats.isSocket()).toBe(true);
    expect(stats.mode & 0o777).toBe(0o640);
    expect(stats.gid).toBe(group);
    expect((await run.stop()).code).toBe(0);
  });
});

describe('a config that never settles', () => {
  it('fails check with the file named, and a reload to it is rejected while the old generation serves', async () => {
    const hang = "import { recorded } from './record.ts';\nawait new Promise(() => {});\nexport default { ...recorded };\n";
    const dir = appProject(recordingConfig('workers: 1,'), { 'hanging.config.ts': hang });
    const check = await hostd(['check', '-c', 'hanging.config.ts', '--config-timeout', '0.5'], { cwd: dir });
    expect(check.code).toBe(1);
    expect(check.stderr).toContain('hostd: hanging.config.ts did not finish loading within config_timeout (0.5 s)');

    const run = startHostd(dir, ['--config-timeout', '1']);
    const url = await run.ready();
    writeFileSync(join(dir, 'hostd.config.ts'), hang);
    run.signal('SIGHUP');
    await run.waitForOutput(/reload: the config is invalid; nothing changed:\nhostd\.config\.ts did not finish loading within config_timeout \(1 s\)/);
    expect((await fetch(`${url}/`)).status).toBe(200);
    // The reload is over: TTIN is applied, not queued behind it.
    run.signal('SIGTTIN');
    await waitForRecord(hooksLog(dir), /^post_fork 2 /);
    expect((await run.stop()).code).toBe(0);
  });

  it('fails a worker whose own evaluation never settles, naming the file', async () => {
    const config = "import { host } from 'hostd';\nif (host.running) await new Promise(() => {});\nexport default { app: './app.mjs', bind: '127.0.0.1:0', workers: 1 };\n";
    const dir = project({ 'app.mjs': "export default (req, res) => res.end('ok');\n", 'hostd.config.ts': config, 'record.ts': RECORD_MODULE });
    const run = startHostd(dir, ['--config-timeout', '0.5']);
    expect((await run.exited).code).toBe(3);
    expect(run.output).toMatch(/worker 1 failed to boot: hostd\.config\.ts did not finish loading within config_timeout \(0\.5 s\)/);
  });

  it('fails a worker whose own evaluation gives a hook that is not a function, naming the key', async () => {
    // The primary validated a function; the worker replays the same text, which gives it something else.
    const config = "import { host } from 'hostd';\nexport default { app: './app.mjs', bind: '127.0.0.1:0', workers: 1, post_fork: host.running ? 42 : () => {} };\n";
    const dir = project({ 'app.mjs': "export default (req, res) => res.end('ok');\n", 'hostd.config.ts': config });
    const run = startHostd(dir);
    expect((await run.exited).code).toBe(3);
    expect(run.output).toMatch(/worker 1 failed to boot: .*post_fork: expected a function or an array of functions, got 42/);
  });
});

/** GET on a connection of its own (each one a routing decision in the primary); the body, or an error after `timeoutMs` of silence. */
function onNewConnection(url: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = get(url, { agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk));
      res.on('end', () => resolve(body));
    });
    request.on('timeout', () => request.destroy(new Error(`no answer from ${url} within ${timeoutMs} ms`)));
    request.on('error', reject);
  });
}

describe('a blocked worker', () => {
  const stopped = new Set<number>();
  afterEach(() => {
    for (const pid of stopped) {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {}
    }
    stopped.clear();
  });

  it('gets no new connections while its heartbeat is late, and gets them again when it beats', async () => {
    const dir = appProject(recordingConfig('workers: 2, timeout: 20,'));
    const run = startHostd(dir);
    const url = await run.ready();
    const [frozen, other] = workerPids(run.pid) as [number, number];
    process.kill(frozen, 'SIGSTOP');
    stopped.add(frozen);
    await run.waitForOutput(new RegExp(`worker \\d \\(pid ${frozen}\\) sent no heartbeat for [\\d.]+ s: no new connections go to it until it does`));
    for (let i = 0; i < 10; i++) expect(await onNewConnection(`${url}/pid`)).toBe(String(other));
    process.kill(frozen, 'SIGCONT');
    stopped.delete(frozen);
    await run.waitForOutput(new RegExp(`worker \\d \\(pid ${frozen}\\) answers again; it takes new connections`));
    const served = new Set<string>();
    await waitUntil(async () => {
      served.add(await onNewConnection(`${url}/pid`));
      return served.has(String(frozen));
    }, 'the worker to take connections again');
    expect((await run.stop()).code).toBe(0);
  });

  it('hands the connections it never took to another worker when it dies', async () => {
    const dir = appProject(recordingConfig('workers: 2, timeout: 60,'));
    const run = startHostd(dir);
    const url = await run.ready();
    const [frozen] = workerPids(run.pid) as [number, number];
    process.kill(frozen, 'SIGSTOP');
    stopped.add(frozen);
    // Round-robin: every second connection goes to the frozen worker, which takes none of them
    // (Node writes it the first and queues the rest behind it).
    let served = 0;
    const bodies = Array.from({ length: 6 }, () =>
      onNewConnection(`${url}/pid`, 30_000).then(
        (body) => (served++, body),
        (error: Error) => `failed: ${error.message}`,
      ),
    );
    await waitUntil(() => served >= 3, 'the other worker to answer the connections it was given');
    process.kill(frozen, 'SIGKILL');
    stopped.delete(frozen);
    const answered = await Promise.all(bodies);
    expect(answered.filter((body) => !/^\d+$/.test(body))).toEqual([]);
    expect(answered).not.toContain(String(frozen));
    expect((await run.stop()).code).toBe(0);
  });
});
