import { request } from 'node:http';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { project, REPO } from '../helpers/project.ts';
import { RECORD_MODULE, hooksLog, startHostd, waitForRecord } from '../helpers/run.ts';

/** A project whose config serves `app` (a module path, with #export if needed) from `files`. */
function serving(app: string, files: Record<string, string>, settings = '', options: { type?: 'module' | 'commonjs' } = {}): string {
  return project(
    {
      ...files,
      'hostd.config.ts': `import { defineConfig } from 'hostd';\nexport default defineConfig({ app: ${JSON.stringify(app)}, bind: '127.0.0.1:0', ${settings} });\n`,
    },
    options,
  );
}

async function get(url: string, init?: RequestInit): Promise<{ status: number; body: string; headers: Headers }> {
  const response = await fetch(url, init);
  return { status: response.status, body: await response.text(), headers: response.headers };
}

type AppCase = [what: string, app: string, files: Record<string, string>, expected: string, type?: 'module' | 'commonjs'];

describe('hostd run: apps', () => {
  it.each<AppCase>([
    ['a listener in .mjs', './app.mjs', { 'app.mjs': "export default (req, res) => res.end('mjs');\n" }, 'mjs'],
    ['a listener in .cjs', './app.cjs', { 'app.cjs': "module.exports = (req, res) => res.end('cjs');\n" }, 'cjs'],
    ['a listener in .js (CommonJS project)', './app.js', { 'app.js': "module.exports = (req, res) => res.end('js');\n" }, 'js', 'commonjs'],
    ['a listener in .ts importing .ts', './src/app.ts', { 'src/app.ts': "import { word } from './word.ts';\nexport default (req: unknown, res: { end(s: string): void }) => res.end(word);\n", 'src/word.ts': "export const word: string = 'ts';\n" }, 'ts'],
    ['a named export', './app.mjs#api', { 'app.mjs': "export const api = (req, res) => res.end('named');\n" }, 'named'],
    ['a sync factory', './app.mjs', { 'app.mjs': "export default () => (req, res) => res.end('factory');\n" }, 'factory'],
    ['an async factory', './app.mjs', { 'app.mjs': "export default async () => { await new Promise((r) => setTimeout(r, 10)); return (req, res) => res.end('async factory'); };\n" }, 'async factory'],
    ['a fetch app', './app.mjs', { 'app.mjs': "export default { fetch: (request) => new Response(`fetch ${new URL(request.url).pathname}`) };\n" }, 'fetch /'],
    ['a factory of a fetch app', './app.mjs', { 'app.mjs': "export default async () => ({ fetch: () => new Response('made fetch') });\n" }, 'made fetch'],
  ])('serves %s', async (_what, app, files, expected, type = 'module') => {
    const hostd = startHostd(serving(app, files, '', { type }));
    const url = await hostd.ready();
    expect(await get(`${url}/`)).toMatchObject({ status: 200, body: expected });
  });

  it('streams request and response bodies of a fetch app, and passes headers both ways', async () => {
    const app = `export default {
  async fetch(request) {
    if (request.method === 'POST') {
      let bytes = 0;
      for await (const chunk of request.body) bytes += chunk.byteLength;
      return Response.json({ bytes, type: request.headers.get('content-type') });
    }
    const stream = new ReadableStream({
      async start(controller) {
        for (const part of ['a', 'b', 'c']) { controller.enqueue(new TextEncoder().encode(part)); await new Promise((r) => setTimeout(r, 20)); }
        controller.close();
      },
    });
    const headers = new Headers({ 'x-app': 'yes' });
    headers.append('set-cookie', 'a=1');
    headers.append('set-cookie', 'b=2');
    return new Response(stream, { status: 201, headers });
  },
};
`;
    const hostd = startHostd(serving('./app.mjs', { 'app.mjs': app }));
    const url = await hostd.ready();
    const streamed = await get(`${url}/`);
    expect(streamed).toMatchObject({ status: 201, body: 'abc' });
    expect(streamed.headers.get('x-app')).toBe('yes');
    expect(streamed.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    const big = new Uint8Array(3 * 1024 * 1024).fill(7);
    const posted = await get(`${url}/`, { method: 'POST', body: big, headers: { 'content-type': 'application/octet-stream' } });
    expect(JSON.parse(posted.body)).toEqual({ bytes: big.byteLength, type: 'application/octet-stream' });
  });

  it('answers 500 when the app throws, keeps serving, and tells post_request', async () => {
    const dir = project({
      'record.ts': RECORD_MODULE,
      'app.mjs': "export default (req, res) => { if (req.url === '/boom') throw new Error('kaput'); res.end('fine'); };\n",
      'hostd.config.ts': "import { defineConfig } from 'hostd';\nimport { recorded } from './record.ts';\nexport default defineConfig({ app: './app.mjs', bind: '127.0.0.1:0', post_request: recorded.post_request });\n",
    });
    const hostd = startHostd(dir);
    const url = await hostd.ready();
    expect(await get(`${url}/boom`)).toMatchObject({ status: 500, body: 'Internal Server Error\n' });
    expect(await get(`${url}/`)).toMatchObject({ status: 200, body: 'fine' });
    await waitForRecord(hooksLog(dir), /^post_request 1 \/boom 500 aborted=false error=kaput/);
    await hostd.waitForOutput(/Error handling request GET \/boom \(the app threw\): Error: kaput/);
  });

  it("passes the requests a library takes over (as socket.io's engine.io does) to the library alone, and the rest to the app", async () => {
    // engine.io removes the server's request listeners when it attaches and calls them for
    // every path but its own: hostd's must be among them, or hostd's app answers those too.
    const app = `export default ({ server }) => {
  const before = server.listeners('request');
  server.removeAllListeners('request');
  server.on('request', (req, res) => {
    // Later, as a long poll answers: the app must not have answered first.
    if (req.url.startsWith('/library/')) setImmediate(() => res.end('library'));
    else for (const listener of before) listener.call(server, req, res);
  });
  let seen = 0;
  return (req, res) => res.end(\`app saw \${++seen}, wrapped \${before.length}\`);
};
`;
    const hostd = startHostd(serving('./app.mjs', { 'app.mjs': app }, 'workers: 1, keepalive: 0'));
    const url = await hostd.ready();
    for (let i = 0; i < 3; i++) expect(await get(`${url}/library/${i}`)).toMatchObject({ status: 200, body: 'library' });
    expect(await get(`${url}/`)).toMatchObject({ status: 200, body: 'app saw 1, wrapped 1' });
    // Draining swaps hostd's handler (Connection: close): the wrapped listener reaches the new one.
    hostd.signal('SIGTERM');
    expect((await hostd.exited).code).toBe(0);
    expect(hostd.output).not.toMatch(/uncaught|ERR_HTTP_HEADERS_SENT|ERR_STREAM_WRITE_AFTER_END/);
  });

  it.each([
    ['a module that does not load', { 'app.mjs': "import 'no-such-package';\nexport default () => {};\n" }, './app.mjs', /importing \.\/app\.mjs failed: app\.mjs:1: cannot find module "no-such-package"/],
    ['an export that is not an app', { 'app.mjs': 'export default 42;\n' }, './app.mjs', /app\.mjs#default is 42; expected a request listener/],
    ['a missing export', { 'app.mjs': 'export const apx = () => {};\n' }, './app.mjs#app', /app\.mjs has no export "app" \(did you mean "apx"\?\)/],
    ['a factory that throws', { 'app.mjs': "export default () => { throw new Error('no config'); };\n" }, './app.mjs', /the app factory \.\/app\.mjs#default threw Error: no config \(at app\.mjs:1:\d+\)\n.*Error: no config/],
  ])('exits 3 naming the problem for %s', async (_what, files, app, pattern) => {
    const hostd = startHostd(serving(app, files));
    expect((await hostd.exited).code).toBe(3);
    expect(hostd.output).toMatch(pattern);
    expect(hostd.output).toMatch(/workers cannot boot/);
  });

  it('takes the app from the command line', async () => {
    const dir = project({ 'server.mjs': "export default (req, res) => res.end('from argv');\n" });
    const hostd = startHostd(dir, ['./server.mjs', '-b', '127.0.0.1:0']);
    const url = await hostd.ready();
    expect((await get(`${url}/`)).body).toBe('from argv');
  });

  it('exits 1 when there is no app to run', async () => {
    const hostd = startHostd(project({ 'hostd.config.json': '{ "bind": "127.0.0.1:0" }' }));
    expect((await hostd.exited).code).toBe(1);
    expect(hostd.output).toMatch(/no app to run: set `app` in the config, HOSTD_APP, or pass it/);
  });
});

describe('hostd run: binds', () => {
  const APP = { 'app.mjs': "export default (req, res) => res.end('bound');\n" };

  it('listens on a unix socket', async () => {
    const socket = join(tmpdir(), `hostd-${process.pid}-${Date.now()}.sock`);
    const hostd = startHostd(serving('./app.mjs', APP, `bind: 'unix:${socket}',`));
    await hostd.ready();
    expect(hostd.output).toContain(`Listening at: unix:${socket}`);
    const body = await new Promise<string>((resolve, reject) => {
      request({ socketPath: socket, path: '/' }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d));
        res.on('end', () => resolve(text));
      })
        .on('error', reject)
        .end();
    });
    expect(body).toBe('bound');
  });

  it('quotes a unix socket path with control characters in its log lines', async () => {
    const socket = join(tmpdir(), `hostd-${process.pid}-${Date.now()}-a\nb\x1b[2J.sock`);
    const hostd = startHostd(serving('./app.mjs', APP, `bind: ${JSON.stringify(`unix:${socket}`)},`));
    await hostd.ready();
    expect(hostd.output).toContain(`Listening at: unix:${JSON.stringify(socket)}`);
    expect(hostd.output).not.toContain(socket);
  });

  it('listens on an inherited file descriptor (fd://3)', async () => {
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    // The listening socket's descriptor, inherited by hostd as fd 3 (as systemd passes it).
    const fd = (server as unknown as { _handle: { fd: number } })._handle.fd;
    const hostd = startHostd(serving('./app.mjs', APP, "bind: 'fd://3',"), [], { fds: [fd] });
    await hostd.ready();
    server.close();
    expect((await get(`http://127.0.0.1:${port}/`)).body).toBe('bound');
  });

  it('listens on several binds at once, including IPv6 loopback', async () => {
    const hostd = startHostd(serving('./app.mjs', APP, "bind: ['127.0.0.1:0', '[::1]:0'],"));
    await hostd.ready();
    const urls = [...hostd.output.matchAll(/Listening at: (\S+)/g)].map((m) => m[1]!);
    expect(urls).toHaveLength(2);
    expect(urls[1]).toMatch(/^http:\/\/\[::1\]:\d+$/);
    for (const url of urls) expect((await get(`${url}/`)).body).toBe('bound');
  });

  it('exits 1 when a bind is taken', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const hostd = startHostd(serving('./app.mjs', APP, `bind: '127.0.0.1:${port}',`));
    expect((await hostd.exited).code).toBe(1);
    expect(hostd.output).toContain(`cannot listen on 127.0.0.1:${port}: address already in use`);
    server.close();
  });
});

