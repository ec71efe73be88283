import { join } from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { project } from '../helpers/project.ts';
import { RECORD_MODULE, count, expectBefore, hooksLog, records, startHostd, waitForRecord, waitUntil, workerPids } from '../helpers/run.ts';
import { alive } from '../helpers/proc.ts';

/** An app that subscribes through `import { host } from 'hostd'`, as library code would. */
const HOST_APP = `import { host } from 'hostd';
import { appendFileSync } from 'node:fs';
const rec = (line) => appendFileSync(new URL('./hooks.log', import.meta.url), line + '\\n');

rec(\`app loaded running=\${host.running} worker=\${host.worker?.id} capabilities=\${host.capabilities.join(',')}\`);
host.on('shutdown', async ({ reason, signal }) => {
  rec(\`shutdown handler \${reason} aborted=\${signal.aborted}\`);
  await new Promise((resolve) => setTimeout(resolve, 50));
  rec('shutdown handler flushed');
});
host.on('reload', ({ generation, signal }) => rec(\`reload handler generation=\${generation} signal=\${signal instanceof AbortSignal && !signal.aborted}\`));
const unsubscribe = host.on('request', ({ req, status }) => rec(\`request handler \${req.url} \${status}\`));

export default (req, res) => {
  if (req.url === '/slow') return void setTimeout(() => res.end('slow done'), 800);
  if (req.url === '/unsubscribe') { unsubscribe(); return void res.end('unsubscribed'); }
  if (req.url === '/reload' || req.url === '/stop') {
    try { host[req.url.slice(1)](); res.end('asked'); } catch (error) { res.statusCode = 403; res.end(\`\${error.code}: \${error.message}\`); }
    return;
  }
  res.end('hello');
};
`;

function hostProject(settings = '', appFile = 'app.mjs'): string {
  return project({
    'record.ts': RECORD_MODULE,
    [appFile]: HOST_APP,
    'hostd.config.ts': `import { defineConfig } from 'hostd';
import { recorded } from './record.ts';
export default defineConfig({ app: './${appFile}', bind: '127.0.0.1:0', workers: 1, ...recorded, ${settings} });
`,
  });
}

