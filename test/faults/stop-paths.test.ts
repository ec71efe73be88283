/**
 * Every way a process can end (docs/guarantees.md, "How a process ends"), checked against
 * its row of STOP_PATHS: the promised calls ran once and in order, the impossible ones did
 * not, requests in flight finished or were cut as stated, the service went on or stopped,
 * and the primary's exit code. This file only knows how to cause each event.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Step, STOP_PATHS, type StopPath } from '../../src/runtime/guarantees.ts';
import { project } from '../helpers/project.ts';
import { count, type Hostd, hooksLog, RECORD_MODULE, records, startHostd, waitForRecord, waitUntil, workerPids } from '../helpers/run.ts';
import { alive } from '../helpers/proc.ts';

/** The app: routes to keep a request in flight, block, or crash; a shutdown handler that records. */
const APP = `import { host } from 'hostd';
import { appendFileSync } from 'node:fs';
const rec = (line) => appendFileSync(new URL('./hooks.log', import.meta.url), line + '\\n');
host.on('shutdown', ({ reason }) => rec(\`host shutdown \${reason}\`));
const listener = (req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname === '/slow') return void setTimeout(() => res.end('slow done'), Number(url.searchParams.get('ms')));
  if (url.pathname === '/block') { const end = Date.now() + 60_000; while (Date.now() < end); }
  if (url.pathname === '/crash') setImmediate(() => { throw new Error('crash on purpose'); });
  if (url.pathname === '/grow') globalThis.kept = Buffer.alloc(256 * 2 ** 20, 1);
  res.end('hello');
};
// HANG_BOOT: a factory that never finishes, so the worker never becomes ready.
export default process.env.HANG_BOOT ? () => (rec('factory'), new Promise(() => {})) : listener;
`;

function config(settings: string): string {
  return `import { defineConfig } from 'hostd';
import { recorded } from './record.ts';
export default defineConfig({ app: './app.mjs', bind: '127.0.0.1:0', workers: 1, ...recorded, ${settings} });
`;
}

interface Run {
  readonly hostd: Hostd;
  readonly dir: string;
  readonly url: string;
}

/** How a request in flight ended; never a rejection, so it can wait to be looked at. */
type Outcome = { readonly body: string } | { readonly error: unknown };

function settle(response: Promise<Response>): Promise<Outcome> {
  return response.then(
    async (r) => ({ body: await r.text() }),
    (error: unknown) => ({ error }),
  );
}

const slow = (url: string, ms: number) => settle(fetch(`${url}/slow?ms=${ms}`));

/** The request in flight when the event happened, if the path has one (wrapped, so no `await` unwraps it). */
type Caused = { readonly inflight?: Promise<Outcome> };

/** How to cause each event, once hostd is ready; resolves when the event has played out. */
const CAUSES: Record<string, { settings?: string; cause: (run: Run) => Promise<Caused> }> = {
  term: {
    cause: async ({ hostd, url, dir }) => {
      const inflight = slow(url, 1000);
      await waitForRecord(hooksLog(dir), /^pre_request 1 \/slow/);
      hostd.signal('SIGTERM');
      return { inflight };
    },
  },
  int: { cause: (run) => fastStop(run, 'SIGINT') },
  quit: { cause: (run) => fastStop(run, 'SIGQUIT') },
  'second-signal': {
    settings: 'graceful_timeout: 60,',
    cause: async ({ hostd, url, dir }) => {
      const inflight = slow(url, 30_000);
      await waitForRecord(hooksLog(dir), /^pre_request 1 \/slow/);
      hostd.signal('SIGTERM');
      await hostd.waitForOutput(/worker 1 stopping \(shutdown\)/);
      hostd.signal('SIGTERM');
      return { inflight };
    },
  },
  hup: {
    cause: async ({ hostd, url, dir }) => {
      const inflight = slow(url, 1000);
      await waitForRecord(hooksLog(dir), /^pre_request 1 \/slow/);
      writeFileSync(join(dir, 'hostd.config.ts'), config("env: { GENERATION: '2' },"));
      hostd.signal('SIGHUP');
      await waitForRecord(hooksLog(dir), /^child_exit 1 reload/, 15_000);
      return { inflight };
    },
  },
  'max-requests': {
    settings: 'max_requests: 2,',
    cause: async ({ url, dir }) => {
      await fetch(`${url}/`);
      const inflight = slow(url, 1000);
      await waitForRecord(hooksLog(dir), /^child_exit 1 max_requests/, 15_000);
      return { inflight };
    },
  },
  'max-memory': {
    settings: 'max_memory: 200, timeout: 2,',
    cause: async ({ url, dir }) => {
      await fetch(`${url}/grow`);
      const inflight = slow(url, 1000);
      await waitForRecord(hooksLog(dir), /^child_exit 1 max_memory/, 15_000);
      return { inflight };
    },
  },
  timeout: {
    settings: 'timeout: 1,',
    cause: async ({ url, dir }) => {
      const inflight = settle(fetch(`${url}/block`));
      await waitForRecord(hooksLog(dir), /^child_exit 1 timeout/, 15_000);
      return { inflight };
    },
  },
  crash: {
    cause: async ({ url, dir }) => {
      const inflight = slow(url, 5000);
      await waitForRecord(hooksLog(dir), /^pre_request 1 \/slow/);
      await fetch(`${url}/crash`);
      await waitForRecord(hooksLog(dir), /^child_exit 1 crash/);
      return { inflight };
    },
  },
  'worker-sigkill': {
    cause: async ({ hostd, url, dir }) => {
      const inflight = slow(url, 5000);
      await waitForRecord(hooksLog(dir), /^pre_request 1 \/slow/);
      for (const pid of workerPids(hostd.pid)) process.kill(pid, 'SIGKILL');
      await waitForRecord(hooksLog(dir), /^child_exit 1 killed/);
      return { inflight };
    },
  },
  'primary-sigkill': {
    cause: async ({ hostd, url, dir }) => {
      const workers = workerPids(hostd.pid);
      const inflight = slow(url, 1000);
      await waitForRecord(hooksLog(dir), /^pre_request \d \/slow/);
      hostd.child.kill('SIGKILL');
      await waitUntil(() => workers.every((pid) => !alive(pid)), 'every worker to exit (no orphans)', 10_000);
      return { inflight };
    },
  },
  'boot-failure': {
    settings: "post_fork: () => { throw new Error('cannot reach the database'); },",
    cause: async () => ({}),
  },
  'boot-timeout': {
    settings: "boot_timeout: 1, env: { HANG_BOOT: '1' },",
    cause: async () => ({}),
  },
  'term-while-booting': {
    settings: "env: { HANG_BOOT: '1' },",
    cause: async ({ hostd, dir }) => {
      await waitForRecord(hooksLog(dir), /^factory$/);
      hostd.signal('SIGTERM');
      return {};
    },
  },
};

