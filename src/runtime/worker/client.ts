/**
 * The client of a request as hostd understands it (`ctx.client`, `host.client(req)`, the
 * access log's `%(h)s`): computed once per request, and only when something asks, so a
 * request path that never asks pays nothing.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { type Client, forwardedClient, forwardingHeaders } from '../proxy/forwarded.ts';
import { proxiedOf } from '../proxy/intake.ts';
import { plainAddress, type Trusts } from '../proxy/trusted.ts';
import { clientVerified } from './tls-client.ts';

export type { Client } from '../proxy/forwarded.ts';

/** Where a request keeps its client once computed: a WeakMap entry per request cost about 0.8 µs more (its set, and the collector's work on it). */
const CLIENT = Symbol('hostd.client');
type KnownRequest = IncomingMessage & { [CLIENT]?: Client };

/**
 * What a connection says of its client, judged on its first request that asks: its peer (or
 * the client its PROXY header named), the scheme, its TLS verdict and whether it may speak for
 * others. None of it changes while the connection lasts (a PROXY header and a TLS handshake
 * come before any request), so keep-alive requests do not judge it again.
 */
interface Peer {
  /** The peer as the client, frozen: every request of an untrusted peer gets this object. */
  readonly direct: Client;
  /** In forwarded_allow_ips: its forwarding headers are read. */
  readonly trusted: boolean;
}
const PEER = Symbol('hostd.peer');
type KnownSocket = Socket & { [PEER]?: Peer };

function peerOf(socket: Socket, trusts: Trusts, proxyProtocol: boolean): Peer {
  const proxied = proxyProtocol ? proxiedOf(socket) : undefined;
  const scheme = (socket as TLSSocket).encrypted === true || proxied?.tls === true ? 'https' : 'http';
  // The peer a PROXY header named, as hostd recorded it: what decides trust does not rest on how Node shows the socket's peer.
  const address = proxied?.client?.address ?? socket.remoteAddress;
  const port = proxied?.client?.port ?? socket.remotePort;
  const direct = Object.freeze({ address: address ? plainAddress(address) : null, port: port ?? null, proto: scheme, verified: clientVerified(socket) } satisfies Client);
  return { direct, trusted: trusts(address) };
}

/** The client of `req`, believing forwarding headers from the peers `trusts` allows (and, under `proxy_protocol`, the client a PROXY header named). */
export function requestClient(req: IncomingMessage, trusts: Trusts, proxyProtocol: boolean): Client {
  let client = (req as KnownRequest)[CLIENT];
  if (client === undefined) {
    const socket = req.socket as KnownSocket;
    const peer = socket[PEER] ?? (socket[PEER] = peerOf(socket, trusts, proxyProtocol));
    client = peer.trusted ? trustedClient(req, peer.direct, trusts) : peer.direct;
    (req as KnownRequest)[CLIENT] = client;
  }
  return client;
}

/** What a trusted peer's forwarding headers say; its own frozen client when they say nothing. */
function trustedClient(req: IncomingMessage, direct: Client, trusts: Trusts): Client {
  const found = forwardedClient(forwardingHeaders(req.rawHeaders), direct, trusts);
  // Fields written out: V8 builds an object spread on its slow path.
  return found === direct ? direct : Object.freeze({ address: found.address, port: found.port, proto: found.proto, verified: direct.verified });
}
