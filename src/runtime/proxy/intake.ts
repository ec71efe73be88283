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

/**
 * What a header that named a client makes the socket's peer: the peer cache Node's
 * remoteAddress, remotePort and remoteFamily read (`_peername`, filled on first use, Node 20
 * to 26), so the app sees the client there, and what hostd's own decisions read (`client`,
 * `tls`), in one object set once: every connection behind a TCP balancer gets one, and each
 * property a socket gains costs it a map transition, each object an allocation.
 */
class ProxiedPeer implements Proxied {
  readonly family: 'IPv4' | 'IPv6';
  readonly client: { readonly address: string; readonly port: number } = this;
  constructor(
    readonly address: string,
    readonly port: number,
    readonly tls: boolean,
  ) {
    this.family = address.includes(':') ? 'IPv6' : 'IPv4';
  }
}

/** Where a socket keeps what a header that named no client (LOCAL, UNKNOWN) said: its peer stays its own. A WeakMap entry per connection cost its set and the collector's ephemeron work (perf, 2026-12-07: 0.6 µs a connection). */
const PROXIED = Symbol('hostd.proxied');
type ProxiedSocket = Socket & { [PROXIED]?: Proxied; _peername?: object | null; _parent?: ProxiedSocket | null };

function ownProxied(socket: ProxiedSocket | null | undefined): Proxied | undefined {
  if (socket === null || socket === undefined) return undefined;
  const peer = socket._peername;
  return peer instanceof ProxiedPeer ? peer : socket[PROXIED];
}

/** What the PROXY header of this socket (or of the TCP socket a TLS socket runs on) said, if it had one. */
export function proxiedOf(socket: Socket): Proxied | undefined {
  return ownProxied(socket as ProxiedSocket) ?? ownProxied((socket as ProxiedSocket)._parent);
}

/** Makes the socket show the client the header named (a LOCAL or UNKNOWN header keeps the peer's own address). */
export function applyProxyHeader(socket: Socket, header: ProxyHeader): void {
  if (header.source === null) (socket as ProxiedSocket)[PROXIED] = { client: null, tls: header.tls === true };
  else (socket as ProxiedSocket)._peername = new ProxiedPeer(header.source.address, header.source.port, header.tls === true);
}

/** Makes a TLS socket show the client that the header on the TCP socket under it named, as that one does. */
export function showProxiedClient(socket: Socket): void {
  const proxied = ownProxied((socket as ProxiedSocket)._parent);
  if (proxied instanceof ProxiedPeer) (socket as ProxiedSocket)._peername = proxied;
}

/** The native call takeProxyHeader makes (runtime/native.ts). */
export interface SocketBytes {
  intake(fd: number, window: Buffer): number;
  discard(fd: number, count: number): number;
}

/**
 * What takeProxyHeader found. `rest`: bytes it took that the server must get first (a PROXY
 * header from a peer forwarded_allow_ips does not trust, handed on as that peer's data). `wait`:
 * the header is not all there, or cannot be had off the descriptor; nothing was taken, and
 * readProxyHeader reads it through the stream.
 */
export type Taken =
  | { readonly state: 'done'; readonly header: ProxyHeader }
  | { readonly state: 'error'; readonly reason: string }
  | { readonly state: 'wait' }
  | { readonly state: 'untrusted'; readonly rest: Buffer };

const NOTHING = Buffer.alloc(0);
const WAIT: Taken = { state: 'wait' };
const UNTRUSTED: Taken = { state: 'untrusted', rest: NOTHING };

/** What the native intake() writes at the end of its window: the peer (family 4, 6 or 0, a pad byte, the port, 4 or 16 address bytes), then how many header bytes it took (uint16). */
const TAIL_BYTES = 24;
const TAKEN_AT = 20;
// Where a worker peeks at each new connection's first bytes: one Buffer for the process (what is kept is copied out).
const window = Buffer.allocUnsafeSlow(MAX_PROXY_HEADER_BYTES + 1 + TAIL_BYTES);
const TAIL_AT = window.length - TAIL_BYTES;

/** Whether the peer intake() wrote into the window may send a header: an IPv4 one (or IPv4-mapped, on a dual-stack listener) by its number, without a string made. */
function peerTrusted(socket: Socket, trusts: Trusts): boolean {
  const family = window[TAIL_AT];
  if (family === 4) return trusts.ipv4(window.readUInt32BE(TAIL_AT + 4));
  if (family === 6 && window.readUInt32BE(TAIL_AT + 4) === 0 && window.readUInt32BE(TAIL_AT + 8) === 0 && window.readUInt32BE(TAIL_AT + 12) === 0xffff) {
    return trusts.ipv4(window.readUInt32BE(TAIL_AT + 16));
  }
  return trusts(socket.remoteAddress);
}

