/**
 * Reads the PROXY protocol header off a new connection, before anything else reads from it,
 * then hands the connection on with the client it names and the bytes read past the header.
 * Bounded: at most MAX_PROXY_HEADER_BYTES are buffered, and the header must come within
 * `limitMs` (`headers_timeout`).
 */
import type { Socket } from 'node:net';
import { MAX_PROXY_HEADER_BYTES, parseProxyHeader, type ProxyHeader } from './proxy-protocol.ts';
import type { Trusts } from './trusted.ts';

/** What a PROXY header told about a connection, kept beside its socket. */
export interface Proxied {
  /** The client it named (null: a LOCAL or UNKNOWN header, whose peer is the client). hostd's own decisions read it here, not from the socket. */
  readonly client: { readonly address: string; readonly port: number } | null;
  /** The client reached the balancer over TLS (a v2 SSL TLV). */
  readonly tls: boolean;
}

// Beside the socket, not on it: a property added to a socket gives it a shape Node's http code has not seen (measured slower per request).
const proxied = new WeakMap<Socket, Proxied>();

/** What the PROXY header of this socket (or of the TCP socket a TLS socket runs on) said, if it had one. */
export function proxiedOf(socket: Socket): Proxied | undefined {
  const parent = (socket as Socket & { _parent?: Socket | null })._parent;
  return proxied.get(socket) ?? (parent ? proxied.get(parent) : undefined);
}

/** Makes the socket show the client the header named (a LOCAL or UNKNOWN header keeps the peer's own address). */
export function applyProxyHeader(socket: Socket, header: ProxyHeader): void {
  proxied.set(socket, { client: header.source, tls: header.tls === true });
  if (header.source === null) return;
  showClient(socket, header.source.address, header.source.port);
}

/**
 * The client's address and port as the socket's own, for the app (what `req.socket.remoteAddress` reads):
 * net.Socket's remoteAddress, remotePort and remoteFamily read the peer it caches in
 * `_peername` on first use (Node 20 to 26), so the client goes there, as a plain field the
 * socket gets anyway, rather than as own properties over the prototype's getters.
 */
export function showClient(socket: Socket, address: string, port: number): void {
  (socket as Socket & { _peername?: { address: string; port: number; family: string } })._peername = { address, port, family: address.includes(':') ? 'IPv6' : 'IPv4' };
}

/** The native calls takeProxyHeader needs (runtime/native.ts). */
export interface SocketBytes {
  intake(fd: number, window: Buffer): number;
  take(fd: number, count: number): number;
}

/** What takeProxyHeader found: the header, why there is none, `wait` (nothing taken; read it as it comes), or `untrusted` (a peer not in forwarded_allow_ips: no header expected). */
export type Taken =
  | { readonly state: 'done'; readonly header: ProxyHeader }
  | { readonly state: 'error'; readonly reason: string }
  | { readonly state: 'wait' }
  | { readonly state: 'untrusted' };

const WAIT: Taken = { state: 'wait' };
const UNTRUSTED: Taken = { state: 'untrusted' };

/** The peer's address as the native intake() writes it, at the end of its window: family (4, 6, 0), a pad byte, the port, 4 or 16 address bytes. */
const PEER_BYTES = 20;
// Where a worker looks at each new connection: one Buffer for the process (the parse copies what it keeps).
const window = Buffer.allocUnsafeSlow(MAX_PROXY_HEADER_BYTES + 1 + PEER_BYTES);
const PEER_AT = window.length - PEER_BYTES;

/** Whether the peer intake() wrote into the window may send a header: an IPv4 one (or IPv4-mapped, on a dual-stack listener) by its number, without a string made. */
function peerTrusted(socket: Socket, trusts: Trusts): boolean {
  const family = window[PEER_AT];
  if (family === 4) return trusts.ipv4(window.readUInt32BE(PEER_AT + 4));
  if (family === 6 && window.readUInt32BE(PEER_AT + 4) === 0 && window.readUInt32BE(PEER_AT + 8) === 0 && window.readUInt32BE(PEER_AT + 12) === 0xffff) {
    return trusts.ipv4(window.readUInt32BE(PEER_AT + 16));
  }
  return trusts(socket.remoteAddress);
}

