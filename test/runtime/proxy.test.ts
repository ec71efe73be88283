/**
 * Behind a proxy or load balancer (issue 25): who the client is, through the real CLI. The
 * app answers what it sees (`req.socket`, `host.client(req)`), the request hooks record
 * `ctx.client`, the access log writes `%(h)s`. Forwarding headers from trusted peers (chains,
 * CIDR ranges, IPv6), untrusted and malformed ones; PROXY protocol v1 and v2 over raw
 * sockets (split into single bytes, missing, malformed, LOCAL, before TLS).
 */
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { native } from '../../src/runtime/native.ts';
import { proxyV1, proxyV2 } from '../../src/runtime/proxy/proxy-protocol.ts';
import { project, REPO } from '../helpers/project.ts';
import { type Hostd, records, startHostd, waitForRecord, waitUntil } from '../helpers/run.ts';

/** Answers what it sees of the client: the socket's address and port, and host.client(req). */
const APP = `import { host } from 'hostd';
export default (req, res) => res.end(JSON.stringify({ socket: [req.socket.remoteAddress, req.socket.remotePort], client: host.client(req), encrypted: req.socket.encrypted === true, pid: process.pid }));
`;

/** A config recording ctx.client in pre_request and post_request, with an access log of %(h)s. */
function config(settings: string): string {
  return `import { appendFileSync } from 'node:fs';
import { defineConfig } from 'hostd';
const rec = (line) => appendFileSync(new URL('./hooks.log', import.meta.url), line + '\\n');
export default defineConfig({
  app: './app.mjs',
  workers: 1,
  accesslog: './access.log',
  access_log_format: '%(h)s %(r)s %(s)s',
  pre_request: ({ client }) => rec('pre ' + JSON.stringify(client)),
  post_request: ({ client, status }) => rec('post ' + status + ' ' + JSON.stringify(client)),
  ${settings}
});
`;
}

interface Seen {
  readonly socket: [string, number];
  readonly client: { address: string | null; port: number | null; proto: string; verified: boolean | null };
  readonly encrypted: boolean;
  readonly pid: number;
}

/** One request over a raw connection to `port`: `before` (a PROXY header) first, written `pieces` at a time. Resolves with the response, or what ended the connection. */
function rawRequest(port: number, before: Buffer, options: { host?: string; pieces?: number; headers?: string } = {}): Promise<string> {
  return new Promise((resolve) => {
    const socket: Socket = connect(port, options.host ?? '127.0.0.1');
    socket.setNoDelay(true);
    let text = '';
    socket.on('data', (chunk) => (text += chunk));
    socket.on('close', () => resolve(text));
    socket.on('error', () => resolve(`${text}[error]`));
    socket.on('connect', async () => {
      const bytes = Buffer.concat([before, Buffer.from(`GET /seen HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${options.headers ?? ''}\r\n`)]);
      const pieces = options.pieces ?? 1;
      if (pieces === 1) return void socket.write(bytes);
      // Each byte of the header its own TCP segment (no Nagle), a turn of the event loop apart.
      for (let i = 0; i < before.length; i++) {
        socket.write(bytes.subarray(i, i + 1));
        await new Promise((next) => setImmediate(next));
      }
      socket.write(bytes.subarray(before.length));
    });
  });
}

/** Requests one after another on one keep-alive connection to `port`, each with its own headers, after `before` (a PROXY header). Resolves with what the app saw of each. */
function keptRequests(port: number, before: Buffer, each: readonly string[]): Promise<Seen[]> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(port, '127.0.0.1');
    const seen: Seen[] = [];
    let text = '';
    const send = () => socket.write(`GET /seen HTTP/1.1\r\nHost: x\r\n${each[seen.length]!}\r\n`);
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`connection closed after ${seen.length} of ${each.length} answers: ${text}`)));
    socket.on('connect', () => {
      socket.write(before);
      send();
    });
    socket.on('data', (chunk) => {
      text += chunk;
      const end = text.indexOf('\r\n\r\n');
      const length = /content-length: (\d+)/i.exec(text.slice(0, end));
      if (end < 0 || length === null || text.length < end + 4 + Number(length[1])) return;
      seen.push(JSON.parse(text.slice(end + 4, end + 4 + Number(length[1]))) as Seen);
      text = text.slice(end + 4 + Number(length[1]));
      if (seen.length < each.length) return void send();
      socket.removeAllListeners('close');
      socket.destroy();
      resolve(seen);
    });
  });
}