describe('the examples', () => {
  it.each([
    ['node-http', '/', (body: string) => expect(body).toMatch(/^hello from worker pid \d+\n$/)],
    ['express', '/', (body: string) => expect(JSON.parse(body)).toMatchObject({ framework: 'express' })],
    ['fastify', '/', (body: string) => expect(JSON.parse(body)).toMatchObject({ framework: 'fastify' })],
    ['koa', '/', (body: string) => expect(JSON.parse(body)).toMatchObject({ framework: 'koa', path: '/' })],
    ['hono', '/', (body: string) => expect(JSON.parse(body)).toMatchObject({ framework: 'hono' })],
  ])('%s boots with its own config and answers', async (name, path, check) => {
    const hostd = startHostd(join(REPO, 'examples', name), ['-b', '127.0.0.1:0']);
    const url = await hostd.ready();
    const response = await get(`${url}${path}`);
    expect(response.status).toBe(200);
    check(response.body);
    expect((await hostd.stop()).code).toBe(0);
  });
});

describe('request hooks around each framework', () => {
  // Express swaps the response's prototype, Fastify and Koa wrap the response, Hono answers
  // through its Node adapter: pre_request and post_request must run around each alike.
  it.each(['node-http', 'express', 'fastify', 'koa', 'hono'])('%s: pre_request and post_request run for each request', async (name) => {
    const dir = project({
      'record.ts': RECORD_MODULE,
      'hostd.config.ts': `import { defineConfig } from 'hostd';
import { recorded } from './record.ts';
export default defineConfig({ app: ${JSON.stringify(join(REPO, 'examples', name, 'src/app.ts'))}, bind: '127.0.0.1:0', workers: 1, pre_request: recorded.pre_request, post_request: recorded.post_request });
`,
    });
    const hostd = startHostd(dir);
    const url = await hostd.ready();
    for (const path of ['/', '/?again']) expect((await get(`${url}${path}`)).status).toBe(200);
    const lines = await waitForRecord(hooksLog(dir), /^post_request 1 \/\?again /);
    expect(lines).toEqual(['pre_request 1 /', 'post_request 1 / 200 aborted=false error=null', 'pre_request 1 /?again', 'post_request 1 /?again 200 aborted=false error=null']);
  });
});

