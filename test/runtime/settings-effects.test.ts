/**
 * Settings whose effect no other test shows, each through the real CLI: `certfile` and
 * `keyfile` (HTTPS), `reload_extra_files`, `max_requests` (the count) and
 * `max_requests_jitter`.
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { get as httpGet, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import { hostd } from '../helpers/cli.ts';
import { workerPids } from '../helpers/proc.ts';
import { project, REPO } from '../helpers/project.ts';
import { type Hostd, startHostd, waitUntil } from '../helpers/run.ts';

const TLS = join(REPO, 'test', 'fixtures', 'tls');

function body(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => (text += chunk));
    res.on('end', () => resolve(text));
    res.on('error', reject);
  });
}

/** A GET on a connection of its own (so that every request is dispatched anew). */
function fresh(url: string): Promise<string> {
  return new Promise((resolve, reject) => httpGet(url, { agent: false }, (res) => body(res).then(resolve, reject)).on('error', reject));
}

/** A worker that answers its pid and how many requests it answered so far. */
const COUNTING_APP = `let n = 0;
export default (req, res) => res.end(process.pid + ' ' + ++n);
`;

describe('settings, by their effect', () => {
  let run: Hostd | undefined;
  afterEach(async () => {
    await run?.stop();
    run = undefined;
  });

  it('certfile and keyfile: every bind serves HTTPS with that certificate, and plain HTTP gets no answer', async () => {
    const dir = project({ 'app.mjs': "export default (req, res) => res.end('secure ' + req.socket.encrypted);\n", 'hostd.config.ts': "export default { app: './app.mjs', bind: '127.0.0.1:0', workers: 1, certfile: './tls/cert.pem', keyfile: './tls/key.pem' };\n" });
    mkdirSync(join(dir, 'tls'));
    for (const file of ['cert.pem', 'key.pem']) copyFileSync(join(TLS, file), join(dir, 'tls', file));
    run = startHostd(dir);
    await run.ready();
    const url = await run.url();
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const ca = readFileSync(join(TLS, 'cert.pem'));
    const answer = await new Promise<{ text: string; subject: unknown }>((resolve, reject) => {
      const req = httpsRequest(url, { ca, agent: false }, (res) => {
        const subject = (res.socket as import('node:tls').TLSSocket).getPeerCertificate().subject.CN;
        body(res).then((text) => resolve({ text, subject }), reject);
      });
      req.on('error', reject);
      req.end();
    });
    expect(answer).toEqual({ text: 'secure true', subject: 'localhost' });
    // The same port, without TLS: the handshake fails, nothing is served in the clear.
    const plain = await fresh(url.replace('https:', 'http:')).then((text) => `answered: ${text}`, (error: Error) => `failed: ${error.message}`);
    expect(plain).toMatch(/^failed: /);
  });

  it('reload_extra_files: a change to a listed file outside the watched folders reloads', async () => {
    const dir = project({
      'src/app.mjs': "import { readFileSync } from 'node:fs';\nconst data = readFileSync(new URL('../data/greeting.txt', import.meta.url), 'utf8');\nexport default (req, res) => res.end(data);\n",
      'data/greeting.txt': 'one',
      'hostd.config.ts': "export default { app: './src/app.mjs', bind: '127.0.0.1:0', workers: 1, reload: true, reload_extra_files: ['./data/greeting.txt'] };\n",
    });
    run = startHostd(dir);
    const url = await run.ready();
    expect(await fresh(url)).toBe('one');
    await run.waitForOutput(/reload: watching .*greeting\.txt/);
    writeFileSync(join(dir, 'data', 'greeting.txt'), 'two');
    await run.waitForOutput(/reloaded: generation 2 is serving/, 15_000);
    expect(await fresh(url)).toBe('two');
  });

  it('max_requests: a worker asks for its replacement at exactly that many requests', async () => {
    const dir = project({ 'app.mjs': COUNTING_APP, 'hostd.config.ts': "export default { app: './app.mjs', bind: '127.0.0.1:0', workers: 1, max_requests: 5 };\n" });
    run = startHostd(dir);
    const url = await run.ready();
    const first = (await fresh(url)).split(' ')[0]!;
    // Requests until a new process answers; the old one asked for its replacement at its 5th.
    const answers = [`${first} 1`];
    await waitUntil(async () => {
      answers.push(await fresh(url));
      return !answers.at(-1)!.startsWith(`${first} `);
    }, 'a new worker to answer', 20_000);
    const line = await run.waitForOutput(new RegExp(`\\[${first}\\] \\[INFO\\] worker 1: served max_requests \\((\\d+)\\)`));
    expect(Number(line[1])).toBe(5);
    // It served its five (and more while its replacement booted), then the replacement answers its first.
    expect(answers.filter((a) => a.startsWith(`${first} `)).length).toBeGreaterThanOrEqual(5);
    expect(answers.at(-1)).toMatch(/^\d+ 1$/);
  });

  it('max_requests_jitter: each worker recycles after max_requests plus its own 0..N', async () => {
    const dir = project({ 'app.mjs': COUNTING_APP, 'hostd.config.ts': "export default { app: './app.mjs', bind: '127.0.0.1:0', workers: 3, max_requests: 3, max_requests_jitter: 100 };\n" });
    run = startHostd(dir);
    const url = await run.ready();
    const limits = () => [...run!.output.matchAll(/served max_requests \((\d+)\)/g)].map((m) => Number(m[1]));
    await waitUntil(async () => {
      await Promise.all(Array.from({ length: 6 }, () => fresh(url)));
      return limits().length >= 3;
    }, 'three workers to reach their limit', 30_000);
    const seen = limits();
    for (const limit of seen) expect(limit).toBeGreaterThanOrEqual(3), expect(limit).toBeLessThanOrEqual(103);
    // Without jitter every limit would be 3; the chance that three workers all drew 0 is one in a million.
    expect(seen.some((limit) => limit !== 3), seen.join(', ')).toBe(true);
  });

  it("accesslog '-' writes to stdout, the error log to stderr, and neither to the other", async () => {
    const dir = project({ 'app.mjs': "export default (req, res) => res.end('ok');\n", 'hostd.config.ts': "export default { app: './app.mjs', bind: '127.0.0.1:0', workers: 1, accesslog: '-' };\n" });
    run = startHostd(dir);
    const url = await run.ready();
    await fresh(`${url}/seen`);
    await waitUntil(() => run!.stdout.includes('"GET /seen HTTP/1.1" 200'), 'the access line on stdout');
    expect(run.stderr).toMatch(/\[INFO\] Booting worker 1/);
    expect(run.stderr).not.toContain('GET /seen');
    expect(run.stdout).not.toMatch(/\[(INFO|WARNING|ERROR)\]/);
  });

  it('errorlog to a file: the log lines go there, not to stderr', async () => {
    const dir = project({ 'app.mjs': "export default (req, res) => res.end('ok');\n", 'hostd.config.ts': "export default { app: './app.mjs', bind: '127.0.0.1:0', workers: 1, errorlog: './error.log' };\n" });
    run = startHostd(dir);
    await waitUntil(() => /hostd is ready/.test(readFileIfThere(join(dir, 'error.log'))), 'the ready line in error.log');
    expect(readFileIfThere(join(dir, 'error.log'))).toMatch(/\[INFO\] Booting worker 1/);
    expect(run.stderr).not.toMatch(/Booting worker/);
  });

  it('loglevel: error silences a whole start and stop; debug adds debug lines', async () => {
    const quiet = project({ 'app.mjs': "export default (req, res) => res.end('ok');\n", 'hostd.config.ts': "export default { app: './app.mjs', bind: 'unix:./s.sock', workers: 1, loglevel: 'error' };\n" });
    run = startHostd(quiet);
    // Nothing says it is ready: it is when its socket answers.
    await waitUntil(() => answersOn(join(quiet, 's.sock')), 'the unix socket to answer');
    expect((await run.stop()).code).toBe(0);
    expect(run.output).toBe('');

    const verbose = project({ 'app.mjs': "export default (req, res) => res.end('ok');\n", 'hostd.config.ts': "export default { app: './app.mjs', bind: '127.0.0.1:0', workers: 1, loglevel: 'debug' };\n" });
    run = startHostd(verbose);
    await run.ready();
    await run.waitForOutput(/\[DEBUG\] /);
  });
});

