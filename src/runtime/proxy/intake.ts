/**
 * Reads the PROXY protocol header off a new connection, before anything else reads from it,
 * then hands the connection on with the client it names and the bytes read past the header.
 * Bounded: at most MAX_PROXY_HEADER_BYTES are buffered, and the header must come within
 * `limitMs` (`headers_timeout`).
 */
import { isIP, type Socket } from 'node:net';
import { MAX_PROXY_HEADER_BYTES, parseProxyHeader, type ProxyHeader } from './proxy-protocol.ts';

/** What a PROXY header told about a connection, kept on its socket. */
export interface Proxied {
  /** The balancer's own address, which the socket's remoteAddress no longer shows. */
  readonly peer: string | undefined;
  /** The client reached the balancer over TLS (a v2 SSL TLV). */
  readonly tls: boolean;
}

const PROXIED = Symbol('hostd.proxied');

/** What the PROXY header of this socket (or of the TCP socket a TLS socket runs on) said, if it had one. */
export function proxiedOf(socket: Socket): Proxied | undefined {
  const own = (socket as Socket & { [PROXIED]?: Proxied })[PROXIED];
  return own ?? (socket as Socket & { _parent?: (Socket & { [PROXIED]?: Proxied }) | null })._parent?.[PROXIED];
}

/** Makes the socket show the client the header named (a LOCAL or UNKNOWN header keeps the peer's own address). */
export function applyProxyHeader(socket: Socket, header: ProxyHeader): void {
  const proxied: Proxied = { peer: socket.remoteAddress, tls: header.tls === true };
  Object.defineProperty(socket, PROXIED, { value: proxied });
  if (header.source === null) return;
  showClient(socket, header.source.address, header.source.port);
}

/** The client's address and port as the socket's own (what `req.socket.remoteAddress` reads). */
export function showClient(socket: Socket, address: string, port: number): void {
  Object.defineProperties(socket, {
    remoteAddress: { value: address, configurable: true },
    remotePort: { value: port, configurable: true },
    remoteFamily: { value: isIP(address) === 6 ? 'IPv6' : 'IPv4', configurable: true },
  });
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
