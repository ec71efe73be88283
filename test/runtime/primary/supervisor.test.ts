/**
 * The supervisor core, driven by sequences of events alone: no process, socket, file or
 * clock. Each test plays what the shell would feed it and reads the commands it gives.
 */
import { describe, expect, it } from 'vitest';
import type { HookName, ResolvedSettings } from '../../../src/config/options.generated.ts';
import { HOOK_NAMES, SETTING_NAMES, SETTINGS } from '../../../src/config/settings.ts';
import { stopPlan } from '../../../src/config/stop-plan.ts';
import type { ToPrimary, WorkerShape } from '../../../src/runtime/ipc.ts';
import type { Command, CoreAnswer, CoreRequest, Event, GenerationInfo, TimerKey } from '../../../src/runtime/primary/events.ts';
import { BACKOFF_BASE_MS, STABLE_AFTER_MS, Supervisor } from '../../../src/runtime/primary/supervisor.ts';

type Hooks = Partial<Record<HookName, number>>;

function generation(number: number, settings: Partial<ResolvedSettings> = {}, hooks: Hooks = {}): GenerationInfo {
  const defaults = Object.fromEntries(SETTING_NAMES.map((name) => [name, SETTINGS[name].default])) as unknown as ResolvedSettings;
  const s = { ...defaults, app: '/app.mjs', ...settings };
  return {
    number,
    settings: s,
    workers: s.workers === 'auto' ? 2 : s.workers,
    hooks: Object.fromEntries(HOOK_NAMES.map((name) => [name, hooks[name] ?? 0])) as Record<HookName, number>,
  };
}

const NO_HANDLERS: WorkerShape = { post_request: 0, worker_int: 0, shutdown: 0, worker_exit: 0 };

/**
 * Plays the shell: feeds events at a fake time, keeps the commands, the timers and the
 * processes it would have. Time passes in two ways: `advance` is time the primary is awake
 * (its heartbeat tick fires, and every worker not blocked sends its heartbeat), `pause` is
 * a stall (SIGSTOP, a paused container): time jumps and nothing is read.
 */
class Harness {
  readonly core: Supervisor;
  now = 0;
  /** Every command so far, in order. */
  readonly commands: Command[] = [];
  /** Hooks and binds not answered yet, by token. */
  private readonly open = new Map<number, Command>();
  /** Timers set and not cleared: name → when it fires. */
  readonly timers = new Map<string, number>();
  /** Workers forked and not exited: age → pid. */
  readonly alive = new Map<number, number>();
  /** Workers whose event loop is blocked: they send nothing. */
  readonly blocked = new Set<number>();
  /** The connections each worker last reported (its next heartbeats say the same). */
  private readonly connections = new Map<number, number>();
  exitCode: number | null = null;
  private pids = 1000;

  constructor(first: GenerationInfo) {
    this.core = new Supervisor(first);
  }

  feed(event: Event): Command[] {
    const out = this.core.handle(event, this.now);
    for (const c of out) {
      this.commands.push(c);
      if ('token' in c && c.token !== undefined) this.open.set(c.token, c);
      if (c.t === 'timer') {
        if (c.ms === null) this.timers.delete(c.name);
        else this.timers.set(c.name, this.now + c.ms);
      }
      if (c.t === 'exit') this.exitCode = c.code;
    }
    // Forking is immediate, as in the shell.
    for (const c of out) if (c.t === 'fork') this.feed({ t: 'forked', age: c.age, pid: this.fork(c.age) });
    return out;
  }

  private fork(age: number): number {
    const pid = ++this.pids;
    this.alive.set(age, pid);
    return pid;
  }

  /** The oldest unanswered hook or bind of this kind. */
  pending(what: string): Command & { token: number } {
    for (const c of this.open.values()) {
      if ((c.t === 'run_hook' && c.hook === what) || (c.t !== 'run_hook' && c.t === what) || (c.t === 'lifecycle' && c.event === what)) return c as Command & { token: number };
    }
    throw new Error(`nothing pending for ${what}; open: ${[...this.open.values()].map((c) => (c.t === 'run_hook' ? c.hook : c.t)).join(', ')}`);
  }

  /** Answers the oldest pending `what` (a hook name, `listen` or `listening`). */
  answer(what: string, failure: string | null = null): Command[] {
    const c = this.pending(what);
    this.open.delete(c.token);
    return this.feed({ t: 'done', token: c.token, failure });
  }

  /** Answers every pending `what`. */
  answerAll(what: string): void {
    for (;;) {
      try {
        this.answer(what);
      } catch {
        return;
      }
    }
  }

  message(age: number, message: ToPrimary): Command[] {
    if (message.t === 'heartbeat') this.connections.set(age, message.connections);
    return this.feed({ t: 'message', age, message });
  }

  /** Worker `age` sends no heartbeat of its own any more (its event loop is blocked); a test may still feed its messages. */
  block(age: number): void {
    this.blocked.add(age);
  }

  ready(age: number, shape: WorkerShape = NO_HANDLERS): Command[] {
    return this.message(age, { t: 'ready', shape });
  }

  exit(age: number, code: number | null, signal: NodeJS.Signals | null = null): Command[] {
    this.alive.delete(age);
    return this.feed({ t: 'exited', age, code, signal });
  }

  signal(signal: Extract<Event, { t: 'signal' }>['signal']): Command[] {
    return this.feed({ t: 'signal', signal });
  }

  private requests = 0;

  /** A control request; returns the answer if the core gave one in this event. */
  request(request: CoreRequest): { id: number; answer: CoreAnswer | undefined } {
    const id = ++this.requests;
    this.feed({ t: 'request', id, request });
    return { id, answer: this.answerTo(id) };
  }

  /** The answer the core gave to request `id` so far. */
  answerTo(id: number): CoreAnswer | undefined {
    return (this.commands.find((c) => c.t === 'reply' && c.id === id) as { answer: CoreAnswer } | undefined)?.answer;
  }

  /** Awake time passes up to `name`'s firing time; then it fires. */
  fire(name: string): Command[] {
    const at = this.timers.get(name);
    if (at === undefined) throw new Error(`no timer ${name}; have ${[...this.timers.keys()].join(', ')}`);
    if (name !== 'heartbeats') this.advance(Math.max(0, at - this.now));
    // What it was for was done at an event on the way (a tick): the core cleared it.
    if (!this.timers.has(name)) return [];
    this.now = Math.max(this.now, this.timers.get(name)!);
    this.timers.delete(name);
    return this.feed({ t: 'timer', name: name as TimerKey });
  }

  /** `ms` of awake time: each heartbeat tick due fires, after the heartbeats of the workers not blocked. */
  advance(ms: number): void {
    const end = this.now + ms;
    for (let tick = this.timers.get('heartbeats'); tick !== undefined && tick <= end; tick = this.timers.get('heartbeats')) {
      this.now = tick;
      for (const age of this.alive.keys()) if (!this.blocked.has(age)) this.message(age, { t: 'heartbeat', connections: this.connections.get(age) ?? 0 });
      this.timers.delete('heartbeats');
      this.feed({ t: 'timer', name: 'heartbeats' });
    }
    this.now = end;
  }

  /** The primary does not run for `ms` (stopped or paused): time jumps, nothing is read. */
  pause(ms: number): void {
    this.now += ms;
  }

  /** Workers forked so far, by age. */
  forked(): number[] {
    return this.commands.filter((c) => c.t === 'fork').map((c) => (c as { age: number }).age);
  }

  lastRoute(): readonly number[] {
    const routes = this.commands.filter((c) => c.t === 'route');
    return routes.length ? (routes.at(-1) as { ages: readonly number[] }).ages : [];
  }

  logs(level?: string): string[] {
    return this.commands.filter((c) => c.t === 'log' && (level === undefined || c.level === level)).map((c) => (c as { message: string }).message);
  }

  sent(age: number): string[] {
    return this.commands.filter((c) => c.t === 'send' && c.age === age).map((c) => JSON.stringify((c as { message: unknown }).message));
  }

  /** Starts up to the workers' pre_fork: on_starting, the bind and the pidfile answered. */
  bind(): void {
    this.feed({ t: 'start' });
    this.answer('on_starting');
    this.answer('listen');
    this.answer('listening');
  }