describe('keepalive and workers: "auto", by their effect', () => {
  let run: Hostd | undefined;
  afterEach(async () => {
    await run?.stop();
    run = undefined;
  });

  /** Sends one request on a raw connection and leaves it open; resolves with the response head once the server closed it. */
  function idleAfterOne(port: number): Promise<{ head: string }> {
    return new Promise((resolve) => {
      let text = '';
      const socket = connect(port, '127.0.0.1', () => socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
      socket.setEncoding('latin1');
      socket.on('data', (chunk: string) => (text += chunk));
      socket.on('error', () => {});
      // The client never closes: 'close' is the server letting the idle connection go.
      socket.on('close', () => resolve({ head: text.split('\r\n\r\n')[0]! }));
    });
  }

  it('keepalive: an idle connection is closed after it; 0 closes each connection after its response', async () => {
    const dir = project({ 'app.mjs': "export default (req, res) => res.end('ok');\n", 'hostd.config.ts': "export default { app: './app.mjs', bind: '127.0.0.1:0', workers: 1, keepalive: 1 };\n" });
    run = startHostd(dir);
    const port = Number(new URL(await run.ready()).port);
    const kept = await idleAfterOne(port);
    expect(kept.head).toMatch(/^HTTP\/1\.1 200/);
    expect(kept.head.toLowerCase()).toContain('keep-alive: timeout=1');
    expect(kept.head.toLowerCase()).not.toContain('connection: close');
    await run.stop();

    const none = project({ 'app.mjs': "export default (req, res) => res.end('ok');\n", 'hostd.config.ts': "export default { app: './app.mjs', bind: '127.0.0.1:0', workers: 1, keepalive: 0 };\n" });
    run = startHostd(none);
    const closed = await idleAfterOne(Number(new URL(await run.ready()).port));
    expect(closed.head.toLowerCase()).toContain('connection: close');
  });

  it('workers: "auto" starts as many workers as print-config says it resolves to', async () => {
    const dir = project({ 'app.mjs': "export default (req, res) => res.end('ok');\n", 'hostd.config.ts': "export default { app: './app.mjs', bind: '127.0.0.1:0', workers: 'auto' };\n" });
    const report = JSON.parse((await hostd(['print-config', '--json'], { cwd: dir })).stdout) as { auto: { workers: { value: number; why: string } } };
    const expected = report.auto.workers.value;
    expect(expected).toBeGreaterThanOrEqual(1);
    run = startHostd(dir);
    await run.ready();
    expect(workerPids(run.pid)).toHaveLength(expected);
    expect(run.output).toContain(`hostd is ready: ${expected} worker`);
  });
});

function readFileIfThere(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** Whether an HTTP server answers on the unix socket at `path`. */
function answersOn(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    httpGet({ socketPath: path, path: '/', agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    }).on('error', () => resolve(false));
  });
}
