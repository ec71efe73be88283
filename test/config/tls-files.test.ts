/** The TLS files of a config, read and judged (config/tls-files.ts), with the fixtures of test/fixtures/tls. */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readTlsMaterial } from '../../src/config/tls-files.ts';
import { REPO, tempDir } from '../helpers/project.ts';

const TLS = join(REPO, 'test', 'fixtures', 'tls');
const at = (name: string) => join(TLS, name);
const text = (name: string) => readFileSync(at(name), 'utf8');

/** The problems of these settings, as `name: message` lines, paths shown from the fixtures' folder. */
async function problems(certfile: string, keyfile: string, ca_certs: string | null = null): Promise<string[]> {
  const { problems } = readTlsMaterial({ certfile, keyfile, ca_certs }, TLS, { asWorkers: true });
  return problems.map(({ name, message }) => `${name}: ${message}`);
}

describe('readTlsMaterial', () => {
  it('returns the text of a pair that matches and of a CA bundle', async () => {
    expect(readTlsMaterial({ certfile: at('cert.pem'), keyfile: at('key.pem'), ca_certs: at('ca.pem') }, TLS, { asWorkers: true })).toEqual({
      material: { cert: text('cert.pem'), key: text('key.pem'), ca: text('ca.pem') },
      problems: [],
    });
    expect(readTlsMaterial({ certfile: at('next-cert.pem'), keyfile: at('next-key.pem'), ca_certs: null }, TLS, { asWorkers: true })).toMatchObject({ material: { ca: null }, problems: [] });
  });

  it('reads nothing without certfile and keyfile', async () => {
    expect(readTlsMaterial({ certfile: null, keyfile: null, ca_certs: null }, TLS, { asWorkers: true })).toEqual({ material: null, problems: [] });
  });

  it('refuses a key that is not the certificate’s, of the same type or another', async () => {
    // Both EC P-256: the types agree, the keys do not.
    expect(await problems(at('next-cert.pem'), at('client-key.pem'))).toEqual([
      'keyfile: client-key.pem is not the private key of the certificate in certfile next-cert.pem: they do not match (replace both together)',
    ]);
    // RSA certificate, EC key: OpenSSL itself would take them (a key slot per type), and serve nothing.
    expect(await problems(at('cert.pem'), at('next-key.pem'))).toEqual([
      'keyfile: next-key.pem is not the private key of the certificate in certfile cert.pem: they do not match (replace both together)',
    ]);
  });

  it('names each file that cannot be read, and why', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'folder.pem'));
    // A device (or a FIFO) is never read: a read could block the primary, or never end.
    expect(await problems(join(dir, 'gone.pem'), join(dir, 'folder.pem'), '/dev/zero')).toEqual([
      `certfile: cannot read ${join(dir, 'gone.pem')}: no such file`,
      `keyfile: cannot read ${join(dir, 'folder.pem')}: it is a folder`,
      'ca_certs: cannot read /dev/zero: it is not a regular file',
    ]);
  });

  it('says what a file holds instead of what it should', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'empty.pem'), '');
    writeFileSync(join(dir, 'broken.pem'), '-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n');
    expect(await problems(at('key.pem'), at('cert.pem'))).toEqual([
      'certfile: key.pem holds a private key (its PEM block is PRIVATE KEY), not certificates',
      expect.stringMatching(/^keyfile: cert\.pem is not a PEM private key \(.+\)$/),
    ]);
    expect(await problems(join(dir, 'empty.pem'), at('key.pem'))).toEqual([`certfile: ${join(dir, 'empty.pem')} holds no PEM certificate (no -----BEGIN CERTIFICATE----- line)`]);
    expect(await problems(join(dir, 'broken.pem'), at('key.pem'))).toEqual([expect.stringMatching(/^certfile: .*broken\.pem is not a valid certificate: its PEM block cannot be read \(.+\)$/)]);
    expect(await problems(at('next-cert.pem'), at('encrypted-key.pem'))).toEqual([
      `keyfile: encrypted-key.pem is encrypted: hostd needs the key without a passphrase (write one with \`openssl pkey -in KEY -out PLAIN\`)`,
    ]);
  });

  it('with asWorkers, also what node:tls refuses: a key too weak for OpenSSL to serve with', () => {
    const weak = { certfile: at('weak-cert.pem'), keyfile: at('weak-key.pem'), ca_certs: null };
    expect(readTlsMaterial(weak, TLS, { asWorkers: true })).toEqual({ material: null, problems: [{ name: 'certfile', message: 'Node cannot serve weak-cert.pem with weak-key.pem: ee key too small' }] });
    // The primary leaves it to the workers' boot (tls-server.ts), which names the files too.
    expect(readTlsMaterial(weak, TLS, { asWorkers: false })).toMatchObject({ material: { cert: text('weak-cert.pem') }, problems: [] });
  });

  it('takes a CA bundle with a CA among leaf certificates, and refuses one without a CA', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'mixed.pem'), text('client.pem') + text('ca.pem'));
    writeFileSync(join(dir, 'leaves.pem'), text('client.pem') + text('other-client.pem'));
    expect(await problems(at('cert.pem'), at('key.pem'), join(dir, 'mixed.pem'))).toEqual([]);
    expect(await problems(at('cert.pem'), at('key.pem'), join(dir, 'leaves.pem'))).toEqual([
      `ca_certs: ${join(dir, 'leaves.pem')} is not a bundle of CA certificates: none of its 2 certificates is a CA (basicConstraints CA:TRUE), so it cannot have signed a client certificate`,
    ]);
    expect(await problems(at('cert.pem'), at('key.pem'), at('client-key.pem'))).toEqual([
      'ca_certs: client-key.pem is not a bundle of CA certificates: it holds a private key (its PEM block is PRIVATE KEY), not certificates',
    ]);
  });
});