  /** Starts and answers everything up to "ready", with every worker ready. */
  start(): void {
    this.bind();
    this.answerAll('pre_fork');
    for (const key of this.forked()) this.ready(key);
    this.answer('when_ready');
  }
}

describe('the supervisor core: start', () => {
  it('runs on_starting, binds, forks each slot after its pre_fork, and says ready once all are ready', () => {
    const h = new Harness(generation(1, { workers: 2 }));
    h.feed({ t: 'start' });
    expect(h.commands.map((c) => c.t)).toEqual(['use', 'run_hook']);
    h.answer('on_starting');
    expect(h.pending('listen')).toMatchObject({ binds: ['127.0.0.1:8000'] });
    h.answer('listen');
    h.answer('listening');
    expect(h.forked()).toEqual([]);
    h.answerAll('pre_fork');
    expect(h.forked()).toEqual([1, 2]);
    h.ready(1);
    expect(h.lastRoute()).toEqual([1]);
    expect(() => h.pending('when_ready')).toThrow();
    h.ready(2);
    h.answer('when_ready');
    expect(h.logs('info')).toContain('hostd is ready: 2 workers');
    expect(h.commands.some((c) => c.t === 'lifecycle' && c.event === 'ready')).toBe(true);
  });

  it('aborts the start when the pidfile (an integration of listening) fails: no worker is started, exit 1', () => {
    const h = new Harness(generation(1));
    h.feed({ t: 'start' });
    h.answer('on_starting');
    h.answer('listen');
    h.answer('listening', 'cannot write pidfile /run/x.pid: EACCES');
    expect(() => h.pending('pre_fork')).toThrow();
    h.answer('on_exit');
    expect(h.exitCode).toBe(1);
    expect(h.logs('error')).toContain('cannot write pidfile /run/x.pid: EACCES');
  });
});

describe('the supervisor core: crashes and backoff', () => {
  it('replaces a first crash at once, grows the backoff while a slot keeps failing, and resets it once a worker served for a while', () => {
    const h = new Harness(generation(1));
    h.start();
    const delays: number[] = [];
    let key = 1;
    for (let i = 0; i < 5; i++) {
      h.advance(1000);
      h.exit(key, 1);
      h.answerAll('child_exit');
      const backoff = h.timers.get('backoff:1');
      delays.push(backoff === undefined ? 0 : backoff - h.now);
      if (backoff !== undefined) h.fire('backoff:1');
      h.answer('pre_fork');
      key = h.forked().at(-1)!;
      h.ready(key);
    }
    expect(delays).toEqual([0, BACKOFF_BASE_MS, 2 * BACKOFF_BASE_MS, 4 * BACKOFF_BASE_MS, 8 * BACKOFF_BASE_MS]);

    // This one serves long enough: its crash is replaced at once.
    h.advance(STABLE_AFTER_MS);
    h.exit(key, 1);
    expect(h.timers.has('backoff:1')).toBe(false);
    expect(h.pending('pre_fork')).toMatchObject({ fields: { worker: { id: 1 } } });
  });

  it('gives up with exit code 3 after workers + 2 boot failures when none was ever ready', () => {
    const h = new Harness(generation(1, { workers: 2 }));
    h.bind();
    let failures = 0;
    while (h.exitCode === null && failures < 10) {
      h.answerAll('pre_fork');
      for (const key of h.alive.keys()) {
        h.message(key, { t: 'boot_error', message: 'hook post_fork threw: Error: database unreachable' });
        h.exit(key, 3);
        failures++;
      }
      h.answerAll('child_exit');
      for (const name of [...h.timers.keys()].filter((n) => n.startsWith('backoff:'))) if (h.timers.has(name)) h.fire(name);
      try {
        h.answer('on_exit');
      } catch {}
    }
    expect(failures).toBe(4);
    expect(h.exitCode).toBe(3);
    expect(h.logs('critical')).toEqual(['workers cannot boot; the last cause: hook post_fork threw: Error: database unreachable']);
  });

  it('kills a worker that is not ready within boot_timeout, names what it was doing, and counts a boot failure', () => {
    const h = new Harness(generation(1, { boot_timeout: 60 }));
    h.bind();
    h.answer('pre_fork');
    h.message(1, { t: 'progress', step: 'app', detail: 'loading the app (/app.mjs)', ms: null });
    expect(h.fire('boot-progress:1').length).toBeGreaterThan(0);
    expect(h.logs('info').at(-1)).toBe('worker 1 (pid 1001) is still booting after 10 s: loading the app (/app.mjs); boot_timeout in 50 s');
    h.fire('boot:1');
    expect(h.commands).toContainEqual({ t: 'kill', age: 1, why: 'boot_timeout' });
    expect(h.logs('error').at(-1)).toBe('worker 1 (pid 1001) was not ready within boot_timeout (60 s) while loading the app (/app.mjs); killing it');
    h.exit(1, null, 'SIGKILL');
    expect(h.pending('child_exit')).toMatchObject({ fields: { reason: 'boot_error' } });
    expect(h.logs('error').at(-1)).toBe('worker 1 failed to boot: not ready within boot_timeout (60 s); it was loading the app (/app.mjs)');
    // Counted: a worker that cannot boot is retried after the backoff, from its first failure.
    h.answerAll('child_exit');
    expect(h.timers.get('backoff:1')! - h.now).toBe(BACKOFF_BASE_MS);
  });
});

describe('the supervisor core: heartbeats', () => {
  it('routes around a worker two heartbeats late, routes it again when it beats, and kills it at timeout', () => {
    const h = new Harness(generation(1, { workers: 2, timeout: 4 }));
    h.start();
    expect(h.lastRoute()).toEqual([1, 2]);
    const interval = h.timers.get('heartbeats')! - h.now;
    expect(interval).toBe(1000);
    // Worker 1's event loop is blocked: it sends nothing while worker 2 beats.
    h.block(1);
    h.advance(3 * interval);
    expect(h.lastRoute()).toEqual([2]);
    expect(h.logs('warning').at(-1)).toMatch(/^worker 1 \(pid \d+\) sent no heartbeat for 3 s: no new connections go to it until it does$/);
    h.message(1, { t: 'heartbeat', connections: 4 });
    expect(h.lastRoute()).toEqual([2, 1]);
    // Silent for `timeout` while the primary was awake: killed, as before.
    h.advance(5000);
    expect(h.commands).toContainEqual({ t: 'kill', age: 1, why: 'timeout' });
    expect(h.logs('critical').at(-1)).toMatch(/^WORKER TIMEOUT: worker 1 \(pid \d+\) sent no heartbeat for 4 s; killing it$/);
  });

  it('checks heartbeats with timeout off too (to route around a late worker), but kills none', () => {
    const h = new Harness(generation(1, { workers: 2, timeout: 0 }));
    h.start();
    h.block(1);
    h.block(2);
    h.advance(60_000);
    expect(h.commands.some((c) => c.t === 'kill')).toBe(false);
    expect(h.lastRoute()).toEqual([]);
  });
});

describe('the supervisor core: max_requests', () => {
  it('ignores a recycle request when max_requests is off', () => {
    const h = new Harness(generation(1));
    h.start();
    h.message(1, { t: 'recycle' });
    expect(() => h.pending('pre_fork')).toThrow();
    expect(h.logs('warning').at(-1)).toMatch(/asked to be recycled, but max_requests is off; ignored/);
  });

  it('starts the replacement first, routes it once ready, then retires the old worker', () => {
    const h = new Harness(generation(1, { max_requests: 10 }));
    h.start();
    h.message(1, { t: 'recycle' });
    expect(h.pending('pre_fork')).toMatchObject({ fields: { worker: { id: 1, age: 2 } } });
    h.answer('pre_fork');
    expect(h.lastRoute()).toEqual([1]);
    h.ready(2);
    expect(h.lastRoute()).toEqual([2]);
    expect(h.sent(1).at(-1)).toBe(JSON.stringify({ t: 'stop', reason: 'max_requests', mode: 'graceful' }));
    h.exit(1, 0);
    expect(h.pending('child_exit')).toMatchObject({ fields: { reason: 'max_requests' } });
  });
});

