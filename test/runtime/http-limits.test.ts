import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { checkInterval } from '../../src/runtime/worker/limits.ts';
import { hostd } from '../helpers/cli.ts';
import { project } from '../helpers/project.ts';
import { type Hostd, records, startHostd, waitForRecord, waitUntil } from '../helpers/run.ts';

/**
 * An app that records what it sees in app.log: each request, and each request whose body
 * never completed (the client went away, or hostd cut it). `/upload` answers once the body
 * is in; `/stream-upload` starts its response first; `/big` sends more than the socket
 * buffers of both ends hold.
 */
const LIMITS_APP = `import { appendFileSync } from 'node:fs';
const rec = (line) => appendFileSync(new URL('./app.log', import.meta.url), line + '\\n');
export default (req, res) => {
  rec('app ' + req.method + ' ' + req.url.slice(0, 32));
  if (req.url === '/big') return void res.end(Buffer.alloc(32 * 1024 * 1024, 97));
  if (req.url === '/upload' || req.url === '/stream-upload') {
    if (req.url === '/stream-upload') res.writeHead(200).write('started\\n');
    let bytes = 0;
    req.on('data', (chunk) => (bytes += chunk.length));
    req.on('close', () => { if (!req.complete) rec('aborted ' + req.url + ' after ' + bytes); });
    req.on('end', () => res.end('got ' + bytes + '\\n'));
    return;
  }
  res.end('hello\\n');
};
`;

/** Serves LIMITS_APP with these settings (source text of object entries); resolves with its URL, record file and process. */
async function serve(settings: string): Promise<{ url: string; log: string; hostd: Hostd }> {
  const dir = project({
    'app.mjs': LIMITS_APP,
    'hostd.config.ts': `import { defineConfig } from 'hostd';\nexport default defineConfig({ app: './app.mjs', bind: '127.0.0.1:0', workers: 1, ${settings} });\n`,
  });
  const hostd = startHostd(dir);
  return { url: await hostd.ready(), log: `${dir}/app.log`, hostd };
}

const open = new Set<Socket>();
afterEach(() => {
  for (const socket of open) socket.destroy();
  open.clear();
});

/** A raw TCP client: writes exactly what a test gives, keeps what comes back, knows when the server closed. */
class Client {
  readonly socket: Socket;
  received = Buffer.alloc(0);
  closed = false;

  constructor(url: string, options: { reading?: boolean } = {}) {
    const { hostname, port } = new URL(url);
    this.socket = connect(Number(port), hostname);
    open.add(this.socket);
    this.socket.on('error', () => {});
    this.socket.on('close', () => (this.closed = true));
    if (options.reading === false) this.socket.pause();
    else this.read();
  }

  send(text: string): this {
    this.socket.write(text);
    return this;
  }

  /** Starts (or resumes) reading what the server sends. */
  read(): void {
    this.socket.on('data', (chunk: Buffer) => (this.received = Buffer.concat([this.received, chunk])));
    this.socket.resume();
  }

  get text(): string {
    return this.received.toString('latin1');
  }

  /** Waits until the server closed the connection; resolves with everything it sent. */
  async untilClosed(timeoutMs = 10_000): Promise<string> {
    await waitUntil(() => this.closed, () => `the server to close the connection (received: ${JSON.stringify(this.text.slice(0, 200))})`, timeoutMs);
    return this.text;
  }
}

/** The status line of an HTTP response text. */
function statusLine(text: string): string {
  return text.slice(0, text.indexOf('\r\n'));
}

/** A chunked body's chunks, of `size` bytes each; `end` adds the last (empty) chunk. */
function chunks(count: number, size: number, end: boolean): string {
  return `${size.toString(16)}\r\n${'x'.repeat(size)}\r\n`.repeat(count) + (end ? '0\r\n\r\n' : '');
}