async function fastStop({ hostd, url, dir }: Run, signal: NodeJS.Signals): Promise<Caused> {
  const inflight = slow(url, 5000);
  await waitForRecord(hooksLog(dir), /^pre_request 1 \/slow/);
  hostd.signal(signal);
  return { inflight };
}

/** The record a step leaves: `worker_exit 1 reload`, `host shutdown reload`, `on_exit 0 shutdown`. */
function pattern(step: Step): RegExp {
  switch (step.call) {
    case 'worker_int':
      return /^worker_int \d$/;
    case "host.on('shutdown')":
      return new RegExp(`^host shutdown ${step.reason}$`);
    case 'worker_exit':
      return new RegExp(`^worker_exit \\d ${step.reason}$`);
    case 'child_exit':
      return new RegExp(`^child_exit \\d ${step.reason} `);
    case 'on_exit':
      return new RegExp(`^on_exit ${step.exitCode} ${step.reason}$`);
  }
}

/** The record any call of this kind leaves, whatever its reason. */
const ANY: Record<Step['call'], RegExp> = {
  worker_int: /^worker_int /,
  "host.on('shutdown')": /^host shutdown /,
  worker_exit: /^worker_exit /,
  child_exit: /^child_exit /,
  on_exit: /^on_exit /,
};

describe('how a process ends (docs/guarantees.md)', () => {
  it.each(STOP_PATHS.map((path) => [path.title, path] as const))('%s', async (_title, path: StopPath) => {
    const how = CAUSES[path.id];
    expect(how, `no way to cause "${path.id}" in this test`).toBeDefined();
    const dir = project({ 'record.ts': RECORD_MODULE, 'app.mjs': APP, 'hostd.config.ts': config(how!.settings ?? '') });
    const log = hooksLog(dir);
    const hostd = startHostd(dir);
    const url = path.requests === 'none yet' ? '' : await hostd.ready();
    const { inflight } = await how!.cause({ hostd, dir, url });

    // Requests in flight.
    if (path.requests === 'finish') expect(await inflight).toEqual({ body: 'slow done' });
    if (path.requests === 'are cut') expect(await inflight).toHaveProperty('error');

    // The primary: exits as stated, or keeps running and the service goes on.
    if (path.exit === null) {
      expect(path.service).toBe('goes on');
      await waitUntil(async () => (await fetch(`${url}/`).catch(() => null))?.status === 200, 'the service to go on', 15_000);
    } else {
      const exit = await hostd.exited;
      if (path.exit === 'SIGKILL') expect(exit.signal).toBe('SIGKILL');
      else expect(exit.code, hostd.output).toBe(path.exit);
      if (url) await expect(fetch(`${url}/`)).rejects.toThrow();
    }

    // The calls: each promised one once (once per ended process for boot failures), in order; none of the impossible ones.
    const lines = records(log);
    let previous = -1;
    for (const step of path.runs) {
      const index = lines.findIndex((l, i) => i > previous && pattern(step).test(l));
      expect(index, `${step.call} (${step.reason ?? ''}) after line ${previous} in:\n${lines.join('\n')}`).toBeGreaterThan(previous);
      const times = count(lines, pattern(step));
      // Boots retried until the primary gives up: one child_exit per worker started.
      if (path.exit === 3 && step.call === 'child_exit') expect(times).toBe(count(lines, /^pre_fork /));
      else expect(times, `${step.call} ran ${times} times:\n${lines.join('\n')}`).toBe(1);
      previous = index;
    }
    for (const { call } of path.cannot) expect(count(lines, ANY[call]), `${call} must not run:\n${lines.join('\n')}`).toBe(0);
  });
});