describe('the supervisor core: max_memory', () => {
  const beat = (rssMiB: number): ToPrimary => ({ t: 'heartbeat', connections: 0, stats: { requests: 0, in_flight: 0, rss_bytes: rssMiB * 2 ** 20, heap_used_bytes: 0, elu: 0, hooks: null } });

  it('replaces a worker above max_memory for 3 heartbeats in a row, replacement first, one at a time', () => {
    const h = new Harness(generation(1, { workers: 2, max_memory: 100 }));
    h.start();
    h.message(1, beat(150));
    h.message(1, beat(150));
    h.message(1, beat(90));
    h.message(1, beat(150));
    h.message(1, beat(150));
    // Below the cap once: the count starts again, so no replacement yet.
    expect(h.forked()).toEqual([1, 2]);
    // Worker 2 grows too (it started below the cap).
    h.message(2, beat(90));
    h.message(2, beat(150));
    h.message(2, beat(150));
    h.message(1, beat(150));
    expect(h.logs('warning')).toContain('worker 1 (pid 1001) uses 150 MiB, above max_memory (100 MiB), for 3 heartbeats: replacing it');
    h.message(2, beat(150));
    // Worker 2 is over too, but one memory replacement runs at a time.
    h.answerAll('pre_fork');
    expect(h.forked()).toEqual([1, 2, 3]);
    expect(h.lastRoute()).toEqual([1, 2]);
    h.ready(3);
    expect(h.lastRoute()).toEqual([2, 3]);
    expect(h.sent(1).at(-1)).toBe(JSON.stringify({ t: 'stop', reason: 'max_memory', mode: 'graceful' }));
    h.exit(1, 0);
    expect(h.pending('child_exit')).toMatchObject({ fields: { reason: 'max_memory' } });
    h.answer('child_exit');
    // Now worker 2's turn.
    h.message(2, beat(150));
    h.message(2, beat(150));
    h.message(2, beat(150));
    h.answerAll('pre_fork');
    expect(h.forked()).toEqual([1, 2, 3, 4]);
  });

  it('shares the cgroup limit with "auto", and is off without one', () => {
    const h = new Harness({ ...generation(1, { workers: 2, max_memory: 'auto' }), memoryLimit: 3 * 2 ** 30 });
    h.start();
    // 3 GiB × 0.9 / (2 workers + the primary) = 921.6 MiB.
    for (let i = 0; i < 3; i++) h.message(1, beat(900));
    expect(h.logs('warning').some((l) => l.includes('above max_memory'))).toBe(false);
    for (let i = 0; i < 3; i++) h.message(1, beat(950));
    expect(h.logs('warning')).toContain('worker 1 (pid 1001) uses 950 MiB, above max_memory (922 MiB), for 3 heartbeats: replacing it');
    const off = new Harness({ ...generation(1, { workers: 1, max_memory: 'auto' }), memoryLimit: null });
    off.start();
    for (let i = 0; i < 5; i++) off.message(1, beat(100_000));
    expect(off.logs('warning').some((l) => l.includes('above max_memory'))).toBe(false);
  });
});

describe('the supervisor core: reload', () => {
  function reloading(h: Harness, next: GenerationInfo): void {
    h.signal('SIGHUP');
    const resolve = h.commands.findLast((c) => c.t === 'resolve') as { token: number };
    h.feed({ t: 'resolved', token: resolve.token, generation: next });
    h.answer('on_reload');
    h.answer('listen');
  }

  it('rolls back when a worker of the new generation cannot boot: the old one keeps serving', () => {
    const h = new Harness(generation(1, { workers: 2 }));
    h.start();
    reloading(h, generation(2, { workers: 2 }));
    expect(h.commands.filter((c) => c.t === 'use').at(-1)).toEqual({ t: 'use', generation: 2 });
    h.answerAll('pre_fork');
    h.ready(3);
    expect(h.lastRoute()).toEqual([1, 2]);
    h.message(4, { t: 'boot_error', message: 'post_worker_init threw' });
    h.exit(4, 3);
    expect(h.logs('error')).toContain('reload failed: worker 2 of the new generation could not boot (see above); generation 1 keeps serving');
    expect(h.commands.filter((c) => c.t === 'use').at(-1)).toEqual({ t: 'use', generation: 1 });
    expect(h.commands).toContainEqual({ t: 'forget', generation: 2 });
    expect(h.sent(3).at(-1)).toBe(JSON.stringify({ t: 'stop', reason: 'reload', mode: 'graceful' }));
    expect(h.lastRoute()).toEqual([1, 2]);
    expect(h.commands.filter((c) => c.t === 'lifecycle').at(-1)).toMatchObject({ event: 'reload_failed' });
  });

  it('switches all connections at once when the whole new generation is ready, then retires the old', () => {
    const h = new Harness(generation(1, { workers: 2 }));
    h.start();
    reloading(h, generation(2, { workers: 3 }));
    h.answerAll('pre_fork');
    h.ready(3);
    h.ready(4);
    expect(h.lastRoute()).toEqual([1, 2]);
    h.ready(5);
    expect(h.lastRoute()).toEqual([3, 4, 5]);
    for (const old of [1, 2]) expect(h.sent(old).at(-1)).toBe(JSON.stringify({ t: 'stop', reason: 'reload', mode: 'graceful' }));
    expect(h.pending('nworkers_changed')).toMatchObject({ fields: { new: 3, old: 2 } });
    expect(h.logs('info')).toContain('reloaded: generation 2 is serving');
  });

  it('replaces reload_batch slots at a time: each batch serves before the old workers of its slots leave, never more than workers + batch alive', () => {
    const h = new Harness(generation(1, { workers: 3 }));
    h.start();
    reloading(h, generation(2, { workers: 3, reload_batch: 1 }));
    let most = 0;
    const step = (key: number, retired: number) => {
      h.answerAll('pre_fork');
      most = Math.max(most, h.alive.size);
      expect(h.forked().at(-1)).toBe(key);
      h.ready(key);
      expect(h.sent(retired).at(-1)).toBe(JSON.stringify({ t: 'stop', reason: 'reload', mode: 'graceful' }));
      h.exit(retired, 0);
    };
    expect(h.logs('info')).toContain('reloading: starting generation 2 (3 workers, 1 at a time)');
    step(4, 1);
    expect(h.lastRoute()).toEqual([2, 3, 4]);
    step(5, 2);
    expect(h.lastRoute()).toEqual([3, 4, 5]);
    step(6, 3);
    expect(h.lastRoute()).toEqual([4, 5, 6]);
    expect(most).toBe(4);
    expect(h.forked()).toEqual([1, 2, 3, 4, 5, 6]);
    expect(h.logs('info')).toContain('reloaded: generation 2 is serving');
  });

  it('rolls a reload in batches back when a later batch cannot boot: the old generation takes the slots again', () => {
    const h = new Harness(generation(1, { workers: 2 }));
    h.start();
    reloading(h, generation(2, { workers: 2, reload_batch: 1 }));
    h.answerAll('pre_fork');
    h.ready(3);
    h.exit(1, 0);
    h.answerAll('pre_fork');
    h.message(4, { t: 'boot_error', message: 'post_worker_init threw' });
    h.exit(4, 3);
    expect(h.logs('error')).toContain('reload failed: worker 2 of the new generation could not boot (see above); generation 1 keeps serving');
    expect(h.sent(3).at(-1)).toBe(JSON.stringify({ t: 'stop', reason: 'reload', mode: 'graceful' }));
    // Slot 1's old worker left with the first batch: generation 1 starts it again.
    h.answerAll('pre_fork');
    const again = h.forked().at(-1)!;
    expect(h.commands).toContainEqual({ t: 'fork', age: again, id: 1, generation: 1 });
    h.ready(again);
    expect(h.lastRoute()).toEqual([2, again]);
  });

  it('applies TTIN and TTOU that arrive during a reload once it is done, to the generation that serves', () => {
    const h = new Harness(generation(1, { workers: 2 }));
    h.start();
    reloading(h, generation(2, { workers: 2 }));
    h.signal('SIGTTIN');
    h.signal('SIGTTIN');
    h.signal('SIGTTOU');
    expect(h.logs('info').filter((l) => l.includes('while reloading: applied once that is done'))).toHaveLength(3);
    h.answerAll('pre_fork');
    expect(h.forked()).toEqual([1, 2, 3, 4]);
    h.ready(3);
    h.ready(4);
    expect(h.logs('info')).toContain('workers: 2 → 3');
    h.answer('pre_fork');
    expect(h.pending('nworkers_changed')).toMatchObject({ fields: { new: 3, old: 2 } });
    expect(h.forked()).toEqual([1, 2, 3, 4, 5]);
  });

  it('queues a HUP during a reload and runs it after', () => {
    const h = new Harness(generation(1));
    h.start();
    reloading(h, generation(2));
    h.signal('SIGHUP');
    expect(h.commands.filter((c) => c.t === 'resolve')).toHaveLength(1);
    h.answer('pre_fork');
    h.ready(2);
    expect(h.commands.filter((c) => c.t === 'resolve')).toHaveLength(2);
  });

  it('changes nothing when the new config is invalid', () => {
    const h = new Harness(generation(1));
    h.start();
    h.signal('SIGHUP');
    const resolve = h.commands.findLast((c) => c.t === 'resolve') as { token: number };
    h.feed({ t: 'rejected', token: resolve.token, problems: 'hostd.config.ts: workers: expected an integer from 1 to 1,024, or "auto", got 0' });
    expect(h.logs('error').at(-1)).toBe('reload: the config is invalid; nothing changed:\nhostd.config.ts: workers: expected an integer from 1 to 1,024, or "auto", got 0');
    expect(h.forked()).toEqual([1]);
    expect(h.commands.filter((c) => c.t === 'use')).toHaveLength(1);
  });
});