const REQUESTS = {
  longLine: `GET /${'a'.repeat(9000)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
  manyFields: `GET /fields HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 100 }, (_, i) => `X-${i}: v\r\n`).join('')}Connection: close\r\n\r\n`,
  longField: `GET /field HTTP/1.1\r\nHost: x\r\nX-Big: ${'v'.repeat(9000)}\r\nConnection: close\r\n\r\n`,
  bigBody: `POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\nConnection: close\r\n\r\n`,
  chunkedHead: 'POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n',
};

describe('checkInterval', () => {
  it('checks every quarter of the shortest limit that is on, between 50 ms and 30 s', () => {
    expect(checkInterval(1000, 300_000)).toBe(250);
    expect(checkInterval(0, 60_000)).toBe(15_000);
    expect(checkInterval(300_000)).toBe(30_000);
    expect(checkInterval(1)).toBe(50);
    expect(checkInterval(0, 0)).toBeNull();
  });
});

describe('headers_timeout and request_timeout', () => {
  it('answers 408 to a request head that never completes, and closes the connection', async () => {
    const { url } = await serve('headers_timeout: 1, keepalive: 0.5');
    const client = new Client(url).send('GET / HTTP/1.1\r\n');
    expect(statusLine(await client.untilClosed())).toBe('HTTP/1.1 408 Request Timeout');
  });

  it('answers 408 to a body that does not arrive within request_timeout; the app sees the request aborted', async () => {
    const { url, log } = await serve('headers_timeout: 1, request_timeout: 1, keepalive: 0.5');
    const client = new Client(url).send('POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc');
    expect(statusLine(await client.untilClosed())).toBe('HTTP/1.1 408 Request Timeout');
    await waitForRecord(log, /^aborted \/upload after 3$/);
  });

  it('closes a connection that sends nothing', async () => {
    const { url } = await serve('headers_timeout: 1, keepalive: 0.5');
    const client = new Client(url);
    expect(statusLine(await client.untilClosed())).toBe('HTTP/1.1 408 Request Timeout');
  });

  it('leaves a keep-alive connection idle between requests to keepalive', async () => {
    const { url } = await serve('headers_timeout: 2, keepalive: 1');
    const client = new Client(url).send('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const text = await client.untilClosed();
    expect(statusLine(text)).toBe('HTTP/1.1 200 OK');
    expect(text).not.toContain('408');
  });
});

describe('send_timeout', () => {
  it('closes the connection of a client that reads none of a large response', async () => {
    const { url, hostd } = await serve('send_timeout: 1');
    const client = new Client(url, { reading: false }).send('GET /big HTTP/1.1\r\nHost: x\r\n\r\n');
    await hostd.waitForOutput(/\[INFO\] worker 1: closed 1 connection\(s\) whose client took none of the response for send_timeout \(1 s\)/);
    client.read();
    await client.untilClosed();
    expect(client.received.length).toBeLessThan(32 * 1024 * 1024);
  });
});

describe('request limits', () => {
  it('answers 414 to a request line over limit_request_line, before the app sees it, and logs it at debug', async () => {
    const { url, log, hostd } = await serve("loglevel: 'debug'");
    const text = await new Client(url).send(REQUESTS.longLine).untilClosed();
    expect(statusLine(text)).toBe('HTTP/1.1 414 URI Too Long');
    expect(text).toMatch(/\r\nconnection: close\r\n[\s\S]*\r\n\r\nURI Too Long\n$/i);
    expect(records(log)).toEqual([]);
    await hostd.waitForOutput(/\[DEBUG\] request from 127\.0\.0\.1 answered 414: its request line is 9014 bytes, over limit_request_line \(8190\)/);
  });

  it('answers 431 to more header fields than limit_request_fields', async () => {
    const { url, log } = await serve('');
    const text = await new Client(url).send(REQUESTS.manyFields).untilClosed();
    expect(statusLine(text)).toBe('HTTP/1.1 431 Request Header Fields Too Large');
    expect(records(log)).toEqual([]);
  });

  it('answers 431 to a header field over limit_request_field_size', async () => {
    const { url, log } = await serve('');
    const text = await new Client(url).send(REQUESTS.longField).untilClosed();
    expect(statusLine(text)).toBe('HTTP/1.1 431 Request Header Fields Too Large');
    expect(records(log)).toEqual([]);
  });

  it('answers 413 to a Content-Length over limit_request_body, before the app sees the request', async () => {
    const { url, log } = await serve('limit_request_body: 1000');
    const text = await new Client(url).send(REQUESTS.bigBody).untilClosed();
    expect(statusLine(text)).toBe('HTTP/1.1 413 Payload Too Large');
    expect(records(log)).toEqual([]);
  });

  it('answers 413 instead of 100 Continue to a client that asks first', async () => {
    const { url } = await serve('limit_request_body: 1000');
    const text = await new Client(url).send('POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n').untilClosed();
    expect(statusLine(text)).toBe('HTTP/1.1 413 Payload Too Large');
    expect(text).not.toContain('100 Continue');
  });

  it('cuts a chunked body when it passes limit_request_body: 413, and the app sees the request aborted', async () => {
    const { url, log } = await serve('limit_request_body: 1000');
    const text = await new Client(url).send(REQUESTS.chunkedHead + chunks(4, 512, false)).untilClosed();
    expect(statusLine(text)).toBe('HTTP/1.1 413 Payload Too Large');
    await waitForRecord(log, /^aborted \/upload after 512$/);
  });

  it('closes the connection when a chunked body passes the limit after the response started', async () => {
    const { url, log } = await serve('limit_request_body: 1000');
    const head = REQUESTS.chunkedHead.replace('/upload', '/stream-upload');
    const text = await new Client(url).send(head + chunks(4, 512, false)).untilClosed();
    expect(statusLine(text)).toBe('HTTP/1.1 200 OK');
    expect(text).toContain('started\n');
    expect(text).not.toContain('got ');
    await waitForRecord(log, /^aborted \/stream-upload after 512$/);
  });

  it('lets the same requests through with each limit at 0', async () => {
    const { url } = await serve('limit_request_line: 0, limit_request_fields: 0, limit_request_field_size: 0, limit_request_body: 0');
    const answers = await Promise.all(
      [REQUESTS.longLine, REQUESTS.manyFields, REQUESTS.longField, REQUESTS.bigBody + 'b'.repeat(5000), REQUESTS.chunkedHead + chunks(4, 512, true)].map((request) =>
        new Client(url).send(request).untilClosed(),
      ),
    );
    expect(answers.map(statusLine)).toEqual(Array(5).fill('HTTP/1.1 200 OK'));
    expect(answers.slice(3).map((text) => text.slice(text.indexOf('\r\n\r\n') + 4))).toEqual(['got 5000\n', 'got 2048\n']);
  });
});

describe('conflicting limits', () => {
  it('is a config problem for limit_request_line or limit_request_field_size above max_header_size', async () => {
    const dir = project({ 'app.mjs': LIMITS_APP, 'hostd.config.ts': "export default { app: './app.mjs', max_header_size: 4096, limit_request_line: 8000, limit_request_field_size: 5000 };\n" });
    const result = await hostd(['check'], { cwd: dir });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('hostd.config.ts: limit_request_line: limit_request_line (8000) must not exceed max_header_size (4096)');
    expect(result.stderr).toContain('hostd.config.ts: limit_request_field_size: limit_request_field_size (5000) must not exceed max_header_size (4096)');
  });
});
