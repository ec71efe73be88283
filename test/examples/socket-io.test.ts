/**
 * examples/socket-io with a real socket.io client: two workers and sticky sessions, so a
 * client that starts with long-polling (several requests, several connections) reaches the
 * worker that holds its session every time, then upgrades to a WebSocket.
 */
import { join } from 'node:path';
import { io, type Socket } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { REPO } from '../helpers/project.ts';
import { type Hostd, startHostd, waitUntil } from '../helpers/run.ts';

const EXAMPLE = join(REPO, 'examples', 'socket-io');

describe('examples/socket-io', () => {
  let run: Hostd | undefined;
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.disconnect();
    await run?.stop();
    run = undefined;
  });

  /** Connects by polling first (no connection reuse: each poll is a new connection), upgrades, and echoes. */
  async function session(url: string): Promise<{ worker: number; transport: string }> {
    const socket = io(url, { transports: ['polling', 'websocket'], reconnection: false, forceNew: true, extraHeaders: { connection: 'close' } });
    sockets.push(socket);
    const hello = await new Promise<{ worker: number }>((resolve, reject) => {
      socket.once('hello', resolve);
      socket.once('connect_error', reject);
    });
    await waitUntil(() => socket.io.engine.transport.name === 'websocket', 'the upgrade to a WebSocket');
    const answer = (await socket.timeout(5000).emitWithAck('echo', 'hi')) as { worker: number; message: string };
    expect(answer).toEqual({ worker: hello.worker, message: 'hi' });
    return { worker: hello.worker, transport: socket.io.engine.transport.name };
  }

  it('keeps every session on its worker through polling and the upgrade, with two workers', async () => {
    run = startHostd(EXAMPLE, ['-b', '127.0.0.1:0']);
    const url = await run.ready(30_000);
    await waitUntil(() => (run!.output.match(/Booting worker \d/g) ?? []).length >= 2, 'two workers');
    const sessions = [];
    for (let i = 0; i < 6; i++) sessions.push(await session(url));
    expect(sessions.every((s) => s.transport === 'websocket')).toBe(true);
    // One client address: one worker, every time.
    expect(new Set(sessions.map((s) => s.worker)).size).toBe(1);
    expect(await (await fetch(url)).text()).toMatch(/^socket\.io example: worker \d\n$/);
  });

  it('sends its clients to the new generation on a reload, and they come back on their own', async () => {
    run = startHostd(EXAMPLE, ['-b', '127.0.0.1:0']);
    const url = await run.ready(30_000);
    // The client's own reconnection, as an app's would be (short delays to keep the test quick).
    const socket = io(url, { transports: ['polling', 'websocket'], forceNew: true, reconnectionDelay: 100, reconnectionDelayMax: 500 });
    sockets.push(socket);
    const reasons: string[] = [];
    socket.on('disconnect', (reason) => reasons.push(reason));
    let connects = 0;
    socket.on('connect', () => connects++);
    await waitUntil(() => connects === 1 && socket.io.engine.transport.name === 'websocket', 'the first session, upgraded');

    run.signal('SIGHUP');
    // Closed by the draining handler, not told to go away ("io server disconnect" would not reconnect).
    await waitUntil(() => reasons.length > 0, 'the disconnect at the reload');
    expect(reasons[0]).toBe('transport close');
    await waitUntil(() => connects === 2, 'the reconnect', 15_000);
    expect(await socket.timeout(5000).emitWithAck('echo', 'back')).toMatchObject({ message: 'back' });

    // A stop with the client connected ends at once: the app closes its connections on draining.
    socket.io.opts.reconnection = false;
    const started = Date.now();
    expect((await run.stop()).code).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
    run = undefined;
  });

  it('loses the session without sticky sessions: its next request lands on the other worker', async () => {
    // Connections in strict turn, so that the request after the handshake goes to the other worker.
    run = startHostd(EXAMPLE, ['-b', '127.0.0.1:0', '--no-sticky-sessions', '--dispatch', 'round_robin']);
    const url = await run.ready(30_000);
    await waitUntil(() => (run!.output.match(/Booting worker \d/g) ?? []).length >= 2, 'two workers');
    // socket.io answers the request that reached the other worker 400 ("Session ID unknown")
    // itself, ahead of hostd's request pipeline (so it is not in the access log); the client
    // reports that status.
    const error = await session(url).then(() => null, (e: unknown) => e);
    expect(error).toMatchObject({ message: expect.stringMatching(/^xhr (post|poll) error$/), description: 400 });
  });
});
