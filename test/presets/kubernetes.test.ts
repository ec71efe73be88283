import { PLATFORM_MARGIN_SECONDS, PRESET_SHAPE as ONE_OF_EACH, stopPlan } from '../../src/config/stop-plan.ts';
import { Agent, get } from 'node:http';
import { describe, expect, it } from 'vitest';
import { printConfig } from '../helpers/cli.ts';
import { project } from '../helpers/project.ts';
import { RECORD_MODULE, hooksLog, records, startHostd, waitUntil } from '../helpers/run.ts';

/** An app that records every request it sees, so a test can tell probes never reached it. */
const APP = `import { appendFileSync } from 'node:fs';
export default (req, res) => {
  appendFileSync(new URL('./hooks.log', import.meta.url), 'app ' + req.url + '\\n');
  const block = /^\\/block\\?ms=(\\d+)$/.exec(req.url);
  if (block) for (const end = Date.now() + Number(block[1]); Date.now() < end; );
  res.end(req.url === '/pid' ? String(process.pid) : 'app');
};
`;

function kubernetesProject(options: string): string {
  return project({
    'record.ts': RECORD_MODULE,
    'app.mjs': APP,
    'hostd.config.ts': `import { defineConfig } from 'hostd';
import kubernetes from 'hostd/presets/kubernetes';
import { recorded } from './record.ts';
export default defineConfig({ extends: [kubernetes(${options})], app: './app.mjs', bind: '127.0.0.1:0', workers: 2, worker_int: recorded.worker_int, worker_exit: recorded.worker_exit, on_exit: recorded.on_exit });
`,
  });
}

/** A GET over `agent` (one kept-alive connection), with its status and body. */
function over(agent: Agent, url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, { agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    }).on('error', reject);
  });
}

const status = async (url: string) => (await fetch(url).catch(() => null))?.status ?? 'refused';

