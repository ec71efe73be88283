/**
 * docs/guarantees.md, "Hooks and events": for each hook and host event, the process it runs
 * in, what has happened and what has not happened yet when it runs, checked from outside
 * while it runs. Hooks record their pid and what they can see (the socket file, their
 * process's children, the app); gates (test/helpers/gates.ts) hold a hook while the test
 * opens new connections to see which workers answer.
 */
import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { appProject, recordingConfig, TEST_APP } from '../helpers/apps.ts';
import { at, GATE_MODULE, probe, release } from '../helpers/gates.ts';
import { count, expectBefore, type Hostd, hooksLog, records, startHostd, waitForRecord, waitUntil, workerPids } from '../helpers/run.ts';

/** Imports for configs: what a hook can see of its own process. */
const HEAD = `import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { gate } from './gate.mjs';
const sock = new URL('./hostd.sock', import.meta.url).pathname;
/** How many child processes this process has now. */
const children = () => readFileSync(\`/proc/\${process.pid}/task/\${process.pid}/children\`, 'utf8').trim().split(/\\s+/).filter(Boolean).length;
const alive = (pid) => { try { process.kill(pid, 0); return true; } catch { return false; } };
/** GET path through the unix socket, on a connection of its own. */
const ask = (path) => new Promise((resolve) => {
  request({ socketPath: sock, path, agent: false }, (res) => { let body = ''; res.on('data', (d) => (body += d)); res.on('end', () => resolve(body)); })
    .on('error', (error) => resolve('error ' + error.code))
    .end();
});
`;

/** Asserts `ms` is within [low, high] seconds. */
function expectSeconds(what: string, ms: number, low: number, high: number): void {
  expect(ms / 1000, what).toBeGreaterThanOrEqual(low);
  expect(ms / 1000, what).toBeLessThanOrEqual(high);
}

/** Every worker pid named by `post_fork ID pid=PID` records. */
function forked(lines: readonly string[]): Map<number, number> {
  const pids = new Map<number, number>();
  for (const line of lines) {
    const m = /^post_fork (\d+) pid=(\d+)/.exec(line);
    if (m) pids.set(Number(m[1]), Number(m[2]));
  }
  return pids;
}

/** `n` probes on new connections: the pids that answered (or the errors). */
async function answers(url: string, n: number, path = '/pid'): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(await probe(url, path));
  return out;
}

/** Asserts that every record of a hook shows the pid of the process the table says it runs in. */
function expectRunsIn(lines: readonly string[], hostd: Hostd, workers: ReadonlySet<number>, primaryHooks: readonly string[], workerHooks: readonly string[]): void {
  for (const hook of [...primaryHooks, ...workerHooks]) {
    const pids = lines.flatMap((l) => (l.startsWith(`${hook} `) && / pid=\d/.test(l) ? [Number(/ pid=(\d+)/.exec(l)![1])] : []));
    expect(pids.length, `no ${hook} record in:\n${lines.join('\n')}`).toBeGreaterThan(0);
    for (const pid of pids) {
      if (primaryHooks.includes(hook)) expect(pid, `${hook} in the primary`).toBe(hostd.pid);
      else expect(workers.has(pid) && pid !== hostd.pid, `${hook} in a worker (pid ${pid}; workers ${[...workers].join(',')})`).toBe(true);
    }
  }
}