describe('import { host } from "hostd" in a worker', () => {
  it.each(['app.mjs', 'app.ts'])('is the instance the runtime drives, in a %s app: shutdown runs after the drain, before worker_exit', async (appFile) => {
    const dir = hostProject('', appFile);
    const log = hooksLog(dir);
    const hostd = startHostd(dir);
    const url = await hostd.ready();
    expect(records(log)).toContain('app loaded running=true worker=1 capabilities=draining,shutdown,reload,request');
    const slow = fetch(`${url}/slow`);
    await waitForRecord(log, /^pre_request 1 \/slow/);
    hostd.signal('SIGTERM');
    expect(await (await slow).text()).toBe('slow done');
    expect((await hostd.exited).code).toBe(0);
    const lines = records(log);
    expectBefore(lines, /^post_request 1 \/slow 200 aborted=false error=null$/, /^shutdown handler shutdown aborted=false$/);
    expectBefore(lines, /^shutdown handler shutdown aborted=false$/, /^shutdown handler flushed$/);
    expectBefore(lines, /^shutdown handler flushed$/, /^worker_exit 1 shutdown$/);
    expect(count(lines, /^shutdown handler shutdown/)).toBe(1);
  });

  it('bounds a shutdown handler by hook_timeout and aborts its signal', async () => {
    const dir = project({
      'record.ts': RECORD_MODULE,
      'app.mjs': `import { host } from 'hostd';
import { appendFileSync } from 'node:fs';
const rec = (line) => appendFileSync(new URL('./hooks.log', import.meta.url), line + '\\n');
host.on('shutdown', ({ signal }) => new Promise(() => signal.addEventListener('abort', () => rec('shutdown signal aborted'))));
export default (req, res) => res.end('ok');
`,
      'hostd.config.ts': "import { defineConfig } from 'hostd';\nimport { recorded } from './record.ts';\nexport default defineConfig({ app: './app.mjs', bind: '127.0.0.1:0', hook_timeout: 1, worker_exit: recorded.worker_exit });\n",
    });
    const hostd = startHostd(dir);
    await hostd.ready();
    expect((await hostd.stop()).code).toBe(0);
    expect(records(hooksLog(dir))).toEqual(['shutdown signal aborted', 'worker_exit 1 shutdown']);
    expect(hostd.output).toMatch(/host\.on\('shutdown'\) handler did not finish within hook_timeout \(1 s\)/);
  });

  it('reaches its worker from an app bundle that carries its own copy of hostd', async () => {
    const dir = hostProject('', 'src.mjs');
    // What esbuild, webpack or ncc do to a deployed app: hostd inlined into one file.
    await build({ entryPoints: [join(dir, 'src.mjs')], outfile: join(dir, 'app.mjs'), bundle: true, format: 'esm', platform: 'node', logLevel: 'silent' });
    const log = hooksLog(dir);
    const hostd = startHostd(dir, ['--', './app.mjs']);
    await hostd.ready();
    expect(records(log)).toContain('app loaded running=true worker=1 capabilities=draining,shutdown,reload,request');
    expect((await hostd.stop()).code).toBe(0);
    expectBefore(records(log), /^shutdown handler flushed$/, /^worker_exit 1 shutdown$/);
  });

  it('delivers reload and request events, and stops delivering after unsubscribe', async () => {
    const dir = hostProject();
    const log = hooksLog(dir);
    const hostd = startHostd(dir);
    const url = await hostd.ready();
    await fetch(`${url}/a`);
    await waitForRecord(log, /^request handler \/a 200/);
    // After the response finished and post_request was called.
    expectBefore(records(log), /^post_request 1 \/a 200 aborted=false/, /^request handler \/a 200/);
    await fetch(`${url}/unsubscribe`);
    await fetch(`${url}/b`);
    await waitForRecord(log, /^post_request 1 \/b 200/);
    expect(count(records(log), /^request handler \/b/)).toBe(0);
    hostd.signal('SIGHUP');
    await waitForRecord(log, /^reload handler generation=2 signal=true$/);
    await waitForRecord(log, /^shutdown handler reload/);
  });

  it('lets app code reload or stop hostd only when allow_app_control is set', async () => {
    const denied = startHostd(hostProject());
    const deniedUrl = await denied.ready();
    const refusal = await fetch(`${deniedUrl}/reload`);
    expect(refusal.status).toBe(403);
    expect(await refusal.text()).toMatch(/^HOSTD_ERR_APP_CONTROL: host\.reload\(\): app code may not reload hostd unless the config sets allow_app_control: true/);

    const dir = hostProject('allow_app_control: true,');
    const log = hooksLog(dir);
    const allowed = startHostd(dir);
    const url = await allowed.ready();
    expect(await (await fetch(`${url}/reload`)).text()).toBe('asked');
    await allowed.waitForOutput(/worker 1 \(pid \d+\) asked to reload \(host\.reload\(\)\)/);
    await waitForRecord(log, /^on_reload 1->1/);
    await allowed.waitForOutput(/reloaded: generation 2 is serving/);
    expect(await (await fetch(`${url}/stop`)).text()).toBe('asked');
    expect((await allowed.exited).code).toBe(0);
    expect(records(log).at(-1)).toBe('on_exit 0 shutdown');
  });
});

describe('when the primary dies', () => {
  it('workers notice, stop accepting, drain, run shutdown handlers and worker_exit, and exit', async () => {
    const dir = hostProject('workers: 2,');
    const log = hooksLog(dir);
    const hostd = startHostd(dir);
    const url = await hostd.ready();
    const workers = workerPids(hostd.pid);
    expect(workers).toHaveLength(2);
    const slow = fetch(`${url}/slow`);
    await waitForRecord(log, /^pre_request \d \/slow/);
    hostd.child.kill('SIGKILL');
    expect(await (await slow).text()).toBe('slow done');
    await expect(fetch(`${url}/`)).rejects.toThrow();
    await waitUntil(() => count(records(log), /^worker_exit \d shutdown/) === 2, 'both workers to run worker_exit', 10_000);
    expect(count(records(log), /^shutdown handler shutdown/)).toBe(2);
    await waitUntil(() => workers.every((pid) => !alive(pid)), 'no orphaned worker');
  });
});
