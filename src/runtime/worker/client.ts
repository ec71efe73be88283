/**
 * The client of a request as hostd understands it (`ctx.client`, `host.client(req)`, the
 * access log's `%(h)s`): computed once per request, and only when something asks, so a
 * request path that never asks pays nothing.
 */
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { type Client, clientOf } from '../proxy/forwarded.ts';
import { proxiedOf } from '../proxy/intake.ts';
import type { Trusts } from '../proxy/trusted.ts';
import { clientVerified } from './tls-client.ts';

export type { Client } from '../proxy/forwarded.ts';

const known = new WeakMap<IncomingMessage, Client>();

/** The client of `req`, believing forwarding headers from the peers `trusts` allows. */
export function requestClient(req: IncomingMessage, trusts: Trusts): Client {
  let client = known.get(req);
  if (client === undefined) {
    const socket = req.socket;
    const scheme = (socket as TLSSocket).encrypted === true || proxiedOf(socket)?.tls === true ? 'https' : 'http';
    client = Object.freeze({ ...clientOf(req.headers, { address: socket.remoteAddress, port: socket.remotePort }, scheme, trusts), verified: clientVerified(socket) });
    known.set(req, client);
  }
  return client;
}
