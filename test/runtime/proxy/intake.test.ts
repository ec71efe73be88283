/**
 * A worker's PROXY protocol header read off the connection's descriptor (takeProxyHeader):
 * real sockets on 127.0.0.1 and the native helper's intake. Only a whole header is taken; what
 * follows it stays in the kernel for the server's own read; nothing is read once the socket has.
 */
import fc from 'fast-check';
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { connect, createServer, type Server, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { native } from '../../../src/runtime/native.ts';
import { MAX_PROXY_HEADER_BYTES, parseProxyHeader, proxyV1, proxyV2 } from '../../../src/runtime/proxy/proxy-protocol.ts';
import { applyProxyHeader, proxiedOf, readProxyHeader, showProxiedClient, takeProxyHeader } from '../../../src/runtime/proxy/intake.ts';
import { trusts } from '../../../src/runtime/proxy/trusted.ts';
import { header, headerish } from '../../helpers/proxy-headers.ts';
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
  it('takes a whole v1 or v2 header off the descriptor and only the header: the socket reads what followed it, then reads on', async () => {
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
      expect(taken.state === 'done' ? taken.header.source : taken).toEqual(client);
      expect(waiting(socket)).toBe(REQUEST.length);
      expect(await next(socket)).toBe(REQUEST.toString('latin1'));
      peer.write('next');
      expect(await next(socket)).toBe('next');
    }
  });

  it('answers wait, taking nothing, while the header is not all there, and the reader reads it from its first byte', async () => {
    for (const header of [proxyV1({ address: '203.0.113.9', port: 40001 }, to), proxyV2({ address: '203.0.113.9', port: 40001 }, to)]) {
      const socket = await accepted([header.subarray(0, 10)]);
      const peer = sockets[sockets.length - 2]!;
      expect(takeProxyHeader(socket, helper!, local)).toEqual({ state: 'wait' });
      expect(waiting(socket)).toBe(10);
      const read = new Promise<[unknown, string]>((resolve, reject) => readProxyHeader(socket, 5000, (h, rest) => resolve([h.source, rest.toString('latin1')]), reject));
      // A worker's socket flows once read; this one was accepted paused.
      socket.resume();
      peer.write(Buffer.concat([header.subarray(10), REQUEST]));
      expect(await read).toEqual([{ address: '203.0.113.9', port: 40001 }, REQUEST.toString('latin1')]);
    }
  });

  it('answers wait for a v2 header whose declared length is not all there yet, taking nothing', async () => {
    const header = proxyV2({ address: '203.0.113.9', port: 40001 }, to);
    const socket = await accepted([header.subarray(0, 17)]);
    expect(takeProxyHeader(socket, helper!, local)).toEqual({ state: 'wait' });
    expect(waiting(socket)).toBe(17);
  });

  it('answers wait, reading nothing, once the socket has read anything: what is left in the kernel is not where the header starts', async () => {
    // A second header in the request's place: read off the kernel, it would name a client the balancer never saw.
    const spoofed = proxyV1({ address: '6.6.6.6', port: 6666 }, to);
    const socket = await accepted([proxyV1({ address: '203.0.113.9', port: 40001 }, to), spoofed]);
    socket.resume();
    await once(socket, 'data');
    socket.pause();
    const before = waiting(socket);
    expect(takeProxyHeader(socket, helper!, local)).toEqual({ state: 'wait' });
    expect(waiting(socket)).toBe(before);
  });

  it('answers an error for bytes that are no header, or a v1 line that is no header, having dropped them: closing then ends the connection cleanly, not with a reset', async () => {
    for (const bytes of [REQUEST, Buffer.concat([Buffer.from('PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n'), REQUEST])]) {
      const socket = await accepted([bytes]);
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
    }
  });

  it("takes a header exactly when the parser finds one whole, as long as the parser says, at its length limits too", async () => {
    // The spec's longest v1 line: 107 bytes.
    const six = 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff';
    const longest = Buffer.from(`PROXY UNKNOWN ${six} ${six} 65535 65535\r\n`);
    const tlv = (length: number) => Buffer.concat([Buffer.from([0xe0, length >> 8, length & 0xff]), Buffer.alloc(length, 0x61)]);
    const cases = [
      longest,
      Buffer.concat([longest.subarray(0, longest.length - 2), Buffer.from('f\r\n')]),
      Buffer.from('PROXY UNKNOWN\r\n'),
      Buffer.from('PROXY TCP4 1.2.3.4\r5.6.7.8 1 2\r\n'),
      proxyV2(null, null),
      proxyV2({ address: '203.0.113.9', port: 40001 }, to, tlv(2000)),
      proxyV2({ address: '203.0.113.9', port: 40001 }, to, tlv(2300)),
    ];
    expect(longest.length).toBe(107);
    for (const header of cases) {
      const parsed = parseProxyHeader(header);
      const socket = await accepted([Buffer.concat([header, REQUEST])]);
      const taken = takeProxyHeader(socket, helper!, local);
      if (parsed.state === 'done') expect([taken.state, waiting(socket)]).toEqual(['done', REQUEST.length]);
      else if (header.length + REQUEST.length <= MAX_PROXY_HEADER_BYTES + 1) expect([parsed.state, taken.state, waiting(socket)]).toEqual(['error', 'error', 0]);
      else expect([parsed.state, taken.state]).toEqual(['error', 'error']);
    }
  });

  it('answers as the parser does for any bytes, valid headers or not, and takes exactly the header it found', async () => {
    // What intake() peeks (the window) is what the parser is given.
    const window = MAX_PROXY_HEADER_BYTES + 1;
    await fc.assert(
      fc.asyncProperty(fc.oneof(header.map(({ bytes }) => bytes), headerish), fc.boolean(), async (bytes, request) => {
        const sent = request ? Buffer.concat([bytes, REQUEST]) : bytes;
        if (sent.length === 0) return;
        const socket = await accepted([sent]);
        const parsed = parseProxyHeader(sent.subarray(0, window));
        const taken = takeProxyHeader(socket, helper!, local);
        if (parsed.state === 'done') {
          expect(taken).toEqual({ state: 'done', header: parsed.header });
          expect(waiting(socket)).toBe(sent.length - parsed.length);
        } else if (parsed.state === 'more') {
          expect(taken).toEqual({ state: 'wait' });
          expect(waiting(socket)).toBe(sent.length);
        } else {
          expect(taken).toEqual(parsed);
          expect(waiting(socket)).toBe(Math.max(0, sent.length - window));
        }
      }),
      { numRuns: 150 },
    );
  });

  it('answers an error, not a throw, for a connection reset before it was looked at', async () => {
    const socket = await accepted([]);
    const reset = { intake: () => { throw new Error('intake: Connection reset by peer'); }, discard: () => 0 };
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

  it('hands on the header it took from a peer the list does not trust, ahead of what is still in the kernel: its connection is HTTP from the first byte', async () => {
    const line = proxyV1({ address: '203.0.113.9', port: 40001 }, to);
    for (const list of [['10.0.0.0/8'], ['::1'], []]) {
      const socket = await accepted([header]);
      const taken = takeProxyHeader(socket, helper!, trusts(list));
      expect(taken.state === 'untrusted' ? taken.rest.toString('latin1') : taken).toBe(line.toString('latin1'));
      expect(waiting(socket)).toBe(REQUEST.length);
    }
    // Bytes that are no header are not taken at all.
    const socket = await accepted([REQUEST]);
    expect(takeProxyHeader(socket, helper!, trusts([]))).toEqual({ state: 'untrusted', rest: Buffer.alloc(0) });
    expect(waiting(socket)).toBe(REQUEST.length);
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
      expect(taken.state === 'done' ? [taken.header.source, waiting(socket)] : taken).toEqual([{ address: '203.0.113.9', port: 40001 }, REQUEST.length]);
    }
  });
});

