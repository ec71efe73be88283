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

/** Where a socket keeps what its PROXY header said: a WeakMap entry per connection cost its set and the collector's ephemeron work (perf, 2026-12-07: 0.6 µs a connection). */
const PROXIED = Symbol('hostd.proxied');
type ProxiedSocket = Socket & { [PROXIED]?: Proxied; _parent?: ProxiedSocket | null };

/** What the PROXY header of this socket (or of the TCP socket a TLS socket runs on) said, if it had one. */
export function proxiedOf(socket: Socket): Proxied | undefined {
  return (socket as ProxiedSocket)[PROXIED] ?? (socket as ProxiedSocket)._parent?.[PROXIED];
}

/** Makes the socket show the client the header named (a LOCAL or UNKNOWN header keeps the peer's own address). */
export function applyProxyHeader(socket: Socket, header: ProxyHeader): void {
  (socket as ProxiedSocket)[PROXIED] = { client: header.source, tls: header.tls === true };
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

/** The native call takeProxyHeader makes (runtime/native.ts). */
export interface SocketBytes {
  intake(fd: number, window: Buffer): number;
}

/**
 * What takeProxyHeader found. `rest`: the bytes it read past the header (or all it read, from
 * a peer that sends none), which the server must get first. `wait`: the header is not all
 * there; `read` is what came of it, and the reader goes on from there.
 */
export type Taken =
  | { readonly state: 'done'; readonly header: ProxyHeader; readonly rest: Buffer }
  | { readonly state: 'error'; readonly reason: string }
  | { readonly state: 'wait'; readonly read: Buffer }
  | { readonly state: 'untrusted'; readonly rest: Buffer };

const NOTHING = Buffer.alloc(0);
const WAIT: Taken = { state: 'wait', read: NOTHING };
const UNTRUSTED: Taken = { state: 'untrusted', rest: NOTHING };

/** The peer's address as the native intake() writes it, at the end of its window: family (4, 6, 0), a pad byte, the port, 4 or 16 address bytes. */
const PEER_BYTES = 20;
// Where a worker reads each new connection's first bytes: one Buffer for the process (what is kept is copied out).
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

/** A copy of window[from, to): the window is the next connection's. */
function copied(from: number, to: number): Buffer {
  if (to <= from) return NOTHING;
  const bytes = Buffer.allocUnsafe(to - from);
  window.copy(bytes, 0, from, to);
  return bytes;
}

/**
 * The PROXY header of a new connection read straight off its file descriptor before the socket
 * read anything: the peer and the bytes waiting in one native call, which reads them as the
 * server would have (one read, no stream), so a header costs about what its parse does. The
 * bytes after the header (or all of them, from a peer forwarded_allow_ips does not trust) go to
 * the server first. `wait` when the header is not all there yet, or cannot be had so (the
 * socket already read, no descriptor, no native helper): readProxyHeader goes on from what was read.
 */
export function takeProxyHeader(socket: Socket, bytes: SocketBytes | null, trusts: Trusts): Taken {
  const fd = (socket as Socket & { _handle?: { fd?: number } | null })._handle?.fd;
  // Bytes the socket read are the header's first: what is still in the kernel is not where it starts. Without the native helper, all goes through the stream.
  if (bytes === null || fd === undefined || fd < 0 || socket.bytesRead > 0 || socket.readableLength > 0) return trusts(socket.remoteAddress) ? WAIT : UNTRUSTED;
  let read: number;
  try {
    read = bytes.intake(fd, window);
  } catch (error) {
    // A connection reset before the worker looked at it (a scanner, a client that gave up while queued).
    return { state: 'error', reason: `the connection failed before its PROXY protocol header: ${(error as Error).message}` };
  }
  if (!peerTrusted(socket, trusts)) return read > 0 ? { state: 'untrusted', rest: copied(0, read) } : UNTRUSTED;
  if (read < 0) return WAIT;
  if (read === 0) return { state: 'error', reason: 'the connection ended before its PROXY protocol header' };
  const parsed = parseProxyHeader(window, read);
  if (parsed.state === 'more') return { state: 'wait', read: copied(0, read) };
  if (parsed.state === 'error') return parsed;
  return { state: 'done', header: parsed.header, rest: copied(parsed.length, read) };
}

/**
 * Reads the header off `socket` (flowing), after `read` (its first bytes, read already), then
 * calls `done` with it and the bytes that came after it; or `fail` with why (the socket is left
 * for the caller to destroy). Nothing more is read by this reader once it answered.
 */
export function readProxyHeader(socket: Socket, limitMs: number, done: (header: ProxyHeader, rest: Buffer) => void, fail: (reason: string) => void, read: Buffer = NOTHING): void {
  let bytes: Buffer = read;
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
