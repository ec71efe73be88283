/**
 * Mutual TLS (`ca_certs`, `cert_reqs`) through `hostd run`, with the certificates of
 * test/fixtures/tls (make-mtls.sh): a client certificate the CA signed, none, and one from
 * another CA, under "required" and "optional"; and the TLS files on SIGHUP: a certificate
 * replaced on disk is served to new connections, a pair that does not match fails the reload
 * and the old material keeps serving.
 */
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hostd } from '../helpers/cli.ts';
import { project, REPO } from '../helpers/project.ts';
import { records, startHostd } from '../helpers/run.ts';

const TLS = join(REPO, 'test', 'fixtures', 'tls');
const fixture = (name: string) => readFileSync(join(TLS, name));

/** The app answers with the client certificate's subject it read from the socket and what host.client says; pre_request records what ctx.client says. */
const APP = "import { host } from 'hostd';\nexport default (req, res) => { const cert = req.socket.getPeerCertificate(); res.end('cn=' + (cert.subject?.CN ?? 'none') + ' verified=' + host.client(req).verified); };\n";
const SERVER_PAIR = "certfile: './tls/cert.pem', keyfile: './tls/key.pem',";
const config = (more: string, pair: string) => `import { appendFileSync } from 'node:fs';
export default {
  app: './app.mjs', bind: '127.0.0.1:0', workers: 1,
  ${pair} ${more}
  pre_request: ({ client }) => appendFileSync(new URL('./seen.log', import.meta.url), 'verified=' + client.verified + '\\n'),
};
`;

/** A project with the server's pair, the CA and a client's pair in tls/. */
function tlsProject(more: string, pair = SERVER_PAIR): string {
  const dir = project({ 'app.mjs': APP, 'hostd.config.ts': config(more, pair) });
  mkdirSync(join(dir, 'tls'));
  for (const file of ['cert.pem', 'key.pem', 'ca.pem', 'client.pem', 'client-key.pem', 'weak-cert.pem', 'weak-key.pem']) copyFileSync(join(TLS, file), join(dir, 'tls', file));
  return dir;
}

type Client = 'ca-signed' | 'none' | 'other-ca';
const CLIENTS: Record<Client, { cert?: Buffer; key?: Buffer }> = {
  'ca-signed': { cert: fixture('client.pem'), key: fixture('client-key.pem') },
  none: {},
  'other-ca': { cert: fixture('other-client.pem'), key: fixture('other-client-key.pem') },
};

/** One request on a connection of its own, trusting `serverCa`: the answer and the server certificate's fingerprint, or the error. */
function get(url: string, client: Client, serverCa: Buffer = fixture('cert.pem')): Promise<{ body: string; server: string } | { error: string }> {
  return new Promise((resolve) => {
    const req = request(url, { ca: serverCa, servername: 'localhost', agent: false, ...CLIENTS[client] }, (res) => {
      const server = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ body, server }));
      res.on('error', (error) => resolve({ error: error.message }));
    });
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
    req.end();
  });
}

const fingerprint = (name: string) => new X509Certificate(fixture(name)).fingerprint256;