/**
 * The header of a new connection from a peer `trusts` allows, read straight off its file
 * descriptor before the socket read anything: the peer and the bytes waiting in one native
 * call, the header parsed, and only then taken, so the server's parser reads the rest of the
 * connection natively, as if there had been no header. About 18 µs of a worker's CPU less per
 * connection than readProxyHeader, whose bytes go through the socket's JavaScript stream.
 * `wait` when it cannot be done so (the header not all there yet, the socket already read, no
 * descriptor): readProxyHeader then reads it as the bytes come; nothing was taken.
 */
export function takeProxyHeader(socket: Socket, bytes: SocketBytes, trusts: Trusts): Taken {
  const fd = (socket as Socket & { _handle?: { fd?: number } | null })._handle?.fd;
  // Bytes the socket read are the header's first: what is still in the kernel is not where it starts.
  if (fd === undefined || fd < 0 || socket.bytesRead > 0 || socket.readableLength > 0) return trusts(socket.remoteAddress) ? WAIT : UNTRUSTED;
  let waiting: number;
  try {
    waiting = bytes.intake(fd, window);
  } catch (error) {
    // A connection reset before the worker looked at it (a scanner, a client that gave up while queued).
    return { state: 'error', reason: `the connection failed before its PROXY protocol header: ${(error as Error).message}` };
  }
  if (!peerTrusted(socket, trusts)) return UNTRUSTED;
  if (waiting <= 0) return WAIT;
  const parsed = parseProxyHeader(window, waiting);
  if (parsed.state === 'more') return WAIT;
  try {
    if (parsed.state === 'error') {
      // Closing with unread bytes in the kernel resets the connection; read, the close is a clean FIN as on the stream path.
      bytes.take(fd, waiting);
      return parsed;
    }
    const taken = bytes.take(fd, parsed.length);
    // The kernel holds what was peeked: a short take means something else read the socket meanwhile.
    if (taken !== parsed.length) return { state: 'error', reason: `took ${taken} bytes of a ${parsed.length}-byte PROXY protocol header` };
  } catch (error) {
    return { state: 'error', reason: `the connection failed while its PROXY protocol header was read: ${(error as Error).message}` };
  }
  return { state: 'done', header: parsed.header };
}

/**
 * Reads the header off `socket` (flowing), then calls `done` with it and the bytes that came
 * after it; or `fail` with why (the socket is left for the caller to destroy). Nothing more is
 * read by this reader once it answered.
 */
export function readProxyHeader(socket: Socket, limitMs: number, done: (header: ProxyHeader, rest: Buffer) => void, fail: (reason: string) => void): void {
  let bytes: Buffer = Buffer.alloc(0);
  let timer: NodeJS.Timeout | undefined;
  const stop = () => {
    clearTimeout(timer);
    socket.off('data', onData);
    socket.off('end', onEnd);
    socket.off('error', onError);
  };
  const onEnd = () => {
    stop();
    fail('the connection ended before its PROXY protocol header');
  };
  // Until the server has the socket, its errors (a reset) are this reader's.
  const onError = (error: Error) => {
    stop();
    fail(`the connection failed before its PROXY protocol header: ${error.message}`);
  };
  const onData = (chunk: Buffer) => {
    bytes = bytes.length === 0 ? chunk : Buffer.concat([bytes, chunk]);
    const parsed = parseProxyHeader(bytes.length > MAX_PROXY_HEADER_BYTES ? bytes.subarray(0, MAX_PROXY_HEADER_BYTES + 1) : bytes);
    if (parsed.state === 'more') return;
    stop();
    if (parsed.state === 'error') return fail(parsed.reason);
    done(parsed.header, bytes.subarray(parsed.length));
  };
  if (limitMs > 0) {
    timer = setTimeout(() => {
      stop();
      fail(`no PROXY protocol header within headers_timeout (${limitMs / 1000} s)`);
    }, limitMs);
  }
  socket.on('data', onData);
  socket.once('end', onEnd);
  socket.once('error', onError);
}
