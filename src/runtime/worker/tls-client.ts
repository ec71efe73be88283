/**
 * Whether a request's client proved who it is with a certificate (mutual TLS, `cert_reqs`):
 * the one rule, for every place that tells it (the request hooks' `ctx.client`).
 */
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';

/**
 * True when the client sent a certificate that a CA of `ca_certs` signed (checked in the
 * handshake); false when it sent none, or one no CA there signed (`cert_reqs: "optional"`
 * serves it anyway), or when the worker asks for none; null on a connection without TLS.
 */
export function clientVerified(socket: Socket): boolean | null {
  if ((socket as Partial<TLSSocket>).encrypted !== true) return null;
  // Node sets `authorized` from OpenSSL's verification of the peer's chain; without a certificate it stays false.
  return (socket as TLSSocket).authorized === true;
}
