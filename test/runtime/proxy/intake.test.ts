/**
 * A worker's PROXY protocol header read off the connection's descriptor (takeProxyHeader):
 * real sockets on 127.0.0.1 and the native helper's intake. What the server gets first is the
 * bytes after the header, then the rest of the connection; nothing is read once the socket has.
 */
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { native } from '../../../src/runtime/native.ts';
import { proxyV1, proxyV2 } from '../../../src/runtime/proxy/proxy-protocol.ts';
import { applyProxyHeader, readProxyHeader, showClient, takeProxyHeader } from '../../../src/runtime/proxy/intake.ts';
import { trusts } from '../../../src/runtime/proxy/trusted.ts';
import { requestClient } from '../../../src/runtime/worker/client.ts';

const helper = native();
const local = trusts(['127.0.0.1', '::1']);

/** How many bytes wait on the socket's descriptor, left there. */
function waiting(socket: Socket): number {
  const fd = (socket as unknown as { _handle: { fd: number } })._handle.fd;
  return Math.max(0, helper!.peekInto(fd, Buffer.alloc(65536)));
}
const servers: Server[] = [];
const sockets: Socket[] = [];

afterEach(() => {
  for (const socket of sockets.splice(0)) socket.destroy();
  for (const server of servers.splice(0)) server.close();
});

