/**
 * A worker's connections in the test process: the drain of a stopping worker and the
 * `send_timeout` sweep, on a real node:http server on 127.0.0.1 whose sockets are tracked as
 * a worker tracks the ones its primary hands it.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Connections } from '../../../src/runtime/worker/connections.ts';
import { listen, RawClient } from '../../helpers/http.ts';

afterEach(() => {
  vi.useRealTimers();
});

/**
 * A server whose connections `connections` tracks. `/hold` is answered only when the test
 * releases it; anything else at once, with `Connection: close` once the drain began (as the
 * request handler of a draining worker answers). keepalive is long (a worker with
 * `keepalive: 60`), so a connection that closes within a test was closed by the drain.
 */
async function tracked(body: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.end('ok')) {
  const connections = new Connections();
  const held: ServerResponse[] = [];
  let draining = false;
  const drain = connections.drain.bind(connections);
  connections.drain = (server, deadlineMs) => {
    draining = true;
    return drain(server, deadlineMs);
  };
  const { server, port } = await listen(
    (req, res) => {
      if (draining) res.shouldKeepAlive = false;
      if (req.url === '/hold') held.push(res);
      else body(req, res);
    },
    { keepAliveTimeout: 60_000 },
  );
  const sockets: Socket[] = [];
  server.on('connection', (socket: Socket) => {
    // Over plain HTTP the socket from the primary is the one HTTP runs on.
    connections.add(socket);
    connections.addHttp(socket);
    sockets.push(socket);
  });
  return { connections, server, port, held, sockets };
}

/** Waits until the server holds `n` responses, that is, has read `n` requests to `/hold`. */
async function holding(held: readonly ServerResponse[], n: number, server: Server): Promise<void> {
  while (held.length < n) await new Promise((resolve) => server.once('request', () => setImmediate(resolve)));
}