describe('what each hook can rely on (docs/guarantees.md, "Hooks and events")', () => {
  it('does not run on_starting for a config that is not valid', async () => {
    const dir = appProject(recordingConfig('workers: 0,'));
    const hostd = startHostd(dir);
    expect((await hostd.exited).code).toBe(1);
    expect(hostd.output).toMatch(/workers: expected an integer from 1/);
    expect(records(hooksLog(dir))).toEqual([]);
  });

  it('start, requests, TTIN and stop: each hook in its process, after and before what its row says', async () => {
    const app = `import { appendFileSync } from 'node:fs';
appendFileSync(new URL('./hooks.log', import.meta.url), 'app evaluated pid=' + process.pid + '\\n');
// A timer left running: the worker still exits right after worker_exit.
setInterval(() => {}, 1000);
${TEST_APP}`;
    const config = recordingConfig(
      `bind: ['127.0.0.1:0', 'unix:' + sock],
  workers: 2,
  dispatch: 'round_robin',
  hook_timeout: 20,
  // A timer left running in the primary: it still exits right after on_exit.
  on_starting: ({ server }) => { setInterval(() => {}, 1000); rec(\`on_starting pid=\${process.pid} workers=\${server.config.workers} socket=\${existsSync(sock)} children=\${children()}\`); },
  pre_fork: ({ worker }) => rec(\`pre_fork \${worker.id} pid=\${process.pid} worker.pid=\${worker.pid} socket=\${existsSync(sock)} children=\${children()}\`),
  post_fork: async ({ worker }) => { rec(\`post_fork \${worker.id} pid=\${process.pid}\`); if (worker.id === 3) await gate('post_fork'); },
  post_worker_init: async ({ worker, app }) => { rec(\`post_worker_init \${worker.id} pid=\${process.pid} app=\${typeof app}\`); if (worker.id === 3) await gate('post_worker_init'); },
  when_ready: async ({ workers }) => {
    const answered = [];
    for (let i = 0; i < 4; i++) answered.push(await ask('/pid'));
    rec(\`when_ready pid=\${process.pid} workers=\${workers.map((w) => w.pid).sort().join(',')} answered=\${[...new Set(answered)].sort().join(',')}\`);
  },
  pre_request: ({ worker, req }) => rec(\`pre_request \${worker.id} pid=\${process.pid} \${req.url}\`),
  post_request: ({ worker, req, res }) => rec(\`post_request \${worker.id} pid=\${process.pid} \${req.url} finished=\${res.writableFinished}\`),
  nworkers_changed: (ctx) => rec(\`nworkers_changed pid=\${process.pid} \${ctx.old}->\${ctx.new}\`),
  worker_exit: ({ worker, reason }) => rec(\`worker_exit \${worker.id} pid=\${process.pid} \${reason}\`),
  child_exit: ({ worker, reason, exit_code, exit_signal }) => rec(\`child_exit \${worker.id} pid=\${process.pid} \${reason} code=\${exit_code} signal=\${exit_signal} alive=\${alive(worker.pid)}\`),
  on_exit: ({ exit_code, reason }) => rec(\`on_exit pid=\${process.pid} \${exit_code} \${reason} children=\${children()}\`),`,
      HEAD,
    );
    const dir = appProject(config, { 'app.mjs': app, 'gate.mjs': GATE_MODULE });
    const log = hooksLog(dir);
    const hostd = startHostd(dir);
    const url = await hostd.ready();

    let lines = records(log);
    // on_starting: the config was loaded (its values are there); no socket is bound, no worker exists.
    expect(lines[0]).toBe(`on_starting pid=${hostd.pid} workers=2 socket=false children=0`);
    // pre_fork: the sockets are bound; the worker does not exist (no pid, and the first had no process yet).
    expect(lines.filter((l) => l.startsWith('pre_fork'))).toEqual([
      expect.stringMatching(new RegExp(`^pre_fork 1 pid=${hostd.pid} worker\\.pid=null socket=true children=0$`)),
      expect.stringMatching(new RegExp(`^pre_fork 2 pid=${hostd.pid} worker\\.pid=null socket=true children=[01]$`)),
    ]);
    // post_fork: in the worker, before its app was evaluated; post_worker_init: after, with the app.
    const initial = forked(lines);
    for (const [id, pid] of initial) {
      expectBefore(lines, new RegExp(`^post_fork ${id} pid=${pid}$`), new RegExp(`^app evaluated pid=${pid}$`));
      expectBefore(lines, new RegExp(`^app evaluated pid=${pid}$`), new RegExp(`^post_worker_init ${id} pid=${pid} app=function$`));
      expectBefore(lines, new RegExp(`^post_worker_init ${id} `), /^when_ready /);
    }
    // when_ready: every initial worker already answered connections (through the primary's socket).
    const both = [...initial.values()].sort().join(',');
    expect(lines).toContain(`when_ready pid=${hostd.pid} workers=${both} answered=${both}`);

    // The request hooks: in the worker that serves; post_request once the response finished.
    expect(await (await fetch(`${url}/`)).text()).toBe('hello');
    await waitForRecord(log, /^post_request \d pid=\d+ \/ finished=true$/);

    // TTIN: the new worker's post_fork and post_worker_init run while no connection reaches it.
    hostd.signal('SIGTTIN');
    await waitForRecord(log, /^post_fork waiting$/);
    const third = forked(records(log)).get(3)!;
    const serving = new Set([...initial.values()].map(String));
    for (const answer of await answers(url, 6)) expect(serving, `answered by ${answer} during post_fork of worker 3 (pid ${third})`).toContain(answer);
    release(dir, 'post_fork');
    await waitForRecord(log, /^post_worker_init waiting$/);
    expect(records(log)).toContain(`post_worker_init 3 pid=${third} app=function`);
    for (const answer of await answers(url, 6)) expect(serving, `answered by ${answer} during post_worker_init of worker 3 (pid ${third})`).toContain(answer);
    release(dir, 'post_worker_init');
    // Once ready it gets connections: the probes above could have seen it.
    await waitUntil(async () => (await answers(url, 3)).includes(String(third)), 'worker 3 to answer once ready');
    expect(records(log)).toContain(`nworkers_changed pid=${hostd.pid} 2->3`);

    expect((await hostd.stop('SIGTERM')).code).toBe(0);
    lines = records(log);
    const workers = new Set([...forked(lines).values()]);
    expectRunsIn(lines, hostd, workers, ['on_starting', 'pre_fork', 'when_ready', 'nworkers_changed', 'child_exit', 'on_exit'], ['post_fork', 'post_worker_init', 'pre_request', 'post_request', 'worker_exit']);
    // child_exit: the worker process had ended, and ended by itself right after worker_exit (not killed).
    for (const id of [1, 2, 3]) {
      expect(lines).toContain(`child_exit ${id} pid=${hostd.pid} shutdown code=0 signal=null alive=false`);
      expectBefore(lines, new RegExp(`^worker_exit ${id} pid=\\d+ shutdown$`), new RegExp(`^child_exit ${id} `));
    }
    // on_exit: every worker ended and every child_exit ran; it was the last thing, and the exit code is its exit_code.
    expect(lines.at(-1)).toBe(`on_exit pid=${hostd.pid} 0 shutdown children=0`);
    // when_ready ran once, TTIN and all.
    expect(count(lines, /^when_ready /)).toBe(1);
  });

  it('reload: on_reload before any new worker; the old generation serves until the new one is ready; a retired worker takes no connection while draining, shutdown and worker_exit run', async () => {
    const app = `import { host } from 'hostd';
import { existsSync } from 'node:fs';
import { gate, rec } from './gate.mjs';
let held = 0;
host.on('reload', ({ generation }) => rec(\`host reload pid=\${process.pid} generation=\${generation}\`));
host.on('draining', async ({ reason }) => { rec(\`draining pid=\${process.pid} \${reason} held=\${held}\`); if (globalThis.holding) await gate('draining'); });
host.on('shutdown', async ({ reason }) => { rec(\`host shutdown pid=\${process.pid} \${reason} held=\${held}\`); if (globalThis.holding) await gate('shutdown'); });
export default (req, res) => {
  if (req.url === '/hold') {
    globalThis.holding = true;
    held++;
    rec(\`hold pid=\${process.pid}\`);
    const wait = () => (existsSync(new URL('./release-hold', import.meta.url)) ? (held--, rec('hold done'), res.end('held')) : setTimeout(wait, 10));
    return void wait();
  }
  res.end(\`\${process.env.GREETING} \${process.pid}\`);
};
`;
    const config = (greeting: string) =>
      recordingConfig(
        `workers: 2, dispatch: 'round_robin', hook_timeout: 20, graceful_timeout: 20, env: { GREETING: '${greeting}' },
  on_reload: async ({ previous, server }) => { rec(\`on_reload pid=\${process.pid} \${previous.env.GREETING}->\${server.config.env.GREETING}\`); await gate('on_reload'); },
  post_fork: ({ worker }) => rec(\`post_fork \${worker.id} pid=\${process.pid} gen=\${worker.generation}\`),
  post_worker_init: async ({ worker }) => { if (worker.generation === 2 && worker.id === 1) await gate('post_worker_init'); rec(\`post_worker_init \${worker.id} pid=\${process.pid} gen=\${worker.generation}\`); },
  worker_exit: async ({ worker, reason }) => { rec(\`worker_exit \${worker.id} pid=\${process.pid} \${reason}\`); if (globalThis.holding) await gate('worker_exit'); },`,
        "import { gate } from './gate.mjs';",
      );
    const dir = appProject(config('v1'), { 'app.mjs': app, 'gate.mjs': GATE_MODULE });
    const log = hooksLog(dir);
    const hostd = startHostd(dir);
    const url = await hostd.ready();
    const old = new Set((await answers(url, 4, '/')).map((body) => body));
    expect(old.size, [...old].join(' | ')).toBe(2);
    const oldPids = new Set([...old].map((body) => Number(body.split(' ')[1])));

    // A request the retired worker will still hold when it begins draining.
    const held = fetch(`${url}/hold`).then((r) => r.text());
    await waitForRecord(log, /^hold pid=\d+$/);
    const holder = Number(/^hold pid=(\d+)$/.exec(records(log).find((l) => l.startsWith('hold '))!)![1]);

    // An invalid config: nothing runs, not even host.on('reload').
    writeFileSync(join(dir, 'hostd.config.ts'), config('v2').replace('workers: 2,', 'workers: 0,'));
    hostd.signal('SIGHUP');
    await hostd.waitForOutput(/reload: the config is invalid; nothing changed/);

    writeFileSync(join(dir, 'hostd.config.ts'), config('v2'));
    hostd.signal('SIGHUP');
    // on_reload: the new config was loaded and validated; no new worker started; the old generation serves.
    await waitForRecord(log, /^on_reload waiting$/);
    expect(records(log)).toContain(`on_reload pid=${hostd.pid} v1->v2`);
    expect(count(records(log), /gen=2/)).toBe(0);
    for (const body of await answers(url, 4, '/')) expect(old).toContain(body);
    release(dir, 'on_reload');

    // host.on('reload'): in each old worker, once the reload starts; they keep serving until the new generation is ready.
    await waitForRecord(log, /^post_worker_init waiting$/);
    await waitUntil(() => count(records(log), /^host reload pid=\d+ generation=2$/) === 2, 'host.on("reload") in both old workers');
    for (const body of await answers(url, 4, '/')) expect(old).toContain(body);
    expect(count(records(log), /^draining |^host shutdown /)).toBe(0);
    release(dir, 'post_worker_init');

    // The retired worker that holds a request: draining with it still in flight; from then on no connection reaches it.
    await waitForRecord(log, /^draining waiting$/);
    expect(records(log)).toContain(`draining pid=${holder} reload held=1`);
    const isNew = (body: string) => body.startsWith('v2 ');
    for (const body of await answers(url, 4, '/')) expect(isNew(body), `answered ${body} while a retired worker ran host.on('draining')`).toBe(true);
    // The request finishes; the worker still waits for its draining handler before shutdown.
    release(dir, 'hold');
    expect(await held).toBe('held');
    await waitForRecord(log, /^hold done$/);
    expect(count(records(log), new RegExp(`^host shutdown pid=${holder} `))).toBe(0);
    release(dir, 'draining');

    await waitForRecord(log, /^shutdown waiting$/);
    expect(records(log)).toContain(`host shutdown pid=${holder} reload held=0`);
    for (const body of await answers(url, 4, '/')) expect(isNew(body), `answered ${body} while a retired worker ran host.on('shutdown')`).toBe(true);
    expect(count(records(log), new RegExp(`^worker_exit \\d pid=${holder} `))).toBe(0);
    release(dir, 'shutdown');

    await waitForRecord(log, /^worker_exit waiting$/);
    for (const body of await answers(url, 4, '/')) expect(isNew(body), `answered ${body} while a retired worker ran worker_exit`).toBe(true);
    release(dir, 'worker_exit');
    await waitUntil(() => count(records(log), /^child_exit \d reload /) === 2, 'both old workers to leave');

    const lines = records(log);
    const newPids = new Set(lines.flatMap((l) => (/^post_fork \d pid=(\d+) gen=2$/.exec(l) ? [Number(/pid=(\d+)/.exec(l)![1])] : [])));
    expect(newPids.size).toBe(2);
    // Which process each ran in.
    expectRunsIn(lines, hostd, new Set([...oldPids, ...newPids]), ['on_reload'], ['host reload', 'draining', 'host shutdown', 'worker_exit']);
    for (const pid of oldPids) {
      expect(lines).toContain(`host reload pid=${pid} generation=2`);
      // The new generation was ready before the old worker got shutdown (reason reload).
      for (const newPid of newPids) expectBefore(lines, new RegExp(`^post_worker_init \\d pid=${newPid} gen=2$`), new RegExp(`^host shutdown pid=${pid} reload`));
    }
    // on_reload came before any worker of the new generation; only the valid reload ran anything.
    expectBefore(lines, /^on_reload released$/, /^pre_fork \d pid=null gen=2/);
    expect(count(lines, /^on_reload pid=/)).toBe(1);
    expect(count(lines, /^host reload /)).toBe(2);
    expect(count(lines, /^when_ready /)).toBe(1);
    // The reload did not change the number of workers.
    expect(count(lines, /^nworkers_changed /)).toBe(0);
  });
});

