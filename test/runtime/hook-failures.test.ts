/**
 * Every hook failing, both ways: it throws, or it never settles (and `hook_timeout`
 * passes). Each row says how to reach the hook and what its policy promises
 * (SPEC section 2, the "if it throws / passes its deadline" column).
 */
import { describe, expect, it } from 'vitest';
import type { HookName } from '../../src/config/settings.ts';
import { appProject, recordingConfig } from '../helpers/apps.ts';
import { type Hostd, hooksLog, records, startHostd, waitForRecord, waitUntil } from '../helpers/run.ts';

type Mode = 'throws' | 'hangs';

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
  /** Request hooks have no deadline, so they are only tested throwing. */
  readonly modes?: readonly Mode[];
}

const ready = async (hostd: Hostd) => void (await hostd.ready());
const readyThenStop = (signal: NodeJS.Signals) => async (hostd: Hostd) => {
  await hostd.ready();
  hostd.signal(signal);
};

const CASES: readonly Case[] = [
  { hook: 'on_starting', drive: async () => {}, exitCode: 1, expect: ['on_exit 1 start_failed'], never: [/^pre_fork/] },
  { hook: 'pre_fork', drive: async () => {}, exitCode: 3, expect: ['on_exit 3 boot_error'], never: [/^post_fork/] },
  { hook: 'post_fork', drive: async () => {}, exitCode: 3, expect: ['on_exit 3 boot_error'], never: [/^post_worker_init/] },
  { hook: 'post_worker_init', drive: async () => {}, exitCode: 3, expect: ['on_exit 3 boot_error'], never: [/^when_ready/] },
  { hook: 'when_ready', drive: async () => {}, exitCode: 1, expect: ['worker_exit 1 shutdown', /^child_exit 1 shutdown/, 'on_exit 1 start_failed'] },
  {
    hook: 'pre_request',
    modes: ['throws'],
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
    modes: ['throws'],
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
      hostd.signal('SIGTERM');
    },
    exitCode: 0,
    expect: ['nworkers_changed 1->2', 'on_exit 0 shutdown'],
  },
  { hook: 'worker_int', drive: readyThenStop('SIGINT'), exitCode: 0, expect: ['worker_int 1', 'worker_exit 1 shutdown', 'on_exit 0 interrupt'] },
  { hook: 'worker_exit', drive: readyThenStop('SIGTERM'), exitCode: 0, expect: ['worker_exit 1 shutdown', /^child_exit 1 shutdown code=0/, 'on_exit 0 shutdown'] },
  { hook: 'child_exit', drive: readyThenStop('SIGTERM'), exitCode: 0, expect: [/^child_exit 1 shutdown/, 'on_exit 0 shutdown'] },
  { hook: 'on_exit', drive: readyThenStop('SIGTERM'), exitCode: 0, expect: ['on_exit 0 shutdown'] },
];

/** A function for `hook` that fails in `mode`; a hanging one records when its signal aborts. */
function failing(hook: HookName, mode: Mode): string {
  return mode === 'throws'
    ? `() => { throw new Error('${hook} failed on purpose'); }`
    : `({ signal }) => new Promise(() => signal.addEventListener('abort', () => rec('${hook} signal aborted')))`;
}

const runs = CASES.flatMap((c) => (c.modes ?? (['throws', 'hangs'] as const)).map((mode) => [c.hook, mode, c] as const));

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
    expect(lines.filter((l) => /^on_exit \d/.test(l))).toHaveLength(1);
    // The failure is logged with the hook's name (and the user's stack, or the deadline).
    if (mode === 'throws') {
      expect(hostd.output).toMatch(new RegExp(`hook ${hook}\\[1\\] \\(from hostd\\.config\\.ts\\) threw: Error: ${hook} failed on purpose\\n\\s+at `));
    } else {
      expect(hostd.output).toMatch(new RegExp(`hook ${hook}\\[1\\] \\(from hostd\\.config\\.ts\\) did not finish within hook_timeout \\(1 s\\)`));
      expect(lines).toContain(`${hook} signal aborted`);
    }
  });
});