describe('the supervisor core: stopping', () => {
  it('kills a stopping worker only past its stop plan, counted with the handlers it reported', () => {
    const settings = { graceful_timeout: 1, hook_timeout: 2 };
    const h = new Harness(generation(1, settings, { worker_exit: 1 }));
    h.start();
    h.signal('SIGTERM');
    expect(h.sent(1).at(-1)).toBe(JSON.stringify({ t: 'stop', reason: 'shutdown', mode: 'graceful' }));
    const shape = { post_request: 0, worker_int: 0, shutdown: 3, worker_exit: 1 };
    h.message(1, { t: 'stopping', mode: 'graceful', shape });
    const plan = stopPlan({ ...settings, drain_delay: 0 }, { ...shape, child_exit: 0, on_exit: 0 }, 'graceful');
    expect(plan.killAfter).toBe(1 + 3 * 2 + 2 + 1);
    expect(h.timers.get('stop:1')).toBe(h.now + plan.killAfter! * 1000);
    // Each step, as it reports it, is within the plan: nothing is killed.
    for (const step of ['drain', 'shutdown', 'shutdown', 'shutdown', 'worker_exit'] as const) {
      h.advance(1700);
      expect(h.message(1, { t: 'progress', step, detail: step, ms: 2000 }).some((c) => c.t === 'kill')).toBe(false);
    }
    h.exit(1, 0);
    expect(h.timers.has('stop:1')).toBe(false);
    h.answer('child_exit');
    h.answer('on_exit');
    expect(h.exitCode).toBe(0);
    expect(h.commands.some((c) => c.t === 'kill')).toBe(false);
  });

  it('kills a worker past its stop plan, and one silent for `timeout` while stopping', () => {
    const h = new Harness(generation(1, { workers: 2, graceful_timeout: 1, hook_timeout: 1, timeout: 5 }));
    h.start();
    h.signal('SIGTERM');
    // Worker 2 reports a stop with a long plan (100 worker_exit functions), then goes silent (a blocked event loop).
    h.message(2, { t: 'stopping', mode: 'graceful', shape: { ...NO_HANDLERS, worker_exit: 100 } });
    h.block(2);
    h.fire('stop:1');
    expect(h.commands).toContainEqual({ t: 'kill', age: 1, why: 'deadline' });
    expect(h.logs('warning').at(-1)).toMatch(/^worker 1 \(pid \d+\) did not exit within its stop plan \(2 s; last seen serving\); killing it$/);
    h.exit(1, null, 'SIGKILL');
    expect(h.pending('child_exit')).toMatchObject({ fields: { reason: 'killed' } });
    expect(h.commands.some((c) => c.t === 'kill' && c.age === 2)).toBe(false);
    h.advance(4000);
    expect(h.commands).toContainEqual({ t: 'kill', age: 2, why: 'timeout' });
    expect(h.logs('critical').at(-1)).toMatch(/sent no heartbeat for 5 s while stopping/);
    h.exit(2, null, 'SIGKILL');
    expect(h.commands.findLast((c) => c.t === 'run_hook' && c.hook === 'child_exit')).toMatchObject({ fields: { reason: 'timeout' } });
  });

  it('escalates on a second SIGTERM: hooks abort, workers stop fast with a shorter plan; a third kills', () => {
    const h = new Harness(generation(1, { graceful_timeout: 30, hook_timeout: 30 }));
    h.start();
    h.signal('SIGTERM');
    const graceful = h.timers.get('stop:1')!;
    h.advance(2000);
    const out = h.signal('SIGTERM');
    expect(out).toContainEqual({ t: 'escalate' });
    expect(h.sent(1).at(-1)).toBe(JSON.stringify({ t: 'stop', reason: 'shutdown', mode: 'escalated' }));
    expect(h.timers.get('stop:1')).toBeLessThan(graceful);
    expect(h.timers.get('stop:1')).toBe(h.now + stopPlan({ drain_delay: 0, graceful_timeout: 30, hook_timeout: 30 }, { ...NO_HANDLERS, child_exit: 0, on_exit: 0 }, 'escalated').killAfter! * 1000);
    expect(h.signal('SIGTERM')).toContainEqual({ t: 'kill', age: 1, why: 'deadline' });
  });

  it('stops a booting worker at once (no waiting for its boot), and serves accepted connections meanwhile', () => {
    const h = new Harness(generation(1, { workers: 2 }));
    h.bind();
    h.answerAll('pre_fork');
    h.ready(1);
    h.signal('SIGTERM');
    expect(h.commands).toContainEqual({ t: 'hand_over', age: 1 });
    expect(h.sent(2).at(-1)).toBe(JSON.stringify({ t: 'stop', reason: 'shutdown', mode: 'graceful' }));
    expect(h.timers.has('boot:2')).toBe(false);
    h.exit(2, 0);
    h.exit(1, 0);
    h.answerAll('child_exit');
    h.answer('on_exit');
    expect(h.exitCode).toBe(0);
    expect(() => h.pending('when_ready')).toThrow();
  });

  it('does not replace a worker that crashes while stopping, and exits once it is gone', () => {
    const h = new Harness(generation(1, { workers: 2 }));
    h.start();
    h.signal('SIGTERM');
    h.exit(1, 1);
    expect(h.pending('child_exit')).toMatchObject({ fields: { reason: 'crash' } });
    expect(() => h.pending('pre_fork')).toThrow();
    h.exit(2, 0);
    h.answerAll('child_exit');
    h.answer('on_exit');
    expect(h.exitCode).toBe(0);
  });

  it('keeps serving for drain_delay with readiness off, then stops; a second signal cuts the delay short', () => {
    const h = new Harness(generation(1, { drain_delay: 5 }));
    h.start();
    h.signal('SIGTERM');
    // The readiness probes follow `draining` (an integration tells the workers).
    expect(h.commands.at(-2)).toEqual({ t: 'lifecycle', event: 'draining' });
    expect(h.sent(1)).toEqual([]);
    expect(h.timers.get('drain-delay')).toBe(h.now + 5000);
    expect(h.commands.some((c) => c.t === 'unlisten')).toBe(false);
    h.signal('SIGTERM');
    expect(h.commands.some((c) => c.t === 'unlisten')).toBe(true);
    expect(h.sent(1).at(-1)).toBe(JSON.stringify({ t: 'stop', reason: 'shutdown', mode: 'escalated' }));
    expect(h.timers.has('drain-delay')).toBe(false);
  });

  it('logs a stopping worker\'s progress every 5 s: what it waits for and how long is left', () => {
    const h = new Harness(generation(1, { graceful_timeout: 30 }));
    h.start();
    h.signal('SIGTERM');
    h.message(1, { t: 'progress', step: 'drain', detail: 'draining its connections', ms: 30_000 });
    h.message(1, { t: 'heartbeat', connections: 3 });
    h.fire('stop-progress:1');
    expect(h.logs('info').at(-1)).toBe('worker 1 (pid 1001) is stopping (shutdown): draining, 3 connections open, 25 s left of its deadline; killed in 26 s if still running');
  });
});

