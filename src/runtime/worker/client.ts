/**
 * The client of a request as hostd understands it (`ctx.client`, `host.client(req)`, the
 * access log's `%(h)s`): computed once per request, and only when something asks, so a
 * request path that never asks pays nothing.
 */
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { type Client, clientOf, forwardingHeaders } from '../proxy/forwarded.ts';
import { proxiedOf } from '../proxy/intake.ts';
import type { Trusts } from '../proxy/trusted.ts';
import { clientVerified } from './tls-client.ts';

export type { Client } from '../proxy/forwarded.ts';

/** Where a request keeps its client once computed: a WeakMap entry per request cost about 0.8 µs more (its set, and the collector's work on it). */
const CLIENT = Symbol('hostd.client');
type KnownRequest = IncomingMessage & { [CLIENT]?: Client };

/** The client of `req`, believing forwarding headers from the peers `trusts` allows (and, under `proxy_protocol`, the client a PROXY header named). */
export function requestClient(req: IncomingMessage, trusts: Trusts, proxyProtocol: boolean): Client {
  let client = (req as KnownRequest)[CLIENT];
  if (client === undefined) {
    const socket = req.socket;
    const proxied = proxyProtocol ? proxiedOf(socket) : undefined;
    const scheme = (socket as TLSSocket).encrypted === true || proxied?.tls === true ? 'https' : 'http';
    // The peer a PROXY header named, as hostd recorded it: what decides trust does not rest on how Node shows the socket's peer.
    const peer = proxied?.client ?? { address: socket.remoteAddress, port: socket.remotePort };
    const found = clientOf(forwardingHeaders(req.rawHeaders), peer, scheme, trusts);
    // Fields written out: V8 builds an object spread on its slow path.
    client = Object.freeze({ address: found.address, port: found.port, proto: found.proto, verified: clientVerified(socket) });
    (req as KnownRequest)[CLIENT] = client;
  }
  return client;
}