describe('host.on() handlers and request hooks (docs/guarantees.md, "Hooks and events")', () => {
  const APP = `import { host } from 'hostd';
import { gate, rec, sleep } from './gate.mjs';
const fail = (event) => () => { throw new Error(event + ' handler failed on purpose'); };
host.on('draining', fail('draining'));
for (const name of ['A', 'B']) host.on('draining', async ({ reason }) => { rec(\`draining \${name} start \${reason} \${Date.now()}\`); await sleep(500); rec(\`draining \${name} end \${Date.now()}\`); });
// One that never settles: left at graceful_timeout, its signal aborted.
host.on('draining', ({ signal }) => { rec(\`draining C start \${Date.now()}\`); signal.addEventListener('abort', () => rec(\`draining C aborted \${Date.now()}\`)); return new Promise(() => {}); });
host.on('shutdown', fail('shutdown'));
host.on('shutdown', ({ reason }) => rec(\`shutdown second \${reason}\`));
host.on('reload', fail('reload'));
// A reload handler gets no signal (its context is { generation }): this one just never settles.
host.on('reload', () => { rec(\`reload start \${Date.now()}\`); return new Promise(() => {}); });
host.on('reload', () => rec(\`reload third \${Date.now()}\`));
host.on('request', ({ req }) => { if (req.url === '/throw-observer') throw new Error('request handler failed on purpose'); });
host.on('request', ({ req, aborted }) => rec(\`request second \${req.url} aborted=\${aborted} pid=\${process.pid}\`));
host.on('request', async ({ req }) => {
  const ms = { '/observer-400': 400, '/observer-1500': 1500, '/observer-5000': 5000 }[req.url];
  if (ms) { await sleep(ms); rec(\`request \${req.url} done\`); }
});
// The new generation of a reload waits for the test: the old worker's reload handlers all run before it is retired.
if (host.worker?.generation === 2) await gate('generation-2');
export default (req, res) => {
  if (req.url === '/partial') { res.write('part'); return void setTimeout(() => res.end('rest'), 5000); }
  res.end('app answered');
};
`;

  it('a failing handler is logged and the next still runs; draining handlers run together, waited for until graceful_timeout; request hooks have no deadline, a stop waits hook_timeout for them', async () => {
    const config = recordingConfig(
      `workers: 1, hook_timeout: 1, graceful_timeout: 1,
  pre_request: async ({ req, res }) => {
    if (req.url === '/slow-pre') { await sleep(1500); rec('pre_request slow done'); }
    if (req.url === '/sent-then-throw') { res.writeHead(202); res.write('partial'); throw new Error('pre_request failed after sending'); }
  },
  post_request: [recorded.post_request, async ({ req }) => { if (req.url === '/slow-post') { await sleep(1500); rec('post_request slow done'); } }],`,
      "import { sleep } from './gate.mjs';",
    );
    const dir = appProject(config, { 'app.mjs': APP, 'gate.mjs': GATE_MODULE });
    const log = hooksLog(dir);
    const hostd = startHostd(dir);
    const url = await hostd.ready();

    // No deadline on the request path: pre_request, post_request and a request handler taking longer than hook_timeout are not cut.
    const [slowPre] = await Promise.all(['/slow-pre', '/slow-post', '/observer-1500'].map(async (path) => {
      const response = await fetch(`${url}${path}`);
      return [response.status, await response.text()];
    }));
    expect(slowPre).toEqual([200, 'app answered']);
    expect(records(log)).toContain('pre_request slow done');
    await waitForRecord(log, /^post_request slow done$/);
    await waitForRecord(log, /^request \/observer-1500 done$/);

    // A pre_request that fails after it began the response: no 500 then (the status was sent); the response is cut, post_request still runs.
    const sent = await fetch(`${url}/sent-then-throw`);
    expect(sent.status).toBe(202);
    await expect(sent.text()).rejects.toThrow();
    await waitForRecord(log, /^post_request 1 \/sent-then-throw 202 aborted=true error=pre_request failed after sending$/);

    // host.on('request'): after post_request; a handler that throws is logged, the next runs; told when the client went away.
    expect(await (await fetch(`${url}/throw-observer`)).text()).toBe('app answered');
    const observed = await waitForRecord(log, /^request second \/throw-observer aborted=false pid=\d+$/);
    const observerPid = Number(/pid=(\d+)$/.exec(observed.find((l) => l.startsWith('request second /throw-observer'))!)![1]);
    expect(workerPids(hostd.pid), 'host.on("request") runs in the worker').toEqual([observerPid]);
    expectBefore(records(log), /^post_request 1 \/throw-observer 200/, /^request second \/throw-observer/);
    await hostd.waitForOutput(/host\.on\('request'\) handler threw: Error: request handler failed on purpose\n\s+at /);
    await new Promise<void>((resolve) => {
      const req = get(`${url}/partial`, (res) => res.once('data', () => (req.destroy(), resolve())));
      req.on('error', () => {});
    });
    await waitForRecord(log, /^request second \/partial aborted=true pid=\d+$/);

    // host.on('reload'): #1 throws, #2 passes hook_timeout and is left behind, #3 still runs.
    hostd.signal('SIGHUP');
    await waitForRecord(log, /^reload third /);
    release(dir, 'generation-2');
    let lines = records(log);
    const started = at(lines, /^reload start (\d+)/);
    const third = at(lines, /^reload third (\d+)/);
    expect(third - started).toBeGreaterThanOrEqual(900);
    expect(third - started).toBeLessThan(2500);
    await hostd.waitForOutput(/host\.on\('reload'\) handler #1 threw: Error: reload handler failed on purpose\n\s+at /);
    await hostd.waitForOutput(/host\.on\('reload'\) handler #2 did not finish within hook_timeout \(1 s\)/);

    // The retired worker: draining handlers together (#1 throws), the worker waits for them, then shutdown (#1 throws, #2 runs), then worker_exit.
    lines = await waitForRecord(log, /^worker_exit 1 reload$/);
    const [aStart, aEnd, bStart, bEnd] = ['A start reload', 'A end', 'B start reload', 'B end'].map((what) => at(lines, new RegExp(`^draining ${what} (\\d+)`)));
    expect(bStart, 'draining handlers run together').toBeLessThan(aEnd!);
    expect(aStart, 'draining handlers run together').toBeLessThan(bEnd!);
    expectSeconds("a draining handler that never settles is left at graceful_timeout", at(lines, /^draining C aborted (\d+)/) - at(lines, /^draining C start (\d+)/), 0.9, 2);
    expectBefore(lines, /^draining C aborted/, /^shutdown second reload$/);
    expect(hostd.output).toMatch(/host\.on\('draining'\) handler #4 did not finish within graceful_timeout \(1 s\)/);
    expectBefore(lines, /^draining A end/, /^shutdown second reload$/);
    expectBefore(lines, /^draining B end/, /^shutdown second reload$/);
    expectBefore(lines, /^shutdown second reload$/, /^worker_exit 1 reload$/);
    expect(hostd.output).toMatch(/host\.on\('draining'\) handler #1 threw: Error: draining handler failed on purpose\n\s+at /);
    expect(hostd.output).toMatch(/host\.on\('shutdown'\) handler #1 threw: Error: shutdown handler failed on purpose\n\s+at /);

    // A stop waits for async request handlers still running, for at most hook_timeout.
    await fetch(`${url}/observer-400`);
    await fetch(`${url}/observer-5000`);
    const stopping = records(log).length;
    expect((await hostd.stop('SIGTERM')).code).toBe(0);
    lines = records(log).slice(stopping);
    expectBefore(lines, /^request \/observer-400 done$/, /^shutdown second shutdown$/);
    const done = lines.indexOf('request /observer-5000 done');
    expect(done === -1 || done > lines.indexOf('shutdown second shutdown'), `the stop waited past hook_timeout:\n${lines.join('\n')}`).toBe(true);
    expect(lines).toContain('child_exit 1 shutdown code=0 signal=null');
    expect(hostd.output).not.toMatch(/(pre_request|post_request|host\.on\('request'\)).* did not finish/);
  });
});

describe('hook_timeout is per function (docs/guarantees.md, "deadline")', () => {
  it('lets each of three functions of a hook take most of hook_timeout: every hook, at start, on a reload that adds a worker, and in a fast stop', async () => {
    // Three functions of 200 ms each under a 0.5 s hook_timeout: a deadline for the hook as a whole would be passed.
    const hooks = ['on_starting', 'pre_fork', 'post_fork', 'post_worker_init', 'when_ready', 'on_reload', 'nworkers_changed', 'worker_int', 'worker_exit', 'child_exit', 'on_exit'];
    const config = (workers: number) =>
      recordingConfig(
        `workers: ${workers}, hook_timeout: 0.5,
  ${hooks.map((hook) => `${hook}: [1, 2, 3].map((n) => async () => { await sleep(200); rec('${hook} #' + n); }),`).join('\n  ')}`,
        "import { sleep } from './gate.mjs';",
      );
    const app = `import { host } from 'hostd';
import { rec, sleep } from './gate.mjs';
for (const n of [1, 2, 3]) host.on('shutdown', async () => { await sleep(200); rec('shutdown #' + n); });
for (const n of [1, 2, 3]) host.on('reload', async () => { await sleep(200); rec('reload #' + n); });
${TEST_APP}`;
    const dir = appProject(config(1), { 'app.mjs': app, 'gate.mjs': GATE_MODULE });
    const log = hooksLog(dir);
    const hostd = startHostd(dir);
    await hostd.ready();
    writeFileSync(join(dir, 'hostd.config.ts'), config(2));
    hostd.signal('SIGHUP');
    await hostd.waitForOutput(/reloaded: generation 2 is serving/, 20_000);
    await waitUntil(() => count(records(log), /^child_exit #3$/) === 1, 'the old worker to leave', 10_000);
    expect((await hostd.stop('SIGINT')).code).toBe(0);

    const lines = records(log);
    expect(hostd.output).not.toMatch(/did not finish/);
    for (const name of [...hooks, 'shutdown', 'reload']) {
      for (const n of [1, 2, 3]) expect(lines, `${name} #${n}`).toContain(`${name} #${n}`);
    }
  }, 40_000);
});
