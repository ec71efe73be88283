/**
 * App metrics across stops, against a running `hostd run` over loopback: a primary stopped
 * (SIGSTOP) while a scrape waits for the workers, and a worker whose registry hangs as it
 * exits (its last answer is waited for at most LAST_ANSWER_MS).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ABANDON_MS } from '../../src/runtime/primary/metrics.ts';
import { recordingConfig } from '../helpers/apps.ts';
import { GATE_MODULE, release } from '../helpers/gates.ts';
import { continueStopped, promProject, sampleValue, startWithMetrics } from '../helpers/metrics.ts';
import { processState } from '../helpers/proc.ts';
import { count, type Hostd, hooksLog, records, RECORD_MODULE, waitUntil, workerPids } from '../helpers/run.ts';

const appProject = (app: string, config: string) => promProject({ 'app.mjs': app, 'hostd.config.ts': config, 'record.ts': RECORD_MODULE, 'gate.mjs': GATE_MODULE });


async function scrape(url: string): Promise<string> {
  const response = await fetch(url, { signal: AbortSignal.timeout(60_000) });
  expect(response.status).toBe(200);
  return response.text();
}

const start = (dir: string) => startWithMetrics(dir, { readyMs: 30_000 });

/** The stall itself: how long the primary is held stopped (the stimulus, not a wait for an outcome). */
const stall = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/**
 * `app_phase` is 1 in each worker; once the file `hold` exists, reading the registry waits at
 * gate `collect` (async collect) and then sets it to 2: the scrape that gets it got the
 * answer to the request it made. The worker asked second stops the primary (SIGSTOP to its
 * parent) as it is asked, once: none of the primary's wait for the answers runs before it is
 * stopped, however slow the machine.
 */
const HELD_COLLECT_APP = `import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import client from 'prom-client';
import { gate } from './gate.mjs';
const here = (name) => new URL('./' + name, import.meta.url);
new client.Gauge({ name: 'app_phase', help: 'Which answer.', async collect() {
  if (!existsSync(here('hold'))) return void this.set(1);
  const held = gate('collect');
  const asked = readFileSync(here('hooks.log'), 'utf8').match(/^collect waiting$/gm)?.length ?? 0;
  if (asked === 2 && !existsSync(here('primary-stopped'))) {
    writeFileSync(here('primary-stopped'), '');
    process.kill(process.ppid, 'SIGSTOP');
  }
  await held;
  this.set(2);
} });
export default (req, res) => res.end(String(process.pid));
`;

/** Its registry hangs (an async collect that never settles) once the worker runs worker_exit: its last answer never comes. */
const HANGING_AT_EXIT_APP = `import client from 'prom-client';
import { rec } from './gate.mjs';
new client.Gauge({ name: 'app_up', help: 'Up.', collect() {
  if (globalThis.hangMetrics !== true) return void this.set(1);
  rec('collect hangs pid=' + process.pid);
  return new Promise(() => {});
} });
export default (req, res) => res.end(String(process.pid));
`;

describe('app metrics across stops', () => {
  let run: Hostd | undefined;
  const stopped: number[] = [];
  afterEach(async () => {
    continueStopped(stopped);
    await run?.kill();
    run = undefined;
  });

  it('a primary stopped (SIGSTOP) longer than ABANDON_MS while a scrape waits for the workers: the scrape gets both answers, no error is counted, no worker is given up on', async () => {
    const dir = appProject(HELD_COLLECT_APP, recordingConfig("workers: 2, timeout: 2, metrics_bind: '127.0.0.1:0',"));
    const log = hooksLog(dir);
    const started = await start(dir);
    run = started.run;
    const pids = workerPids(run.pid).sort();
    expect(pids).toHaveLength(2);
    // Both workers answer; the errors counted so far (a first answer may be late on a busy machine) are the baseline.
    const before = await waitUntil(async () => {
      const text = await scrape(started.metrics);
      return sampleValue(text, 'app_phase') === 2 && text;
    }, 'both workers to answer a scrape');
    const errors = sampleValue(before, 'hostd_scrape_errors_total')!;

    // Continued after the test whatever happens: the workers stop it.
    stopped.push(run.pid);
    writeFileSync(join(dir, 'hold'), '');
    const inFlight = scrape(started.metrics);
    // The primary asked both, and the second stopped it as it was asked (it waits at most 1 s of its running time for answers).
    await waitUntil(() => count(records(log), /^collect waiting$/) === 2, 'both workers to be asked');
    await waitUntil(() => processState(run!.pid) === 'T', 'the primary to be stopped');
    const stoppedAt = Date.now();
    // They answer while it is stopped: the answers wait in the pipes.
    release(dir, 'collect');
    await waitUntil(() => count(records(log), /^collect released$/) === 2, 'both workers to answer');
    await stall(ABANDON_MS + 1000 - (Date.now() - stoppedAt));
    process.kill(run.pid, 'SIGCONT');

    const text = await inFlight;
    expect(sampleValue(text, 'app_phase')).toBe(4);
    expect(sampleValue(text, 'hostd_scrape_errors_total')).toBe(errors);
    // Asked again at the next scrape, and answering.
    const next = await scrape(started.metrics);
    expect(sampleValue(next, 'app_phase')).toBe(4);
    expect(sampleValue(next, 'hostd_scrape_errors_total')).toBe(errors);
    expect(sampleValue(next, 'hostd_workers{state="serving"}')).toBe(2);
    expect(run.output).not.toMatch(/WORKER TIMEOUT/);
    expect(workerPids(run.pid).sort()).toEqual(pids);
    expect(run.output).toMatch(/the primary did not run for \d+(\.\d)? s/);
  }, 90_000);

  it('a worker whose registry hangs as it stops still exits on its own: its exit waits for its last answer only so long, then its stop and every exit hook complete', async () => {
    // A stop plan shorter than the registry's 10 s read timeout: a worker waiting for its last answer that long would be killed.
    const config = recordingConfig(
      `workers: 1, metrics_bind: '127.0.0.1:0', graceful_timeout: 2, hook_timeout: 2,
  worker_exit: (ctx) => {
    // The app's registry hangs from here on (its last answer is read after worker_exit).
    globalThis.hangMetrics = true;
    recorded.worker_exit(ctx);
  },`,
    );
    const dir = appProject(HANGING_AT_EXIT_APP, config);
    const log = hooksLog(dir);
    const started = await start(dir);
    run = started.run;
    // The app's prom-client is found and read: its last answer will be read too.
    await waitUntil(async () => sampleValue(await scrape(started.metrics), 'app_up') === 1, 'the app metrics to be scraped');
    const [pid] = workerPids(run.pid);

    const exit = await run.stop('SIGTERM');
    expect(exit).toEqual({ code: 0, signal: null });
    const lines = records(log);
    expect(lines).toContain('worker_exit 1 shutdown');
    expect(lines).toContain(`collect hangs pid=${pid}`);
    expect(lines).toContain('child_exit 1 shutdown code=0 signal=null');
    expect(lines).toContain('on_exit 0 shutdown');
  }, 60_000);
});