/** The config resolved again, as a reload's new generation. */
function reloadTo(h: Harness, next: GenerationInfo): void {
  const resolve = h.commands.findLast((c) => c.t === 'resolve') as { token: number };
  h.feed({ t: 'resolved', token: resolve.token, generation: next });
  h.answer('on_reload');
  h.answer('listen');
}

describe('the supervisor core: a primary that did not run (issue 23, bug 1)', () => {
  it('kills no worker for a stall of its own: the heartbeats queued meanwhile are read first', () => {
    const h = new Harness(generation(1, { workers: 2, timeout: 5 }));
    h.start();
    h.advance(2000);
    // kill -STOP <primary>; sleep 7; kill -CONT: the tick comes first, the pipes after. (The stall is seen from the tick it
    // made late: the second before that tick was due is not counted as sleep.)
    h.pause(7000);
    h.fire('heartbeats');
    for (const age of [1, 2]) h.message(age, { t: 'heartbeat', connections: 0 });
    h.advance(3000);
    expect(h.commands.some((c) => c.t === 'kill')).toBe(false);
    expect(h.lastRoute()).toEqual([1, 2]);
    expect(h.logs('warning')).toContain('the primary did not run for 6 s (stopped, paused or blocked); no worker is judged on that time');
  });

  it('also when the heartbeats are read before the tick, and when the whole group was paused', () => {
    const h = new Harness(generation(1, { workers: 2, timeout: 5 }));
    h.start();
    h.pause(32_000);
    h.message(2, { t: 'heartbeat', connections: 0 });
    h.fire('heartbeats');
    h.message(1, { t: 'heartbeat', connections: 0 });
    h.advance(10_000);
    expect(h.commands.some((c) => c.t === 'kill')).toBe(false);
  });

  it('still kills a worker for the time it was silent while the primary was awake', () => {
    const h = new Harness(generation(1, { workers: 2, timeout: 5 }));
    h.start();
    h.block(1);
    h.advance(3000);
    h.pause(20_000);
    h.fire('heartbeats');
    expect(h.commands.some((c) => c.t === 'kill')).toBe(false);
    // 3 s before the stall and 3 s after: past its 5 s.
    h.advance(3000);
    expect(h.commands.filter((c) => c.t === 'kill')).toEqual([{ t: 'kill', age: 1, why: 'timeout' }]);
  });

  it('judges a stop plan and boot_timeout in awake time too', () => {
    const h = new Harness(generation(1, { workers: 1, graceful_timeout: 1, hook_timeout: 1, boot_timeout: 5 }));
    h.bind();
    h.answer('pre_fork');
    h.advance(2000);
    h.pause(60_000);
    h.fire('heartbeats');
    expect(h.commands.some((c) => c.t === 'kill')).toBe(false);
    h.ready(1);
    h.signal('SIGTERM');
    const plan = h.timers.get('stop:1')! - h.now;
    h.pause(60_000);
    h.fire('heartbeats');
    expect(h.commands.some((c) => c.t === 'kill')).toBe(false);
    h.advance(plan);
    expect(h.commands.filter((c) => c.t === 'kill')).toEqual([{ t: 'kill', age: 1, why: 'deadline' }]);
  });
});

describe('the supervisor core: max_memory in every phase (issue 23, bugs 2 and 3)', () => {
  const beat = (rssMiB: number): ToPrimary => ({ t: 'heartbeat', connections: 0, stats: { requests: 0, in_flight: 0, rss_bytes: rssMiB * 2 ** 20, heap_used_bytes: 0, elu: 0, hooks: null } });

  it('replaces a new worker above max_memory while its reload is still under way', () => {
    const h = new Harness(generation(1, { workers: 2, max_memory: 150 }));
    h.start();
    h.signal('SIGHUP');
    reloadTo(h, generation(2, { workers: 2, max_memory: 150, reload_batch: 1 }));
    h.answerAll('pre_fork');
    h.ready(3);
    // Batch 1 serves; worker 1 (generation 1) drains while the new worker grows.
    for (const rss of [60, 400, 862, 862]) h.message(3, beat(rss));
    expect(h.logs('warning')).toContain('worker 1 (pid 1003) uses 862 MiB, above max_memory (150 MiB), for 3 heartbeats: replacing it');
    expect(h.pending('pre_fork')).toMatchObject({ fields: { worker: { id: 1, generation: 2 } } });
    expect(h.logs('info')).not.toContain('reloaded: generation 2 is serving');
  });

  it('backs off a memory replacement that cannot boot, and never calls it a recycle request', () => {
    const h = new Harness(generation(1, { workers: 1, max_memory: 150 }));
    h.start();
    h.message(1, beat(100));
    for (let i = 0; i < 3; i++) h.message(1, beat(200));
    const waits: number[] = [];
    for (let attempt = 0; attempt < 4; attempt++) {
      h.answer('pre_fork');
      const age = h.forked().at(-1)!;
      h.message(age, { t: 'boot_error', message: 'hook post_fork threw: Error: no database' });
      h.exit(age, 3);
      h.answerAll('child_exit');
      waits.push(h.timers.get('backoff:1')! - h.now);
      h.fire('backoff:1');
      for (let i = 0; i < 3; i++) h.message(1, beat(200));
    }
    expect(waits).toEqual([100, 200, 400, 800]);
    expect(h.logs('warning').some((l) => l.includes('asked to be recycled'))).toBe(false);
    // Worker 1 serves all along.
    expect(h.lastRoute()).toEqual([1]);
  });

  it('says once that max_memory is below what the app needs from its start, and backs off', () => {
    const h = new Harness(generation(1, { workers: 1, max_memory: 150 }));
    h.start();
    const waits: number[] = [];
    let age = 1;
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < 3; i++) h.message(age, beat(210));
      const wait = h.timers.get('backoff:1');
      waits.push(wait === undefined ? 0 : wait - h.now);
      if (wait !== undefined) h.fire('backoff:1');
      h.answer('pre_fork');
      const next = h.forked().at(-1)!;
      h.ready(next);
      h.exit(age, 0);
      h.answerAll('child_exit');
      age = next;
    }
    expect(waits).toEqual([100, 200, 400, 800]);
    const told = h.logs('warning').filter((l) => l.startsWith('max_memory (150 MiB) is below what this app uses from its start'));
    expect(told).toEqual([
      'max_memory (150 MiB) is below what this app uses from its start: worker 1 (pid 1001) was above it at every reading (210 MiB); replacing workers cannot bring them under it, so each replacement now waits longer (backoff up to 10 s). Raise max_memory, or find what the app allocates at start',
    ]);
  });
});

