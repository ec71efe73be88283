/** The worker's TLS options (tls-server.ts) and what it says of a client (tls-client.ts); the handshakes themselves: test/runtime/mtls.test.ts. */
import { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { clientVerified } from '../../../src/runtime/worker/tls-client.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHttpsServer, tlsServerOptions } from '../../../src/runtime/worker/tls-server.ts';
import { REPO } from '../../helpers/project.ts';

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

describe('createHttpsServer', () => {
  it('names the files when node:tls refuses them', () => {
    const tls = join(REPO, 'test', 'fixtures', 'tls');
    const material = { cert: readFileSync(join(tls, 'weak-cert.pem'), 'utf8'), key: readFileSync(join(tls, 'weak-key.pem'), 'utf8'), ca: null };
    expect(() => createHttpsServer({}, { cert_reqs: 'none', certfile: '/srv/tls/weak.pem', keyfile: '/srv/tls/weak-key.pem' }, material)).toThrow(
      'certfile: Node cannot serve /srv/tls/weak.pem with /srv/tls/weak-key.pem: ee key too small',
    );
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
