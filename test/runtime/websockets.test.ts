/**
 * WebSockets on hostd: the app factory gets the worker's server (ws attaches to it),
 * `host.on('draining')` tells the app a graceful stop begins, and the drain waits for
 * upgraded connections up to `graceful_timeout`. Real `ws` clients over loopback.
 */
import { symlinkSync } from 'node:fs';
import { connect as tcp } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { recordingConfig } from '../helpers/apps.ts';
import { project, REPO } from '../helpers/project.ts';
import { connectWs, type WsClient } from '../helpers/ws.ts';
import { type Hostd, hooksLog, RECORD_MODULE, records, startHostd, waitUntil } from '../helpers/run.ts';

/** Echoes every message; greets with the worker id; closes every socket with 1001 on `draining` when CLOSE is set. */
const APP = `import { WebSocketServer } from 'ws';
import { appendFileSync } from 'node:fs';
import { host } from 'hostd';
const rec = (line) => appendFileSync(new URL('./hooks.log', import.meta.url), line + '\\n');
const CLOSE = process.env.CLOSE === '1';
export default function create({ server, worker }) {
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws) => {
    ws.on('message', (message) => ws.send(String(message)));
    ws.send('hello from worker ' + worker.id);
  });
  host.on('draining', ({ reason, deadline }) => {
    rec('draining ' + reason + ' ' + (deadline instanceof Date) + ' open=' + wss.clients.size);
    if (CLOSE) for (const ws of wss.clients) ws.close(1001, 'going away');
  });
  return (req, res) => res.end('http from worker ' + worker.id + (server.listening ? ' listening' : ''));
}
`;

function wsProject(body: string): string {
  const dir = project({ 'app.mjs': APP, 'record.ts': RECORD_MODULE, 'hostd.config.ts': recordingConfig(body) });
  symlinkSync(join(REPO, 'node_modules', 'ws'), join(dir, 'node_modules', 'ws'), 'dir');
  return dir;
}


describe('WebSockets', () => {
  let run: Hostd | undefined;
  const clients: WsClient[] = [];
  afterEach(async () => {
    for (const client of clients.splice(0)) client.socket.terminate();
    await run?.stop();
    run = undefined;
  });

  it('attach to the server the factory gets; a stop tells the app, which closes them with 1001, and ends without waiting for graceful_timeout', async () => {
    // A graceful_timeout longer than the test's own limit: a stop that waited for it would fail the test.
    const dir = wsProject("workers: 1, graceful_timeout: 120, accesslog: '-', env: { CLOSE: '1' },");
    run = startHostd(dir);
    const url = await run.ready();
    expect(await (await fetch(url)).text()).toBe('http from worker 1');
    for (let i = 0; i < 5; i++) clients.push(await connectWs(url));
    expect(clients[0]!.messages[0]).toBe('hello from worker 1');
    clients[0]!.socket.send('echo me');
    await waitUntil(() => clients[0]!.messages.includes('echo me'), 'the echo');

    // The handshakes are in the access log (the request hooks do not run for them: no pre_request for an upgrade).
    await waitUntil(() => run!.output.match(/"GET \/ HTTP\/1\.1" 101 /g)?.length === 5, 'five 101 lines in the access log');
    expect(records(hooksLog(dir)).filter((l) => l.startsWith('pre_request'))).toHaveLength(1);

    run.signal('SIGTERM');
    expect((await Promise.all(clients.map((client) => client.closed))).map((c) => c.code)).toEqual([1001, 1001, 1001, 1001, 1001]);
    expect((await run.exited).code).toBe(0);
    const lines = records(hooksLog(dir));
    expect(lines).toContain('draining shutdown true open=5');
    expect(lines.indexOf('draining shutdown true open=5')).toBeLessThan(lines.findIndex((l) => l.startsWith('worker_exit')));
    expect(run.output).not.toMatch(/still open after graceful_timeout/);
  });

  it('are part of the drain: an app that ignores draining has them destroyed at graceful_timeout', async () => {
    const dir = wsProject('workers: 1, graceful_timeout: 1,');
    run = startHostd(dir);
    const url = await run.ready();
    const client = await connectWs(url);
    clients.push(client);
    run.signal('SIGTERM');
    // Destroyed, not closed with a close frame: 1006.
    expect((await client.closed).code).toBe(1006);
    expect((await run.exited).code).toBe(0);
    expect(records(hooksLog(dir))).toContain('draining shutdown true open=1');
    expect(run.output).toMatch(/worker 1: 1 connection\(s\) still open after graceful_timeout \(1 s\); closed/);
  });

  it('are told of a reload that retires their worker, and reconnect to the new generation', async () => {
    const dir = wsProject("workers: 1, graceful_timeout: 120, env: { CLOSE: '1' },");
    run = startHostd(dir);
    const url = await run.ready();
    const before = await connectWs(url);
    clients.push(before);
    run.signal('SIGHUP');
    expect((await before.closed).code).toBe(1001);
    await waitUntil(() => records(hooksLog(dir)).some((l) => l.startsWith('draining reload')), 'draining with reason reload');
    const after = await connectWs(url);
    clients.push(after);
    expect(after.messages[0]).toBe('hello from worker 1');
  });

  it('outlive the HTTP timers: keepalive, headers_timeout and request_timeout end HTTP connections, not an idle WebSocket', async () => {
    const dir = wsProject('workers: 1, keepalive: 1, headers_timeout: 1.5, request_timeout: 2,');
    run = startHostd(dir);
    const url = await run.ready();
    const { port } = new URL(url);
    const idle = await connectWs(url);
    clients.push(idle);
    // Beside it, an HTTP client that sends half a request head, and an idle keep-alive connection:
    // once both were let go, every timer that could end the WebSocket has fired.
    const ended = (head: string) =>
      new Promise<string>((resolve) => {
        let answer = '';
        const socket = tcp(Number(port), '127.0.0.1', () => socket.write(head));
        socket.setEncoding('latin1');
        socket.on('data', (chunk: string) => (answer += chunk));
        socket.on('close', () => resolve(answer));
      });
    const [slow, keptAlive] = await Promise.all([ended('GET / HTTP/1.1\r\nHost: x\r\n'), ended('GET / HTTP/1.1\r\nHost: x\r\n\r\n')]);
    expect(slow).toMatch(/^HTTP\/1\.1 408 /);
    expect(keptAlive).toMatch(/^HTTP\/1\.1 200 /);
    expect(idle.socket.readyState).toBe(WebSocket.OPEN);
    idle.socket.send('still here');
    await waitUntil(() => idle.messages.includes('still here'), 'the echo on the idle WebSocket');
  });
});