describe('the supervisor core: control requests (issue 23, bugs 4 to 7)', () => {
  it('scale during a reload acts on the count the reload leaves, each request answered with what was applied', () => {
    const h = new Harness(generation(1, { workers: 2 }));
    h.start();
    h.signal('SIGHUP');
    const first = h.request({ t: 'scale', n: 4, relative: false });
    const second = h.request({ t: 'scale', n: 4, relative: false });
    expect(first.answer).toBeUndefined();
    reloadTo(h, generation(2, { workers: 2 }));
    h.answerAll('pre_fork');
    for (const age of h.forked().slice(2)) h.ready(age);
    expect(h.answerTo(first.id)).toEqual({ ok: true, workers: 4, was: 2 });
    expect(h.answerTo(second.id)).toEqual({ ok: true, workers: 4, was: 4 });
    h.answerAll('pre_fork');
    expect(h.core.workerTarget).toBe(4);
    expect(h.forked()).toHaveLength(6);
    expect(h.commands.filter((c) => c.t === 'fork' && c.generation === 2)).toHaveLength(4);
  });

  it('runs what waited in the order it came: a scale asked for after a queued reload acts on the count that reload leaves', () => {
    const h = new Harness(generation(1, { workers: 2 }));
    h.start();
    h.request({ t: 'upgrade' });
    const before = h.request({ t: 'scale', n: 3, relative: false });
    const reload = h.request({ t: 'reload' });
    const after = h.request({ t: 'scale', n: 4, relative: false });
    expect(h.logs('info')).toContain('scale 4 while upgrading: applied after the reload asked for before it');
    expect(h.core.waitsFor(after.id)).toEqual([expect.objectContaining({ t: 'upgrade', own: false }), { t: 'queued_reload', own: false }]);
    h.answer('upgrade', 'the new primary exited with code 1 before it served (its log says why)');
    // The scale asked for first is applied, then the reload starts; the later scale waits for the reload.
    expect(h.answerTo(before.id)).toEqual({ ok: true, workers: 3, was: 2 });
    expect(h.answerTo(after.id)).toBeUndefined();
    expect(h.core.waitsFor(after.id)).toEqual([{ t: 'reload', own: false, from: 1, switched: false }]);
    reloadTo(h, generation(2, { workers: 2 }));
    h.answerAll('pre_fork');
    for (const age of h.forked().filter((age) => age > 3)) h.ready(age);
    expect(h.answerTo(reload.id)).toEqual({ ok: true, generation: 2 });
    expect(h.logs('info')).toContain("workers: 3 → 2 (the config's workers)");
    expect(h.answerTo(after.id)).toEqual({ ok: true, workers: 4, was: 2 });
    expect(h.core.workerTarget).toBe(4);
  });

  it('answers each reload request with the outcome of its own reload', () => {
    const h = new Harness(generation(1));
    h.start();
    const a = h.request({ t: 'reload' });
    const b = h.request({ t: 'reload' });
    expect(h.logs('info')).toContain('HUP while reloading: reloading once that is done');
    reloadTo(h, generation(2));
    h.answer('pre_fork');
    h.ready(2);
    expect(h.answerTo(a.id)).toEqual({ ok: true, generation: 2 });
    expect(h.answerTo(b.id)).toBeUndefined();
    const resolve = h.commands.findLast((c) => c.t === 'resolve') as { token: number };
    h.feed({ t: 'rejected', token: resolve.token, problems: 'hostd.config.ts: workers: expected an integer from 1 to 1,024, or "auto", got 0' });
    expect(h.answerTo(b.id)).toEqual({ ok: false, error: 'the config is invalid; nothing changed:\nhostd.config.ts: workers: expected an integer from 1 to 1,024, or "auto", got 0' });
  });

  it('refuses scale and reload during a stop, saying why', () => {
    const h = new Harness(generation(1, { workers: 2 }));
    h.start();
    h.signal('SIGTERM');
    expect(h.request({ t: 'scale', n: 3, relative: false }).answer).toEqual({ ok: false, error: 'hostd is stopping' });
    expect(h.request({ t: 'reload' }).answer).toEqual({ ok: false, error: 'hostd is stopping' });
    expect(h.forked()).toEqual([1, 2]);
  });

  it('answers a reload or a scale under way when a stop comes: it will not happen', () => {
    const h = new Harness(generation(1));
    h.start();
    const reload = h.request({ t: 'reload' });
    const scale = h.request({ t: 'scale', n: 1, relative: true });
    h.signal('SIGTERM');
    expect(h.answerTo(reload.id)).toEqual({ ok: false, error: 'hostd is stopping: the reload was abandoned' });
    expect(h.answerTo(scale.id)).toEqual({ ok: false, error: 'hostd is stopping' });
  });

  it('keeps scale within 1..1,024 and answers a refusal', () => {
    const h = new Harness(generation(1, { workers: 2 }));
    h.start();
    expect(h.request({ t: 'scale', n: -2, relative: true }).answer).toEqual({ ok: false, error: 'cannot scale to 0 workers (1 to 1,024)' });
    expect(h.request({ t: 'scale', n: 2000, relative: false }).answer).toEqual({ ok: false, error: 'cannot scale to 2,000 workers (1 to 1,024)' });
    expect(h.request({ t: 'scale', n: 1, relative: false }).answer).toEqual({ ok: true, workers: 1, was: 2 });
    h.signal('SIGTTOU');
    expect(h.logs('info').at(-1)).toBe('already at 1 worker; TTOU ignored');
    expect(h.pending('nworkers_changed')).toMatchObject({ fields: { new: 1, old: 2 } });
  });

  it('says when a reload takes the worker count back to the config\'s', () => {
    const h = new Harness(generation(1, { workers: 2 }));
    h.start();
    h.request({ t: 'scale', n: 3, relative: false });
    h.answerAll('pre_fork');
    h.ready(3);
    h.answerAll('nworkers_changed');
    h.signal('SIGHUP');
    reloadTo(h, generation(2, { workers: 2 }));
    expect(h.logs('info')).toContain('workers: 3 → 2 (the config\'s workers)');
    h.answerAll('pre_fork');
    for (const age of h.forked().slice(3)) h.ready(age);
    expect(h.pending('nworkers_changed')).toMatchObject({ fields: { new: 2, old: 3 } });
  });
});

describe('the supervisor core: a scrape the primary asked for (issue 24, item 5)', () => {
  it('does not kill a worker for timeout while its app metrics are awaited, and counts its silence from the end of that wait', () => {
    const h = new Harness(generation(1, { workers: 1, timeout: 1 }));
    h.start();
    h.block(1);
    // Reading a large registry holds the worker's event loop for 1.5 s; the scrape waits 2 s.
    h.feed({ t: 'collecting', age: 1, ms: 2000 });
    h.advance(1500);
    expect(h.commands.some((c) => c.t === 'kill')).toBe(false);
    h.feed({ t: 'collected', age: 1, answered: true });
    h.advance(900);
    expect(h.commands.some((c) => c.t === 'kill')).toBe(false);
    h.advance(1000);
    expect(h.commands.filter((c) => c.t === 'kill')).toEqual([{ t: 'kill', age: 1, why: 'timeout' }]);
  });

  it('bounds the excuse by the scrape\'s wait: a worker that never answers is killed timeout after it', () => {
    const h = new Harness(generation(1, { workers: 1, timeout: 1 }));
    h.start();
    h.block(1);
    h.feed({ t: 'collecting', age: 1, ms: 1000 });
    h.advance(1500);
    h.feed({ t: 'collected', age: 1, answered: false });
    expect(h.commands.some((c) => c.t === 'kill')).toBe(false);
    h.advance(1000);
    expect(h.commands.filter((c) => c.t === 'kill')).toEqual([{ t: 'kill', age: 1, why: 'timeout' }]);
  });
});

