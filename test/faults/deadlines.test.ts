/**
 * The deadlines of docs/guarantees.md ("deadline" in "Hooks and events", and "The stop
 * plan"), measured: every call of a stop hangs and records when it started and when its
 * signal aborted (test/helpers/gates.ts `hang`), so the time hostd gave it is in the record.
 * A fast stop gives each call at most 3 s, a second stop signal 1 s; the primary kills a
 * worker that cannot stop 1 s after its plan.
 */
import { describe, expect, it } from 'vitest';
import { stopPlan } from '../../src/config/stop-plan.ts';
import { appProject, recordingConfig, TEST_APP } from '../helpers/apps.ts';
import { at, GATE_MODULE } from '../helpers/gates.ts';
import { count, expectBefore, type Hostd, hooksLog, records, startHostd, waitForRecord, workerPids } from '../helpers/run.ts';

/** A project whose config hangs the calls `settings` names (with `hang`), serving TEST_APP behind `appHead`. */
function hangingProject(settings: string, appHead: string): string {
  return appProject(recordingConfig(settings, "import { hang } from './gate.mjs';"), { 'app.mjs': `${appHead}\n${TEST_APP}`, 'gate.mjs': GATE_MODULE });
}

/**
 * Hooks that hang until their deadline (recorded: child_exit, on_exit, post_request): every
 * exit call, worker_int unless `workerInt` is false, and post_request for a request to /hang.
 */
function hangingHooks(workerInt = true): string {
  return `post_request: [recorded.post_request, ({ req, signal }) => (req.url === '/hang' ? hang('post_request')({ signal }) : undefined)],
  worker_int: ${workerInt ? "hang('worker_int')" : '[]'},
  worker_exit: hang('worker_exit'),
  child_exit: [recorded.child_exit, hang('child_exit')],
  on_exit: [recorded.on_exit, hang('on_exit')],`;
}

/** Starts `dir` and answers one request to /hang, whose post_request call then hangs (hangingHooks). */
async function withHangingPostRequest(dir: string): Promise<{ log: string; hostd: Hostd; url: string }> {
  const log = hooksLog(dir);
  const hostd = startHostd(dir);
  const url = await hostd.ready();
  await (await fetch(`${url}/hang`)).text();
  await waitForRecord(log, /^post_request start /);
  return { log, hostd, url };
}

/** When the primary process exits (Date.now()), whatever the pipes do after. */
function exitTime(hostd: Hostd): Promise<number> {
  return new Promise((resolve) => hostd.child.once('exit', () => resolve(Date.now())));
}

/** A request in flight: 'answered', or the time (Date.now()) its connection was cut. */
function inFlight(url: string): Promise<'answered' | number> {
  return fetch(`${url}/slow?ms=30000`).then(
    async (response): Promise<'answered'> => (await response.text(), 'answered'),
    () => Date.now(),
  );
}

/** Asserts `ms` is within [low, high] seconds, naming `what`. */
function expectSeconds(what: string, ms: number, low: number, high: number, lines: readonly string[]): void {
  expect(ms / 1000, `${what}: ${ms} ms, expected ${low}..${high} s, in:\n${lines.join('\n')}`).toBeGreaterThanOrEqual(low);
  expect(ms / 1000, `${what}: ${ms} ms, expected ${low}..${high} s, in:\n${lines.join('\n')}`).toBeLessThanOrEqual(high);
}

/**
 * A second SIGTERM while the worker drains: its draining handler, a post_request call, its
 * shutdown handler and every exit hook hang. `workerInt` adds a worker_int function (which
 * does not run: the worker was already stopping) to the config.
 */
