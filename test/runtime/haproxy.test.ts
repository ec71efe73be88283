/**
 * Through a real proxy (issue 25): Debian's HAProxy in front of hostd, in TCP mode sending a
 * PROXY v2 header (`send-proxy-v2`, as in front of an NLB-style setup) and in HTTP mode
 * adding X-Forwarded-For (`option forwardfor`). The client connects from 127.0.0.2, so the
 * address the app sees can only have come through the proxy. .ci/run installs haproxy when
 * it is missing; a machine without it skips these.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { project, tempDir } from '../helpers/project.ts';
import { type Hostd, startHostd, waitUntil } from '../helpers/run.ts';

function haproxyPath(): string | null {
  for (const path of ['/usr/sbin/haproxy', '/usr/bin/haproxy', '/usr/local/sbin/haproxy']) {
    try {
      execFileSync(path, ['-v'], { stdio: 'ignore' });
      return path;
    } catch {}
  }
  return null;
}
const HAPROXY = haproxyPath();

/** A port free now on 127.0.0.1. */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** GET / through `port`, from the client address 127.0.0.2; the body. */
function fromOtherAddress(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', localAddress: '127.0.0.2', agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve(text));
    });
    req.on('error', reject);
    req.end();
  });
}

const APP = `import { host } from 'hostd';
export default (req, res) => res.end(JSON.stringify({ socket: req.socket.remoteAddress, client: host.client(req).address }));
`;

describe.skipIf(HAPROXY === null)('through HAProxy', () => {
  let run: Hostd | undefined;
  let proxy: ChildProcess | undefined;
  afterEach(async () => {
    proxy?.kill('SIGKILL');
    proxy = undefined;
    await run?.stop();
    run = undefined;
  });

  /** Starts hostd with `settings`, then HAProxy in `mode` in front of it; resolves with HAProxy's port. */
  async function behindHaproxy(settings: string, mode: 'tcp' | 'http'): Promise<number> {
    const dir = project({ 'app.mjs': APP, 'hostd.config.ts': `export default { app: './app.mjs', bind: '127.0.0.1:0', workers: 1, ${settings} };\n` });
    run = startHostd(dir);
    const backend = Number(new URL(await run.ready()).port);
    const front = await freePort();
    const server = mode === 'tcp' ? `server hostd 127.0.0.1:${backend} send-proxy-v2` : `server hostd 127.0.0.1:${backend}`;
    const config = [
      'global',
      '  maxconn 64',
      'defaults',
      `  mode ${mode}`,
      '  timeout connect 2s',
      '  timeout client 10s',
      '  timeout server 10s',
      ...(mode === 'http' ? ['  option forwardfor'] : []),
      'frontend front',
      `  bind 127.0.0.1:${front}`,
      '  default_backend hostd',
      'backend hostd',
      `  ${server}`,
      '',
    ].join('\n');
    const file = join(tempDir('hostd-haproxy-'), 'haproxy.cfg');
    writeFileSync(file, config);
    proxy = spawn(HAPROXY!, ['-db', '-f', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    proxy.stdout!.on('data', (d: Buffer) => (output += d));
    proxy.stderr!.on('data', (d: Buffer) => (output += d));
    await waitUntil(
      () =>
        new Promise<boolean>((resolve) => {
          const probe = createServer();
          probe.once('error', () => resolve(true));
          probe.listen(front, '127.0.0.1', () => probe.close(() => resolve(false)));
        }),
      () => `HAProxy to listen on ${front}: ${output}`,
    );
    return front;
  }

  it('send-proxy-v2: the app sees the client in req.socket, not HAProxy', async () => {
    const port = await behindHaproxy('proxy_protocol: true,', 'tcp');
    expect(JSON.parse(await fromOtherAddress(port))).toEqual({ socket: '127.0.0.2', client: '127.0.0.2' });
  });

  it('option forwardfor: host.client(req) is the client, the socket stays HAProxy', async () => {
    const port = await behindHaproxy('', 'http');
    expect(JSON.parse(await fromOtherAddress(port))).toEqual({ socket: '127.0.0.1', client: '127.0.0.2' });
  });
});