describe('the supervisor core: upgrade (issue 27)', () => {
  it('starts a new primary, queues a HUP and a scale meanwhile, and stops as on SIGTERM with reason upgrade once it serves', () => {
    const h = new Harness(generation(1, { workers: 2 }));
    h.start();
    const asked = h.request({ t: 'upgrade' });
    const upgrade = h.pending('upgrade');
    h.signal('SIGHUP');
    expect(h.logs('info')).toContain('HUP while upgrading: reloading once that is done');
    expect(h.commands.some((c) => c.t === 'resolve')).toBe(false);
    h.feed({ t: 'upgraded', token: upgrade.token, pid: 4242 });
    expect(h.answerTo(asked.id)).toEqual({ ok: true, pid: 4242 });
    expect(h.logs('info')).toContain('hostd stopping (upgrade)');
    for (const age of [1, 2]) expect(h.sent(age).at(-1)).toBe(JSON.stringify({ t: 'stop', reason: 'shutdown', mode: 'graceful' }));
    for (const age of [1, 2]) h.exit(age, 0);
    h.answerAll('child_exit');
    expect(h.pending('on_exit')).toMatchObject({ fields: { exit_code: 0, reason: 'upgrade' } });
    // The queued HUP never ran: this primary is leaving.
    expect(h.commands.some((c) => c.t === 'resolve')).toBe(false);
  });

  it('keeps serving when the new primary fails, then runs what waited', () => {
    const h = new Harness(generation(1, { workers: 2 }));
    h.start();
    const asked = h.request({ t: 'upgrade' });
    h.request({ t: 'scale', n: 3, relative: false });
    h.answer('upgrade', 'the new primary exited with code 1 before it served (its log says why)');
    expect(h.answerTo(asked.id)).toEqual({ ok: false, error: 'the new primary exited with code 1 before it served (its log says why); the running primary keeps serving' });
    expect(h.logs('error')).toContain('upgrade failed: the new primary exited with code 1 before it served (its log says why); this primary keeps serving');
    expect(h.core.workerTarget).toBe(3);
    expect(h.commands.some((c) => c.t === 'lifecycle' && c.event === 'stopping')).toBe(false);
  });

  it("gives an upgrade the time the new primary's start takes: the config's worker count, not a smaller one a scale left", () => {
    const h = new Harness(generation(1, { workers: 2, config_timeout: 5, hook_timeout: 2, boot_timeout: 10 }, { pre_fork: 1, when_ready: 1 }));
    h.bind();
    h.answerAll('pre_fork');
    for (const age of h.forked()) h.ready(age);
    h.answer('when_ready');
    h.request({ t: 'scale', n: 1, relative: false });
    expect(h.core.workerTarget).toBe(1);
    h.request({ t: 'upgrade' });
    // The new primary boots 2: config 5 s + on_starting 2 s + 4 boots (2 + 2 failures) × (backoff 10 s + pre_fork 2 s + boot 10 s) + when_ready 2 s.
    expect(h.timers.get('upgrade')).toBe(h.now + 97_000);
  });

  it('says what a request waits for (waitsFor): the start, an upgrade until its limit, then a queued reload; its own reload once it runs', () => {
    const h = new Harness(generation(1, { workers: 2, config_timeout: 5, hook_timeout: 2, boot_timeout: 10 }, { pre_fork: 1, when_ready: 1 }));
    h.bind();
    const early = h.request({ t: 'scale', n: 1, relative: true });
    expect(h.core.waitsFor(early.id)).toEqual([{ t: 'start' }]);
    h.answerAll('pre_fork');
    for (const age of h.forked()) h.ready(age);
    h.answer('when_ready');
    expect(h.answerTo(early.id)).toEqual({ ok: true, workers: 3, was: 2 });
    expect(h.core.waitsFor(early.id)).toBeNull();
    h.advance(500);
    const startedAt = h.now;
    const upgrade = h.request({ t: 'upgrade' });
    // From the larger of the count now (3, after the scale) and the config's (2): config 5 s + on_starting 2 s + 5 boots (3 + 2 failures) × (backoff 10 s + pre_fork 2 s + boot 10 s) + when_ready 2 s.
    expect(h.timers.get('upgrade')).toBe(h.now + 119_000);
    const limit = { until: startedAt + 119_000, plan: expect.objectContaining({ total: 119 }) };
    expect(h.core.waitsFor(upgrade.id)).toEqual([{ t: 'upgrade', own: true, ...limit }]);
    h.advance(1000);
    const scale = h.request({ t: 'scale', n: 4, relative: false });
    const reload = h.request({ t: 'reload' });
    expect([scale.answer, reload.answer]).toEqual([undefined, undefined]);
    // The limit is the upgrade's own, set when it began: a request queued later waits until then, not a full limit from now.
    expect(h.core.waitsFor(scale.id)).toEqual([{ t: 'upgrade', own: false, ...limit }]);
    expect(h.core.waitsFor(reload.id)).toEqual([{ t: 'upgrade', own: false, ...limit }, { t: 'queued_reload', own: true }]);
    h.answer('upgrade', 'the new primary exited with code 1 before it served (its log says why)');
    expect(h.answerTo(scale.id)).toEqual({ ok: true, workers: 4, was: 3 });
    expect(h.core.waitsFor(scale.id)).toBeNull();
    expect(h.core.waitsFor(reload.id)).toEqual([{ t: 'reload', own: true, from: 1, switched: false }]);
    const again = h.request({ t: 'reload' });
    expect(h.core.waitsFor(again.id)).toEqual([{ t: 'reload', own: false, from: 1, switched: false }, { t: 'queued_reload', own: true }]);
    const resolve = h.commands.findLast((c) => c.t === 'resolve') as { token: number };
    h.feed({ t: 'resolved', token: resolve.token, generation: generation(2, { workers: 2 }) });
    h.answer('on_reload');
    h.answer('listen');
    expect(h.core.waitsFor(reload.id)).toEqual([{ t: 'reload', own: true, from: 1, switched: true }]);
  });

  it('answers what waited behind an upgrade that succeeded, saying the new primary serves without it and how to ask it', () => {
    const h = new Harness(generation(1, { workers: 2 }));
    h.start();
    h.request({ t: 'upgrade' });
    const scale = h.request({ t: 'scale', n: 3, relative: false });
    const reload = h.request({ t: 'reload' });
    h.feed({ t: 'upgraded', token: h.pending('upgrade').token, pid: 4242 });
    expect(h.answerTo(scale.id)).toEqual({
      ok: false,
      error: "the upgrade finished first: the new primary (pid 4242) serves with the config's worker count, and this one stops without applying the scale 3; run hostd scale 3 again to scale the new primary",
    });
    expect(h.answerTo(reload.id)).toEqual({
      ok: false,
      error: 'the upgrade finished first: the new primary (pid 4242) serves the config it loaded at its start, and this one stops without reloading; run hostd reload again to reload the new primary',
    });
    expect([h.core.waitsFor(scale.id), h.core.waitsFor(reload.id)]).toEqual([null, null]);
    expect(h.logs('info')).toContain('not carried out, as this primary stops after the upgrade: HUP, scale 3');
    // One that reaches this primary after the hand-over is told where the command goes now.
    expect(h.request({ t: 'scale', n: 3, relative: false }).answer).toEqual({ ok: false, error: 'hostd is stopping: it handed over to the new primary (pid 4242), which the same command reaches now' });
    expect(h.core.workerTarget).toBe(2);
  });

  it('gives the new primary up once its limit passed in awake time: it is turned down and stopped, this one keeps serving, what waited runs, and its late word is turned down too', () => {
    const h = new Harness(generation(1, { workers: 2, config_timeout: 5, hook_timeout: 2, boot_timeout: 10 }, { pre_fork: 1, when_ready: 1 }));
    h.start();
    const asked = h.request({ t: 'upgrade' });
    const token = h.pending('upgrade').token;
    const scale = h.request({ t: 'scale', n: 3, relative: false });
    h.advance(96_999);
    expect(h.answerTo(asked.id)).toBeUndefined();
    expect(h.commands.some((c) => c.t === 'successor')).toBe(false);
    h.fire('upgrade');
    expect(h.commands.filter((c) => c.t === 'successor')).toEqual([{ t: 'successor', upgrade: token, take: false }]);
    const why = 'the new primary was not serving within 97 s, the longest its start can take; it was stopped';
    expect(h.answerTo(asked.id)).toEqual({ ok: false, error: `${why}; the running primary keeps serving` });
    expect(h.logs('error')).toContain(`upgrade failed: ${why}; this primary keeps serving`);
    expect(h.answerTo(scale.id)).toEqual({ ok: true, workers: 3, was: 2 });
    expect(h.timers.has('upgrade')).toBe(false);
    // Its word that it serves, already on its way: turned down again, and nothing else changes.
    h.feed({ t: 'upgraded', token, pid: 4242 });
    expect(h.commands.filter((c) => c.t === 'successor')).toEqual([
      { t: 'successor', upgrade: token, take: false },
      { t: 'successor', upgrade: token, take: false },
    ]);
    expect(h.commands.some((c) => c.t === 'lifecycle' && c.event === 'stopping')).toBe(false);
    expect(h.logs('error').filter((line) => line.startsWith('upgrade failed'))).toHaveLength(1);
    // This primary's stop does not wait for it to exit (one that does not serve may not stop either).
    h.answerAll('pre_fork');
    h.answerAll('nworkers_changed');
    h.signal('SIGTERM');
    for (const age of [...h.alive.keys()]) h.exit(age, 0);
    h.answerAll('child_exit');
    expect(h.pending('on_exit')).toMatchObject({ fields: { reason: 'shutdown' } });
  });

  it('judges the limit in awake time: both primaries paused past it, the new one is not given up, and is taken on once it serves', () => {
    const h = new Harness(generation(1, { workers: 2, config_timeout: 5, hook_timeout: 2, boot_timeout: 10 }, { pre_fork: 1, when_ready: 1 }));
    h.start();
    const asked = h.request({ t: 'upgrade' });
    const token = h.pending('upgrade').token;
    h.advance(90_000);
    // Paused (SIGSTOP, a paused VM) for longer than the 7 s left: the limit's timer is overdue when the primary runs again.
    h.pause(60_000);
    h.feed({ t: 'timer', name: 'upgrade' });
    expect(h.commands.some((c) => c.t === 'successor')).toBe(false);
    expect(h.answerTo(asked.id)).toBeUndefined();
    expect(h.logs('warning').some((line) => /^the primary did not run for 5\d(\.\d+)? s \(stopped, paused or blocked\)/.test(line))).toBe(true);
    // What is left is awake time: at most 7 s, armed again.
    const left = h.timers.get('upgrade')! - h.now;
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThanOrEqual(7_000);
    expect(h.core.waitsFor(asked.id)).toEqual([expect.objectContaining({ t: 'upgrade', own: true, until: 97_000 })]);
    h.feed({ t: 'upgraded', token, pid: 4242 });
    expect(h.commands.filter((c) => c.t === 'successor')).toEqual([{ t: 'successor', upgrade: token, take: true }]);
    expect(h.answerTo(asked.id)).toEqual({ ok: true, pid: 4242 });
    expect(h.logs('info')).toContain('hostd stopping (upgrade)');
  });

  it('a stop during an upgrade turns its new primary down, and waits for it to exit', () => {
    const h = new Harness(generation(1, { workers: 1 }));
    h.start();
    const asked = h.request({ t: 'upgrade' });
    const token = h.pending('upgrade').token;
    h.signal('SIGTERM');
    expect(h.commands.filter((c) => c.t === 'successor')).toEqual([{ t: 'successor', upgrade: token, take: false }]);
    expect(h.answerTo(asked.id)).toEqual({ ok: false, error: 'hostd is stopping: the upgrade was abandoned' });
    expect(h.timers.has('upgrade')).toBe(false);
    h.exit(1, 0);
    h.answerAll('child_exit');
    expect(() => h.pending('on_exit')).toThrow();
    h.answer('upgrade', 'exited with signal SIGTERM before it served (its log says why)');
    expect(h.pending('on_exit')).toMatchObject({ fields: { reason: 'shutdown' } });
  });

  it("kills a new primary told to stop that does not exit within the serving config's graceful stop, in awake time, once; the stop that waited for it then ends", () => {
    // drain 3 s + post_request wait 2 s + shutdown 1 × 2 s + kill grace 1 s + on_exit 1 × 2 s = 10 s.
    const h = new Harness(generation(1, { workers: 1, drain_delay: 0, graceful_timeout: 3, hook_timeout: 2 }, { on_exit: 1 }));
    h.start();
    h.request({ t: 'upgrade' });
    const token = h.pending('upgrade').token;
    h.signal('SIGTERM');
    expect(h.commands.filter((c) => c.t === 'successor')).toEqual([{ t: 'successor', upgrade: token, take: false }]);
    h.exit(1, 0);
    h.answerAll('child_exit');
    h.advance(5_000);
    expect(h.commands.filter((c) => c.t === 'successor')).toHaveLength(1);
    // Paused past the bound: the time nobody ran is not the new primary's to have used (about 5 s of awake time are left).
    h.pause(60_000);
    h.feed({ t: 'timer', name: 'successor-kill' });
    expect(h.commands.filter((c) => c.t === 'successor')).toHaveLength(1);
    expect(h.timers.get('successor-kill')! - h.now).toBeGreaterThanOrEqual(4_000);
    h.fire('successor-kill');
    expect(h.commands.filter((c) => c.t === 'successor')).toEqual([
      { t: 'successor', upgrade: token, take: false },
      { t: 'successor', upgrade: token, take: false, kill: true },
    ]);
    expect(h.logs('warning')).toContain("the new primary of the abandoned upgrade did not exit within 10 s of being told to stop (the serving config's graceful stop); killing it");
    expect(h.timers.has('successor-kill')).toBe(false);
    expect(() => h.pending('on_exit')).toThrow();
    h.answer('upgrade', 'exited with signal SIGKILL before it served (its log says why)');
    h.feed({ t: 'successor_exited', token });
    expect(h.pending('on_exit')).toMatchObject({ fields: { reason: 'shutdown' } });
    expect(h.commands.filter((c) => c.t === 'successor')).toHaveLength(2);
  });

  it('never kills a new primary told to stop when the serving config\'s graceful stop has no bound (hook_timeout 0): the stop waits for it as long as it takes', () => {
    const h = new Harness(generation(1, { workers: 1, drain_delay: 0, graceful_timeout: 3, hook_timeout: 0 }, { on_exit: 1 }));
    h.start();
    h.request({ t: 'upgrade' });
    const token = h.pending('upgrade').token;
    h.signal('SIGTERM');
    h.exit(1, 0);
    h.answerAll('child_exit');
    expect(h.timers.has('successor-kill')).toBe(false);
    h.advance(3_600_000);
    expect(h.commands.filter((c) => c.t === 'successor')).toEqual([{ t: 'successor', upgrade: token, take: false }]);
    expect(() => h.pending('on_exit')).toThrow();
    h.answer('upgrade', 'exited with signal SIGTERM before it served (its log says why)');
    h.feed({ t: 'successor_exited', token });
    expect(h.pending('on_exit')).toMatchObject({ fields: { reason: 'shutdown' } });
  });

  it('a new primary given up that exits within its bound is not killed, and the next upgrade may start', () => {
    const h = new Harness(generation(1, { workers: 2, config_timeout: 5, hook_timeout: 2, boot_timeout: 10 }, { pre_fork: 1, when_ready: 1 }));
    h.start();
    h.request({ t: 'upgrade' });
    const token = h.pending('upgrade').token;
    h.fire('upgrade');
    expect(h.timers.has('successor-kill')).toBe(true);
    h.feed({ t: 'successor_exited', token });
    expect(h.timers.has('successor-kill')).toBe(false);
    h.advance(120_000);
    expect(h.commands.filter((c) => c.t === 'successor')).toEqual([{ t: 'successor', upgrade: token, take: false }]);
    h.request({ t: 'upgrade' });
    expect(h.commands.filter((c) => c.t === 'upgrade')).toHaveLength(2);
  });

  it('refuses an upgrade while starting, reloading or stopping, saying why; two requests share one upgrade', () => {
    const starting = new Harness(generation(1));
    starting.bind();
    expect(starting.request({ t: 'upgrade' }).answer).toEqual({ ok: false, error: 'hostd is still starting; upgrade once it is ready' });
    const h = new Harness(generation(1));
    h.start();
    h.signal('SIGHUP');
    expect(h.request({ t: 'upgrade' }).answer).toEqual({ ok: false, error: 'a reload is under way; upgrade once it is done' });
    const resolve = h.commands.findLast((c) => c.t === 'resolve') as { token: number };
    h.feed({ t: 'rejected', token: resolve.token, problems: 'x' });
    const a = h.request({ t: 'upgrade' });
    const b = h.request({ t: 'upgrade' });
    expect(h.commands.filter((c) => c.t === 'upgrade')).toHaveLength(1);
    h.feed({ t: 'upgraded', token: h.pending('upgrade').token, pid: 7 });
    expect([h.answerTo(a.id), h.answerTo(b.id)]).toEqual([{ ok: true, pid: 7 }, { ok: true, pid: 7 }]);
    expect(h.request({ t: 'upgrade' }).answer).toEqual({ ok: false, error: 'hostd is stopping' });
  });
});