async function secondSignalDuringDrain(workerInt: boolean): Promise<{ hostd: Hostd; lines: string[]; second: number; cut: 'answered' | number; exitAt: number }> {
  const dir = hangingProject(
    `workers: 1, hook_timeout: 10, graceful_timeout: 30,
${hangingHooks(workerInt)}`,
    `import { host } from 'hostd';
import { hang } from './gate.mjs';
host.on('draining', hang('draining'));
host.on('shutdown', hang('shutdown'));`,
  );
  const { log, hostd, url } = await withHangingPostRequest(dir);
  const slow = inFlight(url);
  await waitForRecord(log, /^pre_request 1 \/slow/);
  const exited = exitTime(hostd);
  hostd.signal('SIGTERM');
  await waitForRecord(log, /^draining start /);
  const second = Date.now();
  hostd.signal('SIGTERM');
  const cut = await slow;
  expect((await hostd.exited).code).toBe(0);
  return { hostd, lines: records(log), second, cut, exitAt: await exited };
}

describe('the deadlines of a stop (docs/guarantees.md)', () => {
  // The 3 s cap itself is shown in fake time (test/runtime/hooks/runner.test.ts); here hook_timeout is below it, so the run waits 1 s a call.
  it('a fast stop: no drain_delay, no drain; worker_int, host.on("shutdown"), worker_exit, child_exit and on_exit each get their deadline (hook_timeout, below the 3 s cap), post_request calls 1 s; connections close right after worker_int', async () => {
    const dir = hangingProject(
      `workers: 1, hook_timeout: 1, drain_delay: 30,
  ${hangingHooks()}`,
      `import { host } from 'hostd';
import { hang } from './gate.mjs';
host.on('shutdown', hang('shutdown'));
host.on('request', ({ req }) => (req.url === '/hang' ? new Promise(() => {}) : undefined));`,
    );
    const log = hooksLog(dir);
    const hostd = startHostd(dir);
    const url = await hostd.ready();
    // A post_request call and a request handler that never settle; a request in flight.
    await (await fetch(`${url}/hang`)).text();
    await waitForRecord(log, /^post_request start /);
    const slow = inFlight(url);
    await waitForRecord(log, /^pre_request 1 \/slow/);
    const [workerPid] = workerPids(hostd.pid);
    const exited = exitTime(hostd);
    const signalled = Date.now();
    hostd.signal('SIGINT');
    const cut = await slow;
    expect((await hostd.exited).code).toBe(0);
    const exitAt = await exited;

    const lines = records(log);
    expect(lines, 'the worker ended by itself, within the plan').toContain('child_exit 1 shutdown code=0 signal=null');
    // Each ran in the process its row says.
    for (const [what, pid] of [['worker_int', workerPid], ['shutdown', workerPid], ['worker_exit', workerPid], ['child_exit', hostd.pid], ['on_exit', hostd.pid]] as const) {
      expect(lines, `${what} in pid ${pid}`).toContainEqual(expect.stringMatching(new RegExp(`^${what} start \\d+ aborted=false pid=${pid}$`)));
    }
    const t = (what: string) => at(lines, new RegExp(`^${what} (\\d+)`));
    // drain_delay and the drain are skipped.
    expectSeconds('SIGINT to worker_int', t('worker_int start') - signalled, 0, 1.5, lines);
    expectSeconds('worker_int', t('worker_int aborted') - t('worker_int start'), 0.8, 2.5, lines);
    // Connections were open during worker_int, and closed right after.
    expect(typeof cut, 'the request in flight is cut').toBe('number');
    expectSeconds('worker_int to the cut', (cut as number) - t('worker_int aborted'), -0.05, 1, lines);
    expectSeconds('the wait for post_request and request handlers', t('shutdown start') - t('worker_int aborted'), 0.8, 2.5, lines);
    expectSeconds("host.on('shutdown')", t('shutdown aborted') - t('shutdown start'), 0.8, 2.5, lines);
    expectSeconds('worker_exit', t('worker_exit aborted') - t('worker_exit start'), 0.8, 2.5, lines);
    expectSeconds('child_exit', t('child_exit aborted') - t('child_exit start'), 0.8, 2.5, lines);
    expectSeconds('on_exit', t('on_exit aborted') - t('on_exit start'), 0.8, 2.5, lines);
    expectSeconds('on_exit to the exit', exitAt - t('on_exit aborted'), -0.05, 1, lines);
    for (const what of ['hook worker_int', "host.on\\('shutdown'\\) handler", 'hook worker_exit', 'hook child_exit\\[1\\]', 'hook on_exit\\[1\\]']) {
      expect(hostd.output).toMatch(new RegExp(`${what} .*did not finish within hook_timeout \\(1 s\\)`));
    }
  });

  it('a second SIGTERM during the drain: running handlers are aborted at once, connections close, and every later call and wait gets 1 s', async () => {
    const { hostd, lines, second, cut, exitAt } = await secondSignalDuringDrain(true);
    expect(lines, `the worker ended by itself, within the plan:\n${hostd.output}`).toContain('child_exit 1 shutdown code=0 signal=null');
    expect(count(lines, /^worker_int /), 'worker_int does not run: the worker was already stopping').toBe(0);
    const t = (what: string) => at(lines, new RegExp(`^${what} (\\d+)`));
    expectSeconds("the draining handler's signal aborts", t('draining aborted') - second, 0, 0.5, lines);
    expect(typeof cut, 'the request in flight is cut').toBe('number');
    expectSeconds('the second signal to the cut', (cut as number) - second, 0, 0.5, lines);
    // The draining handler is left 1 s after the second signal, then the post_request call 1 s.
    expectSeconds("host.on('draining') and the post_request wait after the second signal", t('shutdown start') - second, 1.8, 3, lines);
    expectSeconds("host.on('shutdown')", t('worker_exit start') - t('shutdown start'), 0.8, 1.8, lines);
    expectSeconds('worker_exit', t('child_exit start') - t('worker_exit start'), 0.8, 2, lines);
    expectSeconds('child_exit', t('on_exit start') - t('child_exit start'), 0.8, 1.8, lines);
    expectSeconds('on_exit', exitAt - t('on_exit start'), 0.8, 2, lines);
    for (const what of ["host.on\\('draining'\\) handler", "host.on\\('shutdown'\\) handler", 'hook worker_exit', 'hook child_exit\\[1\\]', 'hook on_exit\\[1\\]']) {
      expect(hostd.output).toMatch(new RegExp(`${what} .*did not finish after a second stop signal`));
    }
  }, 30_000);

  it.each([
    ['SIGINT', 'fast'],
    ['a second SIGTERM', 'escalated'],
  ] as const)('after %s, the primary kills a worker that cannot run its stop (SIGSTOP) 1 s after the %s stop plan', async (_signal, mode) => {
    const settings = { drain_delay: 0, graceful_timeout: 30, hook_timeout: 1 };
    const dir = appProject(recordingConfig(`workers: 1, timeout: 0, graceful_timeout: ${settings.graceful_timeout}, hook_timeout: ${settings.hook_timeout},`));
    const hostd = startHostd(dir);
    await hostd.ready();
    const [pid] = workerPids(hostd.pid);
    process.kill(pid!, 'SIGSTOP');
    if (mode === 'escalated') {
      hostd.signal('SIGTERM');
      await hostd.waitForOutput(/hostd stopping \(shutdown\)/);
    }
    const signalled = Date.now();
    hostd.signal(mode === 'fast' ? 'SIGINT' : 'SIGTERM');
    const [, planned] = (await hostd.waitForOutput(/worker 1 \(pid \d+\) did not exit within its stop plan \(([\d.]+) s; last seen [^)]*\); killing it/, 15_000)) as RegExpMatchArray;
    const elapsed = Date.now() - signalled;
    // The recording config: one post_request, worker_int and worker_exit function each; no shutdown handler.
    const plan = stopPlan(settings, { post_request: 1, worker_int: 1, shutdown: 0, worker_exit: 1, child_exit: 1, on_exit: 1 }, mode);
    expect(Number(planned)).toBeCloseTo(plan.killAfter!, 0);
    // Not before the plan's end plus 1 s, and not long after.
    expectSeconds('the kill', elapsed, 3.9, plan.killAfter! + 1.5, [hostd.output]);
    expect((await hostd.exited).code).toBe(0);
    expect(records(hooksLog(dir)).slice(-2)).toEqual(['child_exit 1 killed code=null signal=SIGKILL', 'on_exit 0 shutdown']);
  });
});