describe('mutual TLS', () => {
  it('cert_reqs "required": a client certificate the CA signed is served and verified; none, or one from another CA, is refused at the handshake', async () => {
    const dir = tlsProject("ca_certs: './tls/ca.pem', cert_reqs: 'required', loglevel: 'debug',");
    const run = startHostd(dir);
    const url = await run.ready();
    expect(await get(url, 'ca-signed')).toEqual({ body: 'cn=client one verified=true', server: fingerprint('cert.pem') });
    // TLS 1.3: the server refuses after the client's Finished, so the client learns it as the request's error.
    expect(await get(url, 'none')).toEqual({ error: expect.stringMatching(/CERTIFICATE_REQUIRED/) });
    expect(await get(url, 'other-ca')).toEqual({ error: expect.stringMatching(/ECONNRESET|UNKNOWN_CA/) });
    // Served again after the refusals; the hooks saw the verified requests only.
    expect(await get(url, 'ca-signed')).toMatchObject({ body: 'cn=client one verified=true' });
    expect(records(join(dir, 'seen.log'))).toEqual(['verified=true', 'verified=true']);
    // Each refusal is logged (at debug level) with the peer and OpenSSL's reason.
    await run.waitForOutput(/a TLS handshake from 127\.0\.0\.1 failed: .*(CERTIFICATE|certificate)/);
    expect((await run.stop()).code).toBe(0);
  });

  it('cert_reqs "optional": every client is served; only the one the CA signed is verified', async () => {
    const dir = tlsProject("ca_certs: './tls/ca.pem', cert_reqs: 'optional',");
    const run = startHostd(dir);
    const url = await run.ready();
    expect(await get(url, 'ca-signed')).toMatchObject({ body: 'cn=client one verified=true' });
    expect(await get(url, 'none')).toMatchObject({ body: 'cn=none verified=false' });
    expect(await get(url, 'other-ca')).toMatchObject({ body: 'cn=client of another CA verified=false' });
    expect(records(join(dir, 'seen.log'))).toEqual(['verified=true', 'verified=false', 'verified=false']);
  });

  it('cert_reqs "none" (the default) asks for no certificate: verified is false over TLS', async () => {
    const dir = tlsProject('');
    const run = startHostd(dir);
    const url = await run.ready();
    expect(await get(url, 'ca-signed')).toMatchObject({ body: 'cn=none verified=false' });
    expect(records(join(dir, 'seen.log'))).toEqual(['verified=false']);
  });

  it('hostd check names the key: a pair that does not match, a file that cannot be read, a ca_certs that is no CA bundle', async () => {
    const cases: [string, string, RegExp][] = [
      ["certfile: './tls/cert.pem', keyfile: './tls/client-key.pem',", '', /^hostd\.config\.ts: keyfile: tls\/client-key\.pem is not the private key of the certificate in certfile tls\/cert\.pem: they do not match/m],
      ["certfile: './tls/gone.pem', keyfile: './tls/key.pem',", '', /^hostd\.config\.ts: certfile: cannot read tls\/gone\.pem: no such file$/m],
      ["certfile: './tls/weak-cert.pem', keyfile: './tls/weak-key.pem',", '', /^hostd\.config\.ts: certfile: Node cannot serve tls\/weak-cert\.pem with tls\/weak-key\.pem: ee key too small$/m],
      [SERVER_PAIR, "ca_certs: './tls/client-key.pem', cert_reqs: 'optional',", /^hostd\.config\.ts: ca_certs: tls\/client-key\.pem is not a bundle of CA certificates: it holds a private key \(its PEM block is PRIVATE KEY\), not certificates$/m],
      [SERVER_PAIR, "ca_certs: './tls/client.pem', cert_reqs: 'optional',", /^hostd\.config\.ts: ca_certs: tls\/client\.pem is not a bundle of CA certificates: its certificate is not a CA/m],
      [SERVER_PAIR, "cert_reqs: 'required',", /^hostd\.config\.ts: cert_reqs: cert_reqs "required" needs ca_certs/m],
      [SERVER_PAIR, "ca_certs: './tls/ca.pem',", /^hostd\.config\.ts: ca_certs: ca_certs has no effect with cert_reqs "none"/m],
    ];
    for (const [pair, more, expected] of cases) {
      const result = await hostd(['check', '--no-app'], { cwd: tlsProject(more, pair) });
      expect({ code: result.code, stderr: result.stderr }, `${pair} ${more}`).toEqual({ code: 1, stderr: expect.stringMatching(expected) });
    }
  });

  it('SIGHUP: a certificate replaced on disk is served to new connections; a pair that does not match, or that OpenSSL refuses, fails the reload and the old pair keeps serving', async () => {
    const dir = tlsProject('');
    const run = startHostd(dir);
    const url = await run.ready();
    expect(await get(url, 'none')).toMatchObject({ server: fingerprint('cert.pem') });

    copyFileSync(join(TLS, 'next-cert.pem'), join(dir, 'tls', 'cert.pem'));
    copyFileSync(join(TLS, 'next-key.pem'), join(dir, 'tls', 'key.pem'));
    run.signal('SIGHUP');
    await run.waitForOutput(/reloaded: generation 2 is serving/);
    expect(await get(url, 'none', fixture('next-cert.pem'))).toEqual({ body: 'cn=none verified=false', server: fingerprint('next-cert.pem') });

    // Half a replacement: the old key beside the new certificate.
    copyFileSync(join(TLS, 'key.pem'), join(dir, 'tls', 'key.pem'));
    run.signal('SIGHUP');
    await run.waitForOutput(/reload: the config is invalid; nothing changed:\nhostd\.config\.ts: keyfile: tls\/key\.pem is not the private key of the certificate in certfile tls\/cert\.pem/);
    expect(run.output).not.toMatch(/generation 3/);
    // The material generation 2 read keeps serving, whatever is on disk.
    expect(await get(url, 'none', fixture('next-cert.pem'))).toEqual({ body: 'cn=none verified=false', server: fingerprint('next-cert.pem') });

    // A pair that matches but that OpenSSL will not serve with: the new workers cannot boot, and say why.
    copyFileSync(join(TLS, 'weak-cert.pem'), join(dir, 'tls', 'cert.pem'));
    copyFileSync(join(TLS, 'weak-key.pem'), join(dir, 'tls', 'key.pem'));
    run.signal('SIGHUP');
    await run.waitForOutput(/reload failed: worker 1 of the new generation could not boot \(see above\); generation 2 keeps serving/, 20_000);
    expect(run.output).toContain(`certfile: Node cannot serve ${join(dir, 'tls', 'cert.pem')} with ${join(dir, 'tls', 'key.pem')}: ee key too small`);
    expect(await get(url, 'none', fixture('next-cert.pem'))).toEqual({ body: 'cn=none verified=false', server: fingerprint('next-cert.pem') });
    expect((await run.stop()).code).toBe(0);
  });
});
