/**
 * Every hook failing every way (docs/guarantees.md, "Hooks and events"): it throws, it
 * rejects, it never settles, or it passes its deadline but honours its AbortSignal. Each
 * row says how to reach the hook; what must then hold is the hook's policy in the settings
 * table (SPEC section 2, "if it throws / passes its deadline").
 */
import { describe, expect, it } from 'vitest';
import type { HookName } from '../../src/config/settings.ts';
import { appProject, recordingConfig } from '../helpers/apps.ts';
import { type Hostd, hooksLog, records, startHostd, waitForRecord, waitUntil } from '../helpers/run.ts';

type Mode = 'throws' | 'rejects' | 'hangs' | 'honours-signal';

const MODES: readonly Mode[] = ['throws', 'rejects', 'hangs', 'honours-signal'];

interface Case {
  readonly hook: HookName;
  /** Drives the primary until the hook has run (and failed); resolves when the test can judge. */
  readonly drive: (hostd: Hostd, log: string) => Promise<void>;
  /** The primary's exit code, once it exits (by itself, or after the TERM `drive` sent). */
  readonly exitCode: number;
  /** Records that must be there afterwards. */
  readonly expect: readonly (string | RegExp)[];
  /** Records that must not be there. */
  readonly never?: readonly RegExp[];
  /** Request hooks have no deadline, so they are only tested throwing and rejecting. */
  readonly modes?: readonly Mode[];
  /** How many workers were forked (each failed one replaced), when that is part of the policy. */
  readonly forks?: number;
}

/**
 * Ready, a request in flight, then `signal`. After TERM the request must still finish
 * (a failing exit hook loses no accepted request); after INT it is cut, as stated.
 */
const stopWithRequestInFlight = (signal: NodeJS.Signals) => async (hostd: Hostd, log: string) => {
  const url = await hostd.ready();
  // After INT, connections close once worker_int is done (up to its 1 s deadline): outlast that.
  const inflight = fetch(`${url}/slow?ms=${signal === 'SIGTERM' ? 500 : 5000}`).then(
    (r) => r.text(),
    () => 'cut',
  );
  await waitForRecord(log, /^pre_request 1 \/slow/);
  hostd.signal(signal);
  expect(await inflight).toBe(signal === 'SIGTERM' ? 'slow done' : 'cut');
};

const CASES: readonly Case[] = [
  { hook: 'on_starting', drive: async () => {}, exitCode: 1, expect: ['on_exit 1 start_failed'], never: [/^pre_fork/] },
  { hook: 'pre_fork', drive: async () => {}, exitCode: 3, expect: ['on_exit 3 boot_error'], never: [/^post_fork/] },
  // The worker exits with code 3 and is replaced: workers + 2 boots before the primary gives up.
  { hook: 'post_fork', drive: async () => {}, exitCode: 3, expect: ['on_exit 3 boot_error', /^child_exit 1 boot_error code=3 signal=null$/], never: [/^post_worker_init/], forks: 3 },
  { hook: 'post_worker_init', drive: async () => {}, exitCode: 3, expect: ['on_exit 3 boot_error', /^child_exit 1 boot_error code=3 signal=null$/], never: [/^when_ready/], forks: 3 },
  { hook: 'when_ready', drive: async () => {}, exitCode: 1, expect: ['worker_exit 1 shutdown', /^child_exit 1 shutdown/, 'on_exit 1 start_failed'] },
  {
    hook: 'pre_request',
    modes: ['throws', 'rejects'],
    drive: async (hostd, log) => {
      const url = await hostd.ready();
      expect((await fetch(`${url}/`)).status).toBe(500);
      await waitForRecord(log, /^post_request 1 \/ 500 aborted=false error=pre_request failed on purpose/);
      expect((await fetch(`${url}/`)).status).toBe(500);
      hostd.signal('SIGTERM');
    },
    exitCode: 0,
    expect: ['on_exit 0 shutdown'],
  },
  {
    hook: 'post_request',
    modes: ['throws', 'rejects'],
    drive: async (hostd, log) => {
      const url = await hostd.ready();
      expect(await (await fetch(`${url}/`)).text()).toBe('hello');
      await waitForRecord(log, /^post_request 1 \/ 200/);
      expect(await (await fetch(`${url}/`)).text()).toBe('hello');
      hostd.signal('SIGTERM');
    },
    exitCode: 0,
    expect: ['on_exit 0 shutdown'],
  },
  {
    hook: 'on_reload',
    drive: async (hostd, log) => {
      const url = await hostd.ready();
      hostd.signal('SIGHUP');
      await hostd.waitForOutput(/reload abandoned/, 15_000);
      expect((await fetch(`${url}/`)).status).toBe(200);
      await waitUntil(() => records(log).includes('on_reload 1->1'), 'on_reload');
      hostd.signal('SIGTERM');
    },
    exitCode: 0,
    expect: ['on_exit 0 shutdown'],
    never: [/^pre_fork 1 pid=null gen=2/],
  },
  {
    hook: 'nworkers_changed',
    drive: async (hostd, log) => {
      await hostd.ready();
      hostd.signal('SIGTTIN');
      await waitForRecord(log, /^post_worker_init 2/);
      await waitForRecord(log, /^nworkers_changed 1->2/);
      expect((await fetch(`${await hostd.url()}/`)).status).toBe(200);
      hostd.signal('SIGTERM');
    },
    exitCode: 0,
    expect: ['nworkers_changed 1->2', 'on_exit 0 shutdown'],
  },
  { hook: 'worker_int', drive: stopWithRequestInFlight('SIGINT'), exitCode: 0, expect: ['worker_int 1', 'worker_exit 1 shutdown', 'on_exit 0 shutdown'] },
  { hook: 'worker_exit', drive: stopWithRequestInFlight('SIGTERM'), exitCode: 0, expect: ['worker_exit 1 shutdown', /^child_exit 1 shutdown code=0/, 'on_exit 0 shutdown'] },
  { hook: 'child_exit', drive: stopWithRequestInFlight('SIGTERM'), exitCode: 0, expect: [/^child_exit 1 shutdown/, 'on_exit 0 shutdown'] },
  { hook: 'on_exit', drive: stopWithRequestInFlight('SIGTERM'), exitCode: 0, expect: ['on_exit 0 shutdown'] },
];