describe('the drain of a stopping worker', () => {
  it('resolves at once when no connection is open', async () => {
    const { connections, server } = await tracked();
    expect(await connections.drain(server, 30_000)).toBe(0);
  });

  it('closes a keep-alive connection that stays idle, and resolves once all are closed', async () => {
    const { connections, server, port } = await tracked();
    const client = await RawClient.open(port);
    client.send('/');
    expect((await client.answer()).headers.connection).toBe('keep-alive');
    const drained = connections.drain(server, 30_000);
    expect(await client.ended).toBe('end');
    expect(await drained).toBe(0);
    expect(connections.size).toBe(0);
  });

  it('answers a request in flight with Connection: close, then closes its connection', async () => {
    const { connections, server, port, held } = await tracked();
    const client = await RawClient.open(port);
    client.send('/hold');
    await holding(held, 1, server);
    expect(connections.inFlight()).toBe(1);
    const drained = connections.drain(server, 30_000);
    held[0]!.end('late answer');
    const answer = await client.answer();
    expect([answer.body, answer.headers.connection]).toEqual(['late answer', 'close']);
    expect(await client.ended).toBe('end');
    expect(await drained).toBe(0);
  });

  it('closes a connection whose response had sent its head as keep-alive once it idles after that response', async () => {
    const { connections, server, port, held } = await tracked();
    const client = await RawClient.open(port);
    client.send('/hold');
    await holding(held, 1, server);
    held[0]!.writeHead(200, { 'content-length': 4 }).flushHeaders();
    await client.receivedAtLeast(1);
    const drained = connections.drain(server, 30_000);
    held[0]!.end('done');
    const answer = await client.answer();
    expect([answer.body, answer.headers.connection]).toEqual(['done', 'keep-alive']);
    expect(await client.ended).toBe('end');
    expect(await drained).toBe(0);
  });

  it('answers a client that sends its next request on an idle connection soon after the drain began', async () => {
    const { connections, server, port } = await tracked();
    const client = await RawClient.open(port);
    client.send('/first');
    await client.answer();
    const drained = connections.drain(server, 30_000);
    client.send('/second');
    const answer = await client.answer();
    expect([answer.status, answer.headers.connection]).toEqual([200, 'close']);
    expect(await client.ended).toBe('end');
    expect(await drained).toBe(0);
  });

  it('destroys what is still open at the deadline and says how many it cut', async () => {
    const { connections, server, port, held } = await tracked();
    const busy = await RawClient.open(port);
    busy.send('/hold');
    const other = await RawClient.open(port);
    other.send('/hold');
    await holding(held, 2, server);
    // The deadline is a timer of the drain's own: fake time passes graceful_timeout at once.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const drained = connections.drain(server, 30_000);
    await vi.advanceTimersByTimeAsync(29_999);
    expect(connections.size).toBe(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(await drained).toBe(2);
    expect(['end', 'ECONNRESET']).toContain(await busy.ended);
    expect(['end', 'ECONNRESET']).toContain(await other.ended);
  });
});

/** 64 MiB: far more than the kernel buffers of both ends of a loopback connection hold (a few MiB). */
const BIG = 64 * 1024 * 1024;
/** More than those buffers too: a client that read this much more made the kernel take more of the response. */
const MORE = 24 * 1024 * 1024;

describe('send_timeout (cutStalled)', () => {
  const big = Buffer.alloc(BIG, 'x');

  /** A client that asked for a 64 MiB response and reads none of it. */
  async function stalledClient(port: number): Promise<RawClient> {
    const client = await RawClient.open(port);
    client.socket.pause();
    client.send('/big');
    return client;
  }

  async function bigResponses() {
    const served: ServerResponse[] = [];
    const setup = await tracked((_req, res) => {
      served.push(res);
      res.setHeader('content-length', BIG);
      res.end(big);
    });
    return { ...setup, served };
  }

  it('cuts a connection whose client took nothing for the limit since a sweep first saw it waiting', async () => {
    const { connections, server, port, served, sockets } = await bigResponses();
    const client = await stalledClient(port);
    await holding(served, 1, server);
    // Sweeps in one synchronous run see the same bytes taken: only the time passed in moves.
    expect(connections.cutStalled(1000, 4000)).toBe(0);
    expect(connections.cutStalled(2000, 4000)).toBe(0);
    expect(connections.cutStalled(4999, 4000)).toBe(0);
    expect(sockets[0]!.destroyed).toBe(false);
    expect(connections.cutStalled(5000, 4000)).toBe(1);
    expect(sockets[0]!.destroyed).toBe(true);
    client.socket.resume();
    await client.ended;
    expect(client.received).toBeLessThan(BIG);
    expect(connections.cutStalled(100_000, 4000)).toBe(0);
  });

  it('starts counting again when the client reads', async () => {
    const { connections, server, port, served } = await bigResponses();
    const client = await stalledClient(port);
    await holding(served, 1, server);
    expect(connections.cutStalled(0, 4000)).toBe(0);
    client.socket.resume();
    await client.receivedAtLeast(client.received + MORE);
    client.socket.pause();
    expect(connections.cutStalled(10_000, 4000)).toBe(0);
    expect(connections.cutStalled(13_999, 4000)).toBe(0);
    expect(connections.cutStalled(14_000, 4000)).toBe(1);
  });

  it('leaves alone a connection with nothing waiting to be sent, however long it idles', async () => {
    const { connections, port } = await tracked();
    const client = await RawClient.open(port);
    client.send('/');
    await client.answer();
    expect(connections.cutStalled(0, 4000)).toBe(0);
    expect(connections.cutStalled(1_000_000, 4000)).toBe(0);
    client.send('/');
    expect((await client.answer()).body).toBe('ok');
  });

  it('counts every connection it cuts in one sweep', async () => {
    const { connections, server, port, served, sockets } = await bigResponses();
    for (let i = 0; i < 3; i++) await stalledClient(port);
    await holding(served, 3, server);
    expect(connections.cutStalled(0, 1000)).toBe(0);
    expect(connections.cutStalled(1000, 1000)).toBe(3);
    expect(sockets.map((socket) => socket.destroyed)).toEqual([true, true, true]);
  });
});