describe('hostd/presets/kubernetes', () => {
  it('answers /readyz and /livez in every worker before the app', async () => {
    const dir = kubernetesProject('');
    const hostd = startHostd(dir);
    const url = await hostd.ready();
    // One kept-alive connection per worker (a second connection goes to the worker holding
    // none), each asked which worker it reached, then for both probes.
    const agents = [new Agent({ keepAlive: true, maxSockets: 1 }), new Agent({ keepAlive: true, maxSockets: 1 })];
    try {
      const pids = [];
      for (const agent of agents) pids.push((await over(agent, `${url}/pid`)).body);
      expect(new Set(pids).size, 'two workers reached').toBe(2);
      for (const agent of agents) {
        expect(await over(agent, `${url}/readyz`)).toEqual({ status: 200, body: 'ready\n' });
        expect(await over(agent, `${url}/livez`)).toEqual({ status: 200, body: 'alive\n' });
      }
    } finally {
      for (const agent of agents) agent.destroy();
    }
    expect(await (await fetch(`${url}/work`)).text()).toBe('app');
    await waitUntil(() => records(hooksLog(dir)).includes('app /work'), 'the app request');
    expect(records(hooksLog(dir)).filter((l) => l.startsWith('app ') && l !== 'app /pid')).toEqual(['app /work']);
  });

  it('answers /livez from a worker that can: a blocked worker is passed over', async () => {
    const dir = kubernetesProject('');
    const hostd = startHostd(dir);
    const url = await hostd.ready();
    // One worker busy for 3 s; the probe's connection goes to the other (dispatch: least_busy), which answers.
    let unblocked = false;
    const blocked = fetch(`${url}/block?ms=3000`).then(() => (unblocked = true));
    await waitUntil(() => records(hooksLog(dir)).includes('app /block?ms=3000'), 'a worker blocked');
    const probe = await new Promise<number>((resolve, reject) => {
      get(`${url}/livez`, { agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      }).on('error', reject);
    });
    expect(probe).toBe(200);
    // Answered while the other worker was still blocked: by the free one.
    expect(unblocked).toBe(false);
    await blocked;
  });

  it('keeps an idle keep-alive connection longer than the balancer in front (65 s by default, the option otherwise)', async () => {
    const settings = (await printConfig(kubernetesProject('{ keepalive: 605 }'))).settings;
    expect([settings.keepalive!.value, settings.headers_timeout!.value, settings.request_timeout!.value]).toEqual([605, 610, 610]);
    const dir = kubernetesProject('');
    expect((await printConfig(dir)).settings.keepalive!.value).toBe(65);
    const run = startHostd(dir);
    const url = await run.ready();
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await over(agent, `${url}/pid`);
      // Idle past Node's own 5 s: a connection the preset did not keep would be closed by now.
      await new Promise((resolve) => setTimeout(resolve, 6000));
      const sockets = Object.values(agent.freeSockets).flat();
      expect(sockets).toHaveLength(1);
      expect(sockets[0]!.destroyed).toBe(false);
      const second = await over(agent, `${url}/pid`);
      expect(second.body).toBe(first.body);
      expect(Object.values(agent.sockets).flat().length + Object.values(agent.freeSockets).flat().length).toBe(1);
    } finally {
      agent.destroy();
    }
  });

  it('uses the probe paths given as options', async () => {
    const hostd = startHostd(kubernetesProject("{ readiness_path: '/ready', liveness_path: '/healthz' }"));
    const url = await hostd.ready();
    expect(await status(`${url}/ready`)).toBe(200);
    expect(await status(`${url}/healthz`)).toBe(200);
    expect(await (await fetch(`${url}/readyz`)).text()).toBe('app');
  });

  it('on SIGTERM answers /readyz with 503 for drain_delay while the app keeps serving, then stops gracefully', async () => {
    const dir = kubernetesProject('{ drain_delay: 6 }');
    const hostd = startHostd(dir);
    const url = await hostd.ready();
    const signalled = Date.now();
    hostd.signal('SIGTERM');
    await waitUntil(async () => (await status(`${url}/readyz`)) === 503, '/readyz to answer 503');
    // Still within drain_delay: the app serves and the process is up.
    expect(await (await fetch(`${url}/during-drain`)).text()).toBe('app');
    expect(await status(`${url}/livez`)).toBe(200);
    expect(records(hooksLog(dir)).some((l) => l.startsWith('worker_exit'))).toBe(false);
    // Records and output travel separately (a file, a pipe): wait for the line itself.
    await hostd.waitForOutput(/draining: readiness answers 503 for 6 s while the workers keep serving/);
    expect((await hostd.exited).code).toBe(0);
    // The workers were told only once drain_delay had passed: never sooner (a lower bound, not a race).
    expect(Date.now() - signalled).toBeGreaterThanOrEqual(6000);
    const lines = records(hooksLog(dir));
    expect(lines.filter((l) => l.startsWith('worker_exit'))).toHaveLength(2);
    expect(lines.at(-1)).toBe('on_exit 0 shutdown');
  });

  it('cuts drain_delay short on a second SIGTERM; the workers, not stopping yet, stop fast (worker_int)', async () => {
    const dir = kubernetesProject('{ drain_delay: 60, termination_grace_period: 90 }');
    const hostd = startHostd(dir);
    await hostd.ready();
    hostd.signal('SIGTERM');
    await hostd.waitForOutput(/draining: readiness answers 503 for 60 s/);
    expect((await hostd.stop('SIGTERM')).code).toBe(0);
    const lines = records(hooksLog(dir));
    expect(lines.filter((l) => /^worker_int \d$/.test(l))).toHaveLength(2);
    expect(lines.filter((l) => /^worker_exit \d shutdown$/.test(l))).toHaveLength(2);
  });

  it('binds $PORT on every interface, one worker per usable CPU, the whole stop within terminationGracePeriodSeconds', async () => {
    const dir = project({
      'app.mjs': APP,
      'hostd.config.ts': "import kubernetes from 'hostd/presets/kubernetes';\nexport default { extends: [kubernetes({ termination_grace_period: 60 })], app: './app.mjs' };\n",
    });
    const report = await printConfig(dir, { PORT: '9321' });
    const value = (key: string) => report.settings[key]!.value as number;
    expect(report.settings.workers).toEqual({ value: 'auto', source: 'preset kubernetes' });
    expect(report.settings.bind).toEqual({ value: ['0.0.0.0:9321'], source: 'preset kubernetes' });
    const settings = { drain_delay: value('drain_delay'), graceful_timeout: value('graceful_timeout'), hook_timeout: value('hook_timeout') };
    expect(stopPlan(settings, ONE_OF_EACH, 'graceful').total).toBeLessThanOrEqual(60 - PLATFORM_MARGIN_SECONDS);
    expect(report.settings.readiness_path).toEqual({ value: '/readyz', source: 'preset kubernetes' });
  });
});