/** A function for `hook` that fails in `mode`; one that passes its deadline records when its signal aborts. */
function failing(hook: HookName, mode: Mode): string {
  switch (mode) {
    case 'throws':
      return `() => { throw new Error('${hook} failed on purpose'); }`;
    case 'rejects':
      return `async () => { await Promise.resolve(); throw new Error('${hook} failed on purpose'); }`;
    case 'hangs':
      return `({ signal }) => new Promise(() => signal.addEventListener('abort', () => rec('${hook} signal aborted')))`;
    case 'honours-signal':
      return `({ signal }) => new Promise((resolve) => signal.addEventListener('abort', () => { rec('${hook} signal aborted'); resolve(); }))`;
  }
}

const runs = CASES.flatMap((c) => (c.modes ?? MODES).map((mode) => [c.hook, mode, c] as const));

describe('a failing hook', () => {
  it.each(runs)('%s that %s: the policy of its row holds', async (hook, mode, c) => {
    const dir = appProject(recordingConfig(`workers: 1, hook_timeout: 1, ${hook}: [recorded.${hook}, ${failing(hook, mode)}],`));
    const log = hooksLog(dir);
    const hostd = startHostd(dir);
    await c.drive(hostd, log);
    const exit = await hostd.exited;
    expect(exit.code, hostd.output).toBe(c.exitCode);

    const lines = records(log);
    for (const wanted of c.expect) {
      if (typeof wanted === 'string') expect(lines, hostd.output).toContain(wanted);
      else expect(lines.some((l) => wanted.test(l)), `${wanted} in:\n${lines.join('\n')}`).toBe(true);
    }
    for (const unwanted of c.never ?? []) expect(lines.some((l) => unwanted.test(l)), `${unwanted} in:\n${lines.join('\n')}`).toBe(false);
    if (c.forks !== undefined) {
      expect(lines.filter((l) => l.startsWith('pre_fork ')), lines.join('\n')).toHaveLength(c.forks);
      expect(lines.filter((l) => l.startsWith('child_exit ')), lines.join('\n')).toHaveLength(c.forks);
    }
    expect(lines.filter((l) => /^on_exit \d/.test(l))).toHaveLength(1);
    // The failure is logged with the hook's name (and the user's stack, or the deadline).
    if (mode === 'throws' || mode === 'rejects') {
      expect(hostd.output).toMatch(new RegExp(`hook ${hook}\\[1\\] \\(from hostd\\.config\\.ts\\) threw: Error: ${hook} failed on purpose\\n\\s+at `));
    } else {
      expect(hostd.output).toMatch(new RegExp(`hook ${hook}\\[1\\] \\(from hostd\\.config\\.ts\\) did not finish within hook_timeout \\(1 s\\)`));
      expect(lines).toContain(`${hook} signal aborted`);
    }
  });
});