describe('a second stop signal before a worker began stopping, or with draining handlers running', () => {
  // The primary plans this stop as escalated (1 s per call) and tells the worker so; a worker told only "fast" gave
  // worker_int 3 s and was killed before host.on('shutdown') and worker_exit ran.
  it('a second SIGTERM during drain_delay: the stop starts at once, worker_int and every later call get 1 s', async () => {
    const dir = hangingProject(
      `workers: 1, hook_timeout: 10, drain_delay: 20,
  ${hangingHooks()}`,
      `import { host } from 'hostd';
import { hang } from './gate.mjs';
host.on('shutdown', hang('shutdown'));`,
    );
    const { log, hostd, url } = await withHangingPostRequest(dir);
    const exited = exitTime(hostd);
    hostd.signal('SIGTERM');
    await hostd.waitForOutput(/draining: readiness answers 503 for 20 s/);
    const second = Date.now();
    hostd.signal('SIGTERM');
    expect((await hostd.exited).code).toBe(0);
    const exitAt = await exited;

    const lines = records(log);
    // drain_delay is cut short; the worker had not begun stopping, so worker_int runs.
    expectSeconds('drain_delay after the second signal', at(lines, /^worker_int start (\d+)/) - second, 0, 1, lines);
    expect(lines, `the worker ended by itself, within the plan:\n${hostd.output}`).toContain('child_exit 1 shutdown code=0 signal=null');
    const t = (what: string) => at(lines, new RegExp(`^${what} (\\d+)`));
    // worker_int 1 s, then the post_request wait 1 s.
    expectSeconds('worker_int and the post_request wait', t('shutdown start') - t('worker_int start'), 1.6, 3, lines);
    expectSeconds("host.on('shutdown')", t('worker_exit start') - t('shutdown start'), 0.8, 1.8, lines);
    expectSeconds('worker_exit', t('child_exit start') - t('worker_exit start'), 0.8, 2, lines);
    expectSeconds('child_exit', t('on_exit start') - t('child_exit start'), 0.8, 1.8, lines);
    expectSeconds('on_exit', exitAt - t('on_exit start'), 0.8, 2, lines);
  }, 30_000);

  // The escalated plan the primary kills by counts the 1 s the draining handlers still get after the second signal
  // (it did not, which a worker_int function, counted though it does not run, hid).
  it('a second SIGTERM during the drain, without a worker_int function: the worker still gets its 1 s per call before the primary kills it', async () => {
    const { hostd, lines } = await secondSignalDuringDrain(false);
    expect(lines, `the worker ended by itself, within the plan:\n${hostd.output}`).toContain('child_exit 1 shutdown code=0 signal=null');
    expect(hostd.output).toMatch(/hook worker_exit .*did not finish after a second stop signal/);
  }, 30_000);

  // As guarantees.md says: a stop does not wait for reload handlers; the retired worker's exit calls still run.
  it("host.on('reload'): a worker retired while a reload handler still runs does not wait for it; its shutdown handlers and worker_exit run", async () => {
    const dir = appProject(recordingConfig('workers: 1, hook_timeout: 2,'), {
      'gate.mjs': GATE_MODULE,
      'app.mjs': `import { host } from 'hostd';
import { rec } from './gate.mjs';
host.on('reload', () => { rec('reload first'); return new Promise(() => {}); });
host.on('reload', () => rec('reload second'));
host.on('shutdown', ({ reason }) => rec(\`shutdown \${reason}\`));
${TEST_APP}`,
    });
    const log = hooksLog(dir);
    const hostd = startHostd(dir);
    await hostd.ready();
    hostd.signal('SIGHUP');
    await waitForRecord(log, /^child_exit 1 reload /, 15_000);
    const lines = records(log);
    expect(lines, hostd.output).toContain('reload first');
    expect(lines).not.toContain('reload second');
    expectBefore(lines, /^shutdown reload$/, /^worker_exit 1 reload$/);
    expect(lines.find((l) => l.startsWith('child_exit 1 reload')), hostd.output).toBe('child_exit 1 reload code=0 signal=null');
  });
});
