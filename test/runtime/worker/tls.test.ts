/** The worker's TLS options (tls-server.ts) and what it says of a client (tls-client.ts); the handshakes themselves: test/runtime/mtls.test.ts. */
import { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { clientVerified } from '../../../src/runtime/worker/tls-client.ts';
import { tlsServerOptions } from '../../../src/runtime/worker/tls-server.ts';

const material = { cert: 'CERT', key: 'KEY', ca: 'CA' };

describe('tlsServerOptions', () => {
  it('asks for a client certificate only with cert_reqs, refuses an unverified one only when required', () => {
    expect(tlsServerOptions({ cert_reqs: 'none' }, { ...material, ca: null })).toEqual({ cert: 'CERT', key: 'KEY', requestCert: false, rejectUnauthorized: false });
    expect(tlsServerOptions({ cert_reqs: 'optional' }, material)).toEqual({ cert: 'CERT', key: 'KEY', ca: 'CA', requestCert: true, rejectUnauthorized: false });
    expect(tlsServerOptions({ cert_reqs: 'required' }, material)).toEqual({ cert: 'CERT', key: 'KEY', ca: 'CA', requestCert: true, rejectUnauthorized: true });
  });

  it('trusts no CA at all rather than Node’s public ones when asked without ca_certs (the config rules keep that from happening)', () => {
    expect(tlsServerOptions({ cert_reqs: 'required' }, { ...material, ca: null })).toMatchObject({ ca: [], requestCert: true });
  });
});

describe('clientVerified', () => {
  it('is null without TLS, and otherwise what the handshake decided', () => {
    expect(clientVerified(new Socket())).toBeNull();
    const tls = new TLSSocket(new Socket(), { isServer: true });
    expect(clientVerified(tls)).toBe(false);
    tls.authorized = true;
    expect(clientVerified(tls)).toBe(true);
    tls.destroy();
  });
});