/** A copy of window[0, to): the window is the next connection's. */
function copied(to: number): Buffer {
  if (to <= 0) return NOTHING;
  const bytes = Buffer.allocUnsafe(to);
  window.copy(bytes, 0, 0, to);
  return bytes;
}

/**
 * The PROXY header of a new connection, read off its file descriptor before the socket read
 * anything. One native call learns the peer, peeks at the bytes waiting and, when they begin
 * with a whole header, takes just the header off the socket: the server then reads the
 * connection natively from its first own byte, as without a header (2026-12-07: about 1.5 µs
 * of CPU a connection less than reading it all and handing the request to the parser through
 * the socket's JavaScript data path, with one system call more). A header taken from a peer forwarded_allow_ips does not trust
 * goes to the server first, as that peer's data. `wait` when the header is not all there yet,
 * or cannot be had so (the socket already read, no descriptor, no native helper).
 */
export function takeProxyHeader(socket: Socket, bytes: SocketBytes | null, trusts: Trusts): Taken {
  const fd = (socket as Socket & { _handle?: { fd?: number } | null })._handle?.fd;
  // Bytes the socket read are the header's first: what is still in the kernel is not where it starts. Without the native helper, all goes through the stream.
  if (bytes === null || fd === undefined || fd < 0 || socket.bytesRead > 0 || socket.readableLength > 0) return trusts(socket.remoteAddress) ? WAIT : UNTRUSTED;
  let peeked: number;
  try {
    peeked = bytes.intake(fd, window);
  } catch (error) {
    // A connection reset before the worker looked at it (a scanner, a client that gave up while queued).
    return { state: 'error', reason: `the connection failed before its PROXY protocol header: ${(error as Error).message}` };
  }
  const taken = window.readUInt16BE(TAIL_AT + TAKEN_AT);
  if (!peerTrusted(socket, trusts)) return taken > 0 ? { state: 'untrusted', rest: copied(taken) } : UNTRUSTED;
  if (peeked < 0) return WAIT;
  if (peeked === 0) return { state: 'error', reason: 'the connection ended before its PROXY protocol header' };
  const parsed = parseProxyHeader(window, peeked);
  // Not all there, nothing taken: the stream reads it from its first byte. (A whole header intake() did not take goes that way too.)
  if (taken === 0 && parsed.state !== 'error') return WAIT;
  if (parsed.state === 'done' && parsed.length === taken) return { state: 'done', header: parsed.header };
  // What was peeked is dropped, so that closing the connection ends it rather than resets it.
  bytes.discard(fd, peeked - taken);
  // intake() found a header's end where the parser found none, or another: fail closed.
  return parsed.state === 'error' ? parsed : { state: 'error', reason: 'a PROXY protocol header whose end could not be told' };
}

/** Where a connection goes once its PROXY header is dealt with: to the server, with bytes read ahead of it (none when nothing was), or closed with why. */
export interface ProxiedIntake {
  deliver(socket: Socket, rest?: Buffer): void;
  refuse(socket: Socket, reason: string): void;
}

/**
 * `proxy_protocol`: a new connection from a peer forwarded_allow_ips trusts gets its header
 * taken first (off the descriptor when it is all there, which it mostly is when the worker
 * gets the connection; else through the stream, within `limitMs`), and shows the client it
 * names; one without a good header is refused. A peer not trusted is delivered as it came.
 */
export function intakeProxied(socket: Socket, bytes: SocketBytes | null, trusts: Trusts, limitMs: number, to: ProxiedIntake): void {
  const now = takeProxyHeader(socket, bytes, trusts);
  if (now.state === 'untrusted') return to.deliver(socket, now.rest);
  if (now.state === 'error') return to.refuse(socket, now.reason);
  if (now.state === 'done') {
    applyProxyHeader(socket, now.header);
    return to.deliver(socket);
  }
  readProxyHeader(
    socket,
    limitMs,
    (header, rest) => {
      applyProxyHeader(socket, header);
      to.deliver(socket, rest);
    },
    (reason) => to.refuse(socket, reason),
  );
}

/**
 * Reads the header off `socket` (flowing), then calls `done` with it and the bytes that came
 * after it; or `fail` with why (the socket is left for the caller to destroy). Nothing more is
 * read by this reader once it answered.
 */
export function readProxyHeader(socket: Socket, limitMs: number, done: (header: ProxyHeader, rest: Buffer) => void, fail: (reason: string) => void): void {
  let bytes: Buffer = NOTHING;
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
