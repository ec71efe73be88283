import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { project } from '../helpers/project.ts';
import { RECORD_MODULE, hooksLog, records, startHostd, waitForRecord, waitUntil } from '../helpers/run.ts';

/** A project whose config has `hooks` (source text) around an app that records its calls. */
function withHooks(hooks: string, settings = ''): string {
  return project({
    'record.ts': RECORD_MODULE,
    'app.mjs': `import { appendFileSync } from 'node:fs';
export default (req, res) => {
  appendFileSync(new URL('./hooks.log', import.meta.url), 'app ' + req.url + ' ' + (res.getHeader('x-pre') ?? '-') + '\\n');
  if (req.url === '/slow-body') { res.write('part'); return void setTimeout(() => res.end('rest'), 2000); }
  res.setHeader('content-type', 'text/plain');
  res.end('app answered');
};
`,
    'hostd.config.ts': `import { defineConfig } from 'hostd';
import { recorded, rec } from './record.ts';
export default defineConfig({ app: './app.mjs', bind: '127.0.0.1:0', workers: 1, ${settings}
${hooks}
});
`,
  });
}

describe('request hooks', () => {
  it('lets pre_request answer the request itself; the app is not called, post_request still runs', async () => {
    const dir = withHooks(`pre_request: ({ req, res }) => { if (req.url === '/maintenance') res.writeHead(503).end('down'); },
post_request: recorded.post_request,`);
    const hostd = startHostd(dir);
    const url = await hostd.ready();
    const response = await fetch(`${url}/maintenance`);
    expect(response.status).toBe(503);
    expect(await response.text()).toBe('down');
    expect(await (await fetch(`${url}/other`)).text()).toBe('app answered');
    await waitForRecord(hooksLog(dir), /^post_request 1 \/other 200/);
    const lines = records(hooksLog(dir));
    expect(lines).toContain('post_request 1 /maintenance 503 aborted=false error=null');
    expect(lines.filter((l) => l.startsWith('app '))).toEqual(['app /other -']);
  });

  it('awaits async pre_request functions, in order, before the app', async () => {
    const dir = withHooks(`pre_request: [
  async ({ res }) => { await new Promise((r) => setTimeout(r, 20)); res.setHeader('x-pre', 'a'); },
  ({ res }) => { res.setHeader('x-pre', String(res.getHeader('x-pre')) + 'b'); },
],`);
    const hostd = startHostd(dir);
    const url = await hostd.ready();
    await fetch(`${url}/ordered`);
    await waitForRecord(hooksLog(dir), /^app \/ordered/);
    expect(records(hooksLog(dir))).toContain('app /ordered ab');
  });

  it("passes the client's x-request-id through, and makes one otherwise", async () => {
    const dir = withHooks("pre_request: ({ res, request_id }) => { res.setHeader('x-request-id', request_id); },");
    const hostd = startHostd(dir);
    const url = await hostd.ready();
    expect((await fetch(`${url}/`, { headers: { 'x-request-id': 'abc-123' } })).headers.get('x-request-id')).toBe('abc-123');
    expect((await fetch(`${url}/`)).headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('tells post_request when the client went away before the response finished', async () => {
    const dir = withHooks('post_request: recorded.post_request,');
    const hostd = startHostd(dir);
    const url = new URL(await hostd.ready());
    await new Promise<void>((resolve) => {
      const req = request({ host: url.hostname, port: url.port, path: '/slow-body' }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', () => {});
      req.end();
    });
    await waitForRecord(hooksLog(dir), /^post_request 1 \/slow-body 200 aborted=true/);
  });
});

describe('logs', () => {
  it("writes the access log in gunicorn's format", async () => {
    const format = '%(h)s %(m)s %(U)s q=%(q)s %(s)s %(B)s %(b)s %({x-test}i)s %({content-type}o)s %(H)s %(p)s';
    const dir = withHooks('', `accesslog: './access.log', access_log_format: ${JSON.stringify(format)},`);
    const hostd = startHostd(dir);
    const url = await hostd.ready();
    await fetch(`${url}/path?x=1`, { headers: { 'x-test': 'yes' } });
    const file = join(dir, 'access.log');
    const line = await waitUntil(() => {
      try {
        return readFileSync(file, 'utf8').trim() || undefined;
      } catch {
        return undefined;
      }
    }, 'an access log line');
    expect(line).toMatch(/^127\.0\.0\.1 GET \/path q=x=1 200 12 12 yes text\/plain HTTP\/1\.1 <\d+>$/);
  });

  it('writes JSON lines with log_format: json', async () => {
    const dir = withHooks('', "log_format: 'json', accesslog: '-',");
    const hostd = startHostd(dir);
    await hostd.waitForOutput(/"message":"hostd is ready: 1 worker"/);
    const url = JSON.parse(hostd.output.split('\n').find((l) => l.includes('Listening at'))!).message.match(/http:\S+/)[0] as string;
    await fetch(`${url}/json`);
    const access = await waitUntil(() => hostd.output.split('\n').find((l) => l.includes('"url":"/json"')), 'a JSON access line');
    expect(JSON.parse(access)).toMatchObject({ method: 'GET', url: '/json', status: 200, bytes: 12 });
    const ready = hostd.output.split('\n').find((l) => l.includes('hostd is ready'))!;
    expect(JSON.parse(ready)).toMatchObject({ level: 'info', process: 'primary', message: 'hostd is ready: 1 worker' });
  });
});

describe('hook tracing', () => {
  it('logs every hook call with its process, duration and outcome at loglevel debug', async () => {
    const dir = project({
      'record.ts': RECORD_MODULE,
      'app.mjs': "import { host } from 'hostd';\nhost.on('shutdown', function flush() {});\nexport default (req, res) => res.end('ok');\n",
      'hostd.config.ts': `import { defineConfig } from 'hostd';
import { recorded } from './record.ts';
export default defineConfig({ app: './app.mjs', bind: '127.0.0.1:0', loglevel: 'debug', ...recorded, pre_request: [recorded.pre_request, () => { throw new Error('no'); }] });
`,
    });
    const hostd = startHostd(dir);
    const url = await hostd.ready();
    await fetch(`${url}/`);
    expect((await hostd.stop()).code).toBe(0);
    const trace = /\[DEBUG\] (.+) in (primary|worker 1): (ok|threw|timed out) after \d+\.\d ms/g;
    const lines = [...hostd.output.matchAll(trace)].map((m) => `${m[1]} | ${m[2]} | ${m[3]}`);
    for (const expected of [
      'hook on_starting (from hostd.config.ts) | primary | ok',
      'hook pre_fork (from hostd.config.ts) | primary | ok',
      'hook post_fork (from hostd.config.ts) | worker 1 | ok',
      'hook post_worker_init (from hostd.config.ts) | worker 1 | ok',
      'hook when_ready (from hostd.config.ts) | primary | ok',
      'hook pre_request[0] (from hostd.config.ts) | worker 1 | ok',
      'hook pre_request[1] (from hostd.config.ts) | worker 1 | threw',
      'hook post_request (from hostd.config.ts) | worker 1 | ok',
      "host.on('shutdown') handler (flush) | worker 1 | ok",
      'hook worker_exit (from hostd.config.ts) | worker 1 | ok',
      'hook child_exit (from hostd.config.ts) | primary | ok',
      'hook on_exit (from hostd.config.ts) | primary | ok',
    ]) {
      expect(lines, hostd.output).toContain(expected);
    }
  });
});