const body = (response: string): Seen => JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4)) as Seen;

describe('behind a proxy', () => {
  let run: Hostd | undefined;
  afterEach(async () => {
    await run?.stop();
    run = undefined;
  });

  const start = async (settings: string, files: Record<string, string> = {}) => {
    const dir = project({ 'app.mjs': APP, 'hostd.config.ts': config(settings), ...files });
    run = startHostd(dir);
    const url = await run.ready();
    return { dir, url, port: Number(new URL(url).port) };
  };

  it('forwarded_allow_ips: a chain of forwarding headers is read right to left from a trusted peer, skipping trusted hops', async () => {
    const { dir, port } = await start("bind: '127.0.0.1:0', forwarded_allow_ips: ['127.0.0.1', '10.0.0.0/8'],");
    const seen = body(await rawRequest(port, Buffer.alloc(0), { headers: 'X-Forwarded-For: 1.1.1.1, 198.51.100.7, 10.1.2.3, 10.9.9.9\r\nX-Forwarded-Proto: https, https, http, http\r\n' }));
    expect(seen.client).toEqual({ address: '198.51.100.7', port: null, proto: 'https', verified: null });
    // The socket is still the peer's: headers change only what hostd reports.
    expect(seen.socket[0]).toBe('127.0.0.1');
    const rfc = body(await rawRequest(port, Buffer.alloc(0), { headers: 'Forwarded: for=192.0.2.60;proto=https, for="[2001:db8:cafe::17]:4711"\r\n' }));
    expect(rfc.client).toEqual({ address: '2001:db8:cafe::17', port: 4711, proto: 'http', verified: null });
    const lines = await waitForRecord(join(dir, 'hooks.log'), /^post 200 .*2001:db8:cafe::17/);
    expect(lines).toContain('pre {"address":"198.51.100.7","port":null,"proto":"https","verified":null}');
    expect(lines).toContain('post 200 {"address":"198.51.100.7","port":null,"proto":"https","verified":null}');
    const access = await waitUntil(() => {
      const text = records(join(dir, 'access.log'));
      return text.length >= 2 ? text : null;
    }, 'two access log lines');
    expect(access).toEqual(['198.51.100.7 GET /seen HTTP/1.1 200', '2001:db8:cafe::17 GET /seen HTTP/1.1 200']);
  });

  it('believes no header from a peer it does not trust, ignores a malformed one (never a 500), and reads IPv6 peers', async () => {
    const untrusted = await start("bind: '127.0.0.1:0', forwarded_allow_ips: ['10.0.0.0/8'],");
    const spoofed = body(await rawRequest(untrusted.port, Buffer.alloc(0), { headers: 'X-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Proto: https\r\nForwarded: for=6.6.6.6\r\n' }));
    expect(spoofed.client).toEqual({ address: '127.0.0.1', port: spoofed.socket[1], proto: 'http', verified: null });
    await run!.stop();
    const six = await start("bind: '[::1]:0',");
    const forwarded = body(await rawRequest(six.port, Buffer.alloc(0), { host: '::1', headers: 'X-Forwarded-For: 2001:db8::5\r\n' }));
    expect(forwarded.client).toEqual({ address: '2001:db8::5', port: null, proto: 'http', verified: null });
    for (const bad of ['X-Forwarded-For: not-an-address', 'Forwarded: for="unterminated', 'X-Forwarded-For: [::1']) {
      const response = await rawRequest(six.port, Buffer.alloc(0), { host: '::1', headers: `${bad}\r\n` });
      expect(response, bad).toMatch(/^HTTP\/1\.1 200 /);
      expect(body(response).client.address).toBe('::1');
    }
    // A chain of 700 hops (as long as limit_request_field_size lets a header be): read from its end, in bounded work.
    const long = await rawRequest(six.port, Buffer.alloc(0), { host: '::1', headers: `X-Forwarded-For: ${'1.2.3.4, '.repeat(700)}5.6.7.8\r\n` });
    expect(body(long).client.address).toBe('5.6.7.8');
  });

  it('on a keep-alive connection, each request is judged by its own forwarding headers, and an untrusted peer stays the client of every one', async () => {
    const trusted = await start("bind: '127.0.0.1:0',");
    const kept = await keptRequests(trusted.port, Buffer.alloc(0), ['X-Forwarded-For: 198.51.100.1\r\n', '', 'X-Forwarded-For: 198.51.100.2\r\nX-Forwarded-Proto: https\r\n', 'X-Forwarded-Proto: https\r\n']);
    // One connection all along: the same peer port on every answer.
    expect(new Set(kept.map((s) => s.socket[1])).size).toBe(1);
    const peerPort = kept[0]!.socket[1];
    expect(kept.map((s) => s.client)).toEqual([
      { address: '198.51.100.1', port: null, proto: 'http', verified: null },
      { address: '127.0.0.1', port: peerPort, proto: 'http', verified: null },
      { address: '198.51.100.2', port: null, proto: 'https', verified: null },
      { address: '127.0.0.1', port: peerPort, proto: 'https', verified: null },
    ]);
    await run!.stop();
    const untrusted = await start("bind: '127.0.0.1:0', forwarded_allow_ips: ['10.0.0.0/8'],");
    const spoofed = await keptRequests(untrusted.port, Buffer.alloc(0), ['', 'X-Forwarded-For: 6.6.6.6\r\n', 'Forwarded: for=6.6.6.6;proto=https\r\n']);
    expect(spoofed.map((s) => s.client)).toEqual(Array(3).fill({ address: '127.0.0.1', port: spoofed[0]!.socket[1], proto: 'http', verified: null }));
    await run!.stop();
    // Under proxy_protocol, the client the header named is every request's peer, and the proxy's forwarding headers are not its.
    const proxied = await start("bind: '127.0.0.1:0', proxy_protocol: true, forwarded_allow_ips: ['127.0.0.1', '192.0.2.0/24'],");
    const header = proxyV1({ address: '192.0.2.9', port: 4321 }, { address: '127.0.0.1', port: proxied.port });
    const behind = await keptRequests(proxied.port, header, ['', 'X-Forwarded-For: 203.0.113.5\r\n']);
    expect(behind.map((s) => s.client)).toEqual([
      { address: '192.0.2.9', port: 4321, proto: 'http', verified: null },
      { address: '203.0.113.5', port: null, proto: 'http', verified: null },
    ]);
    const untrustedClient = proxyV1({ address: '198.51.100.9', port: 4321 }, { address: '127.0.0.1', port: proxied.port });
    const direct = await keptRequests(proxied.port, untrustedClient, ['X-Forwarded-For: 6.6.6.6\r\n', '']);
    expect(direct.map((s) => s.client)).toEqual(Array(2).fill({ address: '198.51.100.9', port: 4321, proto: 'http', verified: null }));
  });

  it('proxy_protocol: v1 and v2 headers, even split into single bytes, give the app, the hooks and the log the client', async () => {
    const { dir, port } = await start("bind: '127.0.0.1:0', proxy_protocol: true,");
    const to = { address: '127.0.0.1', port };
    const v1 = body(await rawRequest(port, proxyV1({ address: '203.0.113.9', port: 40001 }, to)));
    expect(v1.socket).toEqual(['203.0.113.9', 40001]);
    expect(v1.client).toEqual({ address: '203.0.113.9', port: 40001, proto: 'http', verified: null });
    const v2 = body(await rawRequest(port, proxyV2({ address: '2001:db8::77', port: 40002 }, { address: '::1', port }), { pieces: 2 }));
    expect(v2.socket).toEqual(['2001:db8::77', 40002]);
    const split = body(await rawRequest(port, proxyV1({ address: '198.51.100.3', port: 40003 }, to), { pieces: 2 }));
    expect(split.socket).toEqual(['198.51.100.3', 40003]);
    // A balancer's health check: v2 LOCAL keeps the peer's own address.
    const local = body(await rawRequest(port, proxyV2(null, null)));
    expect(local.socket[0]).toBe('127.0.0.1');
    // The SSL TLV: the balancer terminated TLS for this client.
    const tls = body(await rawRequest(port, proxyV2({ address: '203.0.113.10', port: 40004 }, to, Buffer.from([0x20, 0x00, 0x05, 0x01, 0, 0, 0, 0]))));
    expect(tls.client).toEqual({ address: '203.0.113.10', port: 40004, proto: 'https', verified: null });
    await waitForRecord(join(dir, 'hooks.log'), /^post 200 .*203\.0\.113\.10/);
    expect(records(join(dir, 'access.log'))[0]).toBe('203.0.113.9 GET /seen HTTP/1.1 200');
  });

  it('proxy_protocol: a connection without a header, or with a malformed one, is closed and counted; the next is served', async () => {
    const { port } = await start("bind: '127.0.0.1:0', proxy_protocol: true, metrics_bind: '127.0.0.1:0',");
    const metrics = /Metrics at: (\S+)/.exec(run!.output)![1]!;
    expect(await rawRequest(port, Buffer.alloc(0))).toBe('');
    expect(await rawRequest(port, Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 99999 80\r\n'))).toBe('');
    expect(await rawRequest(port, Buffer.from('PROXY TCP4 1.2.3.4'))).toBe('');
    const ok = body(await rawRequest(port, proxyV1({ address: '203.0.113.9', port: 1 }, { address: '127.0.0.1', port })));
    expect(ok.socket[0]).toBe('203.0.113.9');
    await waitUntil(async () => /^hostd_proxy_protocol_errors_total 3$/m.test(await (await fetch(metrics)).text()), 'hostd_proxy_protocol_errors_total 3', 10_000);
    expect(run!.output).not.toMatch(/WORKER|exited with/);
  });

  it('proxy_protocol: the header must come within headers_timeout; peers not in forwarded_allow_ips send none', async () => {
    const timed = await start("bind: '127.0.0.1:0', proxy_protocol: true, headers_timeout: 1, keepalive: 0.5,");
    const started = Date.now();
    const socket = connect(timed.port, '127.0.0.1');
    socket.write('PROXY TCP4 1.2.3.4 ');
    await new Promise((resolve) => socket.once('close', resolve));
    expect(Date.now() - started).toBeLessThan(5000);
    await run!.stop();
    // 127.0.0.1 is not listed: its connections are HTTP from the first byte.
    const other = await start("bind: '127.0.0.1:0', proxy_protocol: true, forwarded_allow_ips: ['10.0.0.0/8'],");
    expect(body(await rawRequest(other.port, Buffer.alloc(0))).socket[0]).toBe('127.0.0.1');
    expect(await rawRequest(other.port, proxyV1({ address: '203.0.113.9', port: 1 }, { address: '127.0.0.1', port: other.port }))).toMatch(/^HTTP\/1\.1 400 /);
  });

  const TLS = join(REPO, 'test', 'fixtures', 'tls');
  const ca = readFileSync(join(TLS, 'cert.pem'));
  /** hostd with proxy_protocol on an HTTPS bind (the fixtures' certificate), and `settings`. */
  const startHttps = (settings: string) =>
    start(`bind: '127.0.0.1:0', proxy_protocol: true, certfile: './tls/cert.pem', keyfile: './tls/key.pem', ${settings}`, {
      'tls/cert.pem': ca.toString(),
      'tls/key.pem': readFileSync(join(TLS, 'key.pem'), 'utf8'),
    });

  it('proxy_protocol on an HTTPS bind: the header comes before the TLS handshake, and the app reads the client on its TLS socket', async () => {
    const { port } = await startHttps('');
    for (const pieces of [1, 2]) {
      const answer = await new Promise<string>((resolve, reject) => {
        const raw = connect(port, '127.0.0.1', async () => {
          raw.setNoDelay(true);
          const header = proxyV1({ address: '198.51.100.44', port: 4444 }, { address: '127.0.0.1', port });
          if (pieces === 1) raw.write(header);
          else for (const byte of header) raw.write(Buffer.from([byte]));
          const secure = tlsConnect({ socket: raw, ca, servername: 'localhost' }, () => secure.write('GET /seen HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
          let text = '';
          secure.on('data', (chunk) => (text += chunk));
          secure.on('close', () => resolve(text));
          secure.on('error', reject);
        });
      });
      const seen = body(answer);
      expect(seen).toMatchObject({ socket: ['198.51.100.44', 4444], client: { address: '198.51.100.44', port: 4444, proto: 'https' }, encrypted: true });
    }
  });

  it('proxy_protocol on an HTTPS bind: a peer not in forwarded_allow_ips sends no header, and its TLS handshake, read first by the worker, still reaches the server whole', async () => {
    const { port } = await startHttps("forwarded_allow_ips: ['10.0.0.0/8'],");
    const answer = await new Promise<string>((resolve, reject) => {
      const secure = tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => secure.write('GET /seen HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
      let text = '';
      secure.on('data', (chunk) => (text += chunk));
      secure.on('close', () => resolve(text));
      secure.on('error', reject);
    });
    expect(body(answer)).toMatchObject({ socket: ['127.0.0.1', expect.any(Number)], client: { address: '127.0.0.1', proto: 'https' }, encrypted: true });
  });
});

describe('sticky sessions behind PROXY protocol', () => {
  it.skipIf(native() === null)("go by the client each connection's PROXY header names: one client stays on one worker, clients spread over both", async () => {
    const dir = project({ 'app.mjs': APP, 'hostd.config.ts': config("bind: '127.0.0.1:0', workers: 2, sticky_sessions: true, proxy_protocol: true,") });
    const run = startHostd(dir);
    const port = Number(new URL(await run.ready()).port);
    try {
      const workerOf = new Map<string, Set<number>>();
      for (let round = 0; round < 3; round++) {
        for (let i = 1; i <= 12; i++) {
          const client = `198.51.100.${i}`;
          // Half the headers arrive a byte at a time: the primary waits for the whole header before it picks.
          const seen = body(await rawRequest(port, proxyV1({ address: client, port: 50000 + i }, { address: '127.0.0.1', port }), { pieces: i % 2 === 0 ? 2 : 1 }));
          expect(seen.socket[0]).toBe(client);
          workerOf.set(client, (workerOf.get(client) ?? new Set()).add(seen.pid));
        }
      }
      for (const [client, pids] of workerOf) expect(pids.size, client).toBe(1);
      expect(new Set([...workerOf.values()].map((pids) => [...pids][0])).size).toBe(2);
    } finally {
      await run.stop();
    }
  });
});

describe('host.client in a fetch app', () => {
  it('takes the Request the app received', async () => {
    const dir = project({
      'app.mjs': "import { host } from 'hostd';\nexport default { fetch: (request) => Response.json(host.client(request)) };\n",
      'hostd.config.ts': "export default { app: './app.mjs', bind: '127.0.0.1:0', workers: 1 };\n",
    });
    const run = startHostd(dir);
    const url = await run.ready();
    try {
      const client = (await (await fetch(url, { headers: { 'x-forwarded-for': '198.51.100.8' } })).json()) as Seen['client'];
      expect(client).toEqual({ address: '198.51.100.8', port: null, proto: 'http', verified: null });
    } finally {
      await run.stop();
    }
  });
});