// The connection is made with the helper (to wait until its bytes arrived); the helper is then left out.
describe.skipIf(helper === null)('takeProxyHeader without the native helper', () => {
  it('reads nothing: a trusted peer\'s header goes through the stream reader, an untrusted peer is HTTP from the first byte', async () => {
    const header = Buffer.concat([proxyV1({ address: '203.0.113.9', port: 40001 }, to), REQUEST]);
    const trusted = await accepted([header]);
    expect(takeProxyHeader(trusted, null, local)).toEqual({ state: 'wait' });
    const untrusted = await accepted([header]);
    expect(takeProxyHeader(untrusted, null, trusts(['10.0.0.0/8']))).toEqual({ state: 'untrusted', rest: Buffer.alloc(0) });
    expect(await next(untrusted)).toBe(header.toString('latin1'));
  });
});

describe('applyProxyHeader', () => {
  it("makes a connected socket's remoteAddress, remotePort and remoteFamily the client's, read before or not, and records what the header said", async () => {
    for (const readFirst of [false, true]) {
      for (const [address, family] of [['203.0.113.9', 'IPv4'], ['2001:db8::7', 'IPv6']] as const) {
        const socket = await accepted([]);
        if (readFirst) expect(socket.remoteAddress).toBe('127.0.0.1');
        applyProxyHeader(socket, { version: 2, source: { address, port: 40001 }, destination: to, tls: true });
        expect([socket.remoteAddress, socket.remotePort, socket.remoteFamily]).toEqual([address, 40001, family]);
        expect(proxiedOf(socket)).toMatchObject({ client: { address, port: 40001 }, tls: true });
      }
    }
  });

  it('keeps the peer of a header that names no client (LOCAL, UNKNOWN), and records it', async () => {
    const socket = await accepted([]);
    applyProxyHeader(socket, { version: 2, source: null, destination: null });
    expect(socket.remoteAddress).toBe('127.0.0.1');
    expect(proxiedOf(socket)).toEqual({ client: null, tls: false });
  });

  it('shows a TLS socket the client named on the TCP socket under it', async () => {
    const tcp = await accepted([]);
    applyProxyHeader(tcp, { version: 1, source: { address: '203.0.113.9', port: 40001 }, destination: to });
    // What node:tls makes over it: a socket whose _parent is the TCP one.
    const tls = Object.assign(new Socket(), { _parent: tcp });
    expect(proxiedOf(tls)).toMatchObject({ client: { address: '203.0.113.9', port: 40001 } });
    showProxiedClient(tls);
    expect([tls.remoteAddress, tls.remotePort]).toEqual(['203.0.113.9', 40001]);
  });
});

describe('the client a PROXY header named', () => {
  it('decides trust as hostd recorded it, not as Node shows the socket: a balancer trusted does not make a forwarding header from its client believed', async () => {
    const socket = await accepted([]);
    applyProxyHeader(socket, { version: 1, source: { address: '203.0.113.9', port: 40001 }, destination: to });
    // As a Node that no longer reads its peer cache would show it: the balancer (127.0.0.1, trusted).
    Object.defineProperty(socket, 'remoteAddress', { get: () => '127.0.0.1' });
    expect(socket.remoteAddress).toBe('127.0.0.1');
    const req = { socket, rawHeaders: ['X-Forwarded-For', '6.6.6.6'] } as unknown as IncomingMessage;
    expect(requestClient(req, trusts(['127.0.0.1']), true)).toMatchObject({ address: '203.0.113.9', port: 40001 });
  });
});
