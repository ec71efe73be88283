import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PLATFORM_MARGIN_SECONDS, PRESET_SHAPE, stopPlan, type StopSettings } from '../../src/config/stop-plan.ts';
import { resolvedSettings } from '../helpers/cli.ts';
import { startLoad } from '../helpers/load.ts';
import { project } from '../helpers/project.ts';
import { startHostd, waitUntil } from '../helpers/run.ts';

describe('hostd/presets/paas', () => {
  const dir = () => project({ 'app.mjs': 'export default (q, s) => s.end("ok");\n', 'hostd.config.ts': "import paas from 'hostd/presets/paas';\nexport default { extends: [paas()], app: './app.mjs' };\n" });

  it('binds $PORT and takes workers from WEB_CONCURRENCY', async () => {
    const s = await resolvedSettings(dir(), { PORT: '5123', WEB_CONCURRENCY: '3' });
    expect(s.bind).toEqual(['0.0.0.0:5123']);
    expect(s.workers).toBe(3);
    expect((await resolvedSettings(dir(), { PORT: '5123' })).workers).toBe('auto');
  });

  it("keeps idle connections longer than the platform's router (95 s, 5 s more for headers), or as long as the option says", async () => {
    const s = await resolvedSettings(dir());
    expect([s.keepalive, s.headers_timeout, s.request_timeout]).toEqual([95, 100, 300]);
    const long = project({ 'app.mjs': 'export default (q, s) => s.end("ok");\n', 'hostd.config.ts': "import paas from 'hostd/presets/paas';\nexport default { extends: [paas({ keepalive: 905 })], app: './app.mjs' };\n" });
    const t = await resolvedSettings(long);
    // Behind Cloudflare's 900 s: request_timeout is raised so that headers_timeout fits under it.
    expect([t.keepalive, t.headers_timeout, t.request_timeout]).toEqual([905, 910, 910]);
  });

  it("stops within the platform's 30 s between SIGTERM and SIGKILL", async () => {
    const s = await resolvedSettings(dir());
    expect(stopPlan(s as unknown as StopSettings, PRESET_SHAPE, 'graceful').total).toBeLessThanOrEqual(30 - PLATFORM_MARGIN_SECONDS);
  });
});

describe('hostd/presets/development', () => {
  const APP = (word: string) => `export default (req, res) => {
  if (req.url === '/boom') throw new Error('broken on purpose');
  res.end('${word}');
};
`;
  const devProject = (word: string) =>
    project({
      'src/app.mjs': APP(word),
      'hostd.config.ts': "import development from 'hostd/presets/development';\nexport default { extends: [development()], app: './src/app.mjs', bind: '127.0.0.1:0' };\n",
    });

  it('restarts the workers when an app file changes, keeping the primary and the socket; no request fails', async () => {
    const dir = devProject('before');
    const run = startHostd(dir);
    const url = await run.ready();
    expect(run.output).toMatch(/reload: watching .*src/);
    const load = startLoad(`${url}/`, { concurrency: 2 });
    await waitUntil(() => load.result.ok > 20, 'some requests');
    writeFileSync(join(dir, 'src', 'app.mjs'), APP('after'));
    await run.waitForOutput(/reload: .*app\.mjs changed/);
    await waitUntil(() => load.result.bodies.at(-1) === 'after', 'the new code to serve', 15_000);
    const result = await load.stop();
    expect(result.failures).toEqual([]);
    expect(run.output).toMatch(/reloaded: generation 2 is serving/);
    expect(run.output.match(/Listening at/g)).toHaveLength(1);
  });

  it('quotes a changed file whose name has control characters', async () => {
    const dir = devProject('ok');
    const run = startHostd(dir);
    await run.ready();
    writeFileSync(join(dir, 'src', 'odd\n\x1b[2Jname.mjs'), '');
    await run.waitForOutput(/reload: ".*odd\\n\\u001b\[2Jname\.mjs" changed/);
    expect(run.output).not.toContain('\x1b');
  });

  it('shows the error and its stack in the response, and sets development defaults', async () => {
    const dir = devProject('ok');
    const run = startHostd(dir);
    const url = await run.ready();
    const response = await fetch(`${url}/boom`);
    expect(response.status).toBe(500);
    const body = await response.text();
    expect(body).toMatch(/^Internal Server Error\n\nError: broken on purpose\n\s+at /);
    expect(body).toContain('app.mjs:2');
    expect(await resolvedSettings(dir)).toMatchObject({ workers: 1, loglevel: 'debug', reload: true, show_errors: true, timeout: 0 });
  });
});