/** The server's side of a connection to which the client wrote `pieces`, each when the one before had arrived (the server listening on `host`, the client connecting to `to`). */
async function accepted(pieces: Buffer[], host = '127.0.0.1', to = host): Promise<Socket> {
  const server = createServer({ pauseOnConnect: true });
  servers.push(server);
  server.listen(0, host);
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  const client = connect(port, to);
  sockets.push(client);
  const [socket] = (await once(server, 'connection')) as [Socket];
  sockets.push(socket);
  for (const piece of pieces) {
    await new Promise<void>((resolve) => client.write(piece, () => resolve()));
  }
  // Until the kernel holds all that was written: peeking shows it without taking it.
  const total = pieces.reduce((n, p) => n + p.length, 0);
  for (const deadline = Date.now() + 5000; total > 0 && waiting(socket) < total; ) {
    if (Date.now() > deadline) throw new Error('the bytes never arrived');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return socket;
}

/** The next bytes the socket reads. */
async function next(socket: Socket): Promise<string> {
  socket.resume();
  const [chunk] = (await once(socket, 'data')) as [Buffer];
  return chunk.toString('latin1');
}

const REQUEST = Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
const to = { address: '127.0.0.1', port: 8000 };

describe.skipIf(helper === null)('takeProxyHeader', () => {
  it('reads a whole v1 or v2 header off the descriptor and hands on what followed it, then the socket reads on', async () => {
    const clients = [
      { address: '203.0.113.9', port: 40001 },
      { address: '2001:db8::7', port: 40002 },
    ];
    for (const [header, client] of [
      [proxyV1(clients[0]!, to), clients[0]!],
      [proxyV2(clients[1]!, { address: '::1', port: 8000 }), clients[1]!],
    ] as const) {
      const socket = await accepted([Buffer.concat([header, REQUEST])]);
      const peer = sockets[sockets.length - 2]!;
      const taken = takeProxyHeader(socket, helper!, local);
      expect(taken.state === 'done' ? [taken.header.source, taken.rest.toString('latin1')] : taken).toEqual([client, REQUEST.toString('latin1')]);
      expect(waiting(socket)).toBe(0);
      peer.write('next');
      expect(await next(socket)).toBe('next');
    }
  });

  it('answers wait with what it read while the header is not all there, and the reader goes on from it', async () => {
    const header = proxyV1({ address: '203.0.113.9', port: 40001 }, to);
    const socket = await accepted([header.subarray(0, 10)]);
    const peer = sockets[sockets.length - 2]!;
    const taken = takeProxyHeader(socket, helper!, local);
    expect(taken.state === 'wait' ? taken.read.toString('latin1') : taken).toBe(header.subarray(0, 10).toString('latin1'));
    const read = new Promise<[unknown, string]>((resolve, reject) =>
      readProxyHeader(socket, 5000, (h, rest) => resolve([h.source, rest.toString('latin1')]), reject, taken.state === 'wait' ? taken.read : Buffer.alloc(0)),
    );
    // A worker's socket flows once read; this one was accepted paused.
    socket.resume();
    peer.write(Buffer.concat([header.subarray(10), REQUEST]));
    expect(await read).toEqual([{ address: '203.0.113.9', port: 40001 }, REQUEST.toString('latin1')]);
  });

  it('answers wait, reading nothing, once the socket has read anything: what is left in the kernel is not where the header starts', async () => {
    // A second header in the request's place: read off the kernel, it would name a client the balancer never saw.
    const spoofed = proxyV1({ address: '6.6.6.6', port: 6666 }, to);
    const socket = await accepted([proxyV1({ address: '203.0.113.9', port: 40001 }, to), spoofed]);
    socket.resume();
    await once(socket, 'data');
    socket.pause();
    const before = waiting(socket);
    expect(takeProxyHeader(socket, helper!, local)).toEqual({ state: 'wait', read: Buffer.alloc(0) });
    expect(waiting(socket)).toBe(before);
  });

  it('answers an error for bytes that are no header, having read them: closing then ends the connection cleanly, not with a reset', async () => {
    const socket = await accepted([REQUEST]);
    const client = sockets[sockets.length - 2]!;
    const taken = takeProxyHeader(socket, helper!, local);
    expect(taken.state).toBe('error');
    expect(waiting(socket)).toBe(0);
    const ended = new Promise<string>((resolve) => {
      client.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
      client.on('end', () => resolve('end'));
      client.resume();
    });
    socket.destroy();
    expect(await ended).toBe('end');
  });

  it('answers an error, not a throw, for a connection reset before it was looked at', async () => {
    const socket = await accepted([]);
    const reset = { intake: () => { throw new Error('intake: Connection reset by peer'); } };
    expect(takeProxyHeader(socket, reset, local)).toMatchObject({ state: 'error', reason: expect.stringMatching(/failed before its PROXY protocol header: .*reset/) });
  });

  it('answers an error for a connection that ended before any byte', async () => {
    const socket = await accepted([]);
    sockets[sockets.length - 2]!.end();
    for (const deadline = Date.now() + 5000; ; ) {
      const taken = takeProxyHeader(socket, helper!, local);
      if (taken.state !== 'wait') {
        expect(taken).toMatchObject({ state: 'error', reason: expect.stringMatching(/ended before/) });
        break;
      }
      if (Date.now() > deadline) throw new Error('the end never arrived');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  });
});

describe.skipIf(helper === null)('takeProxyHeader and forwarded_allow_ips', () => {
  const header = Buffer.concat([proxyV1({ address: '203.0.113.9', port: 40001 }, to), REQUEST]);

  it('hands on all it read from a peer the list does not trust: its connection is HTTP from the first byte', async () => {
    for (const list of [['10.0.0.0/8'], ['::1'], []]) {
      const socket = await accepted([header]);
      const taken = takeProxyHeader(socket, helper!, trusts(list));
      expect(taken.state === 'untrusted' ? taken.rest.toString('latin1') : taken).toBe(header.toString('latin1'));
    }
  });

  it('trusts IPv4 peers by range, IPv6 peers, and IPv4 peers of a dual-stack listener as IPv4', async () => {
    const cases = [
      { host: '127.0.0.1', to: '127.0.0.1', list: ['127.0.0.0/8'] },
      { host: '::1', to: '::1', list: ['::1/128'] },
      { host: '::', to: '127.0.0.1', list: ['127.0.0.1'] },
      { host: '::', to: '127.0.0.1', list: ['::ffff:127.0.0.0/104'] },
    ];
    for (const { host, to: target, list } of cases) {
      const socket = await accepted([header], host, target);
      const taken = takeProxyHeader(socket, helper!, trusts(list));
      expect(taken.state === 'done' ? [taken.header.source, taken.rest.toString('latin1')] : taken).toEqual([{ address: '203.0.113.9', port: 40001 }, REQUEST.toString('latin1')]);
    }
  });
});

// The connection is made with the helper (to wait until its bytes arrived); the helper is then left out.
describe.skipIf(helper === null)('takeProxyHeader without the native helper', () => {
  it('reads nothing: a trusted peer\'s header goes through the stream reader, an untrusted peer is HTTP from the first byte', async () => {
    const header = Buffer.concat([proxyV1({ address: '203.0.113.9', port: 40001 }, to), REQUEST]);
    const trusted = await accepted([header]);
    expect(takeProxyHeader(trusted, null, local)).toEqual({ state: 'wait', read: Buffer.alloc(0) });
    const untrusted = await accepted([header]);
    expect(takeProxyHeader(untrusted, null, trusts(['10.0.0.0/8']))).toEqual({ state: 'untrusted', rest: Buffer.alloc(0) });
    expect(await next(untrusted)).toBe(header.toString('latin1'));
  });
});

describe('showClient', () => {
  it("makes a connected socket's remoteAddress, remotePort and remoteFamily the client's, read before or not", async () => {
    for (const readFirst of [false, true]) {
      for (const [address, family] of [['203.0.113.9', 'IPv4'], ['2001:db8::7', 'IPv6']] as const) {
        const socket = await accepted([]);
        if (readFirst) expect(socket.remoteAddress).toBe('127.0.0.1');
        showClient(socket, address, 40001);
        expect([socket.remoteAddress, socket.remotePort, socket.remoteFamily]).toEqual([address, 40001, family]);
      }
    }
  });
});

describe('the client a PROXY header named', () => {
  it('decides trust as hostd recorded it, not as Node shows the socket: a balancer trusted does not make a forwarding header from its client believed', async () => {
    const socket = await accepted([]);
    applyProxyHeader(socket, { version: 1, source: { address: '203.0.113.9', port: 40001 }, destination: to });
    // As a Node that no longer reads its peer cache would show it: the balancer (127.0.0.1, trusted).
    delete (socket as unknown as { _peername?: unknown })._peername;
    expect(socket.remoteAddress).toBe('127.0.0.1');
    const req = { socket, rawHeaders: ['X-Forwarded-For', '6.6.6.6'] } as unknown as IncomingMessage;
    expect(requestClient(req, trusts(['127.0.0.1']), true)).toMatchObject({ address: '203.0.113.9', port: 40001 });
  });
});
