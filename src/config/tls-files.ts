/**
 * The TLS files a config names (`certfile`, `keyfile`, `ca_certs`), read and judged once
 * when the config resolves: at `hostd check`, at the start and at every reload. What was
 * judged is what the workers of that generation serve with (they get the text, not the
 * paths), so a file replaced after the reload changes nothing until the next one, and a
 * pair that does not match fails the reload instead of every new worker's boot.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { displayPath } from '../paths.ts';
import { counted } from '../text.ts';

/** A generation's TLS material, as PEM text. */
export interface TlsMaterial {
  /** The certificate chain (`certfile`). */
  readonly cert: string;
  /** Its private key (`keyfile`). */
  readonly key: string;
  /** The CAs of client certificates (`ca_certs`), or null when clients are not asked for one. */
  readonly ca: string | null;
}

/** The settings read here. */
type TlsSettings = { readonly certfile: string | null; readonly keyfile: string | null; readonly ca_certs: string | null };

/** A problem with one of them. */
export interface TlsProblem {
  readonly name: keyof TlsSettings;
  readonly message: string;
}

/** A PEM file is a few kilobytes; a CA bundle of every public CA is some 200 KB. More is not one. */
const MAX_PEM_BYTES = 4 * 2 ** 20;

const READ_FAILURES: Readonly<Record<string, string>> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EISDIR: 'it is a folder',
  ENOTDIR: 'a folder on its path is a file',
  ELOOP: 'too many symbolic links',
};

/** A PEM block: its label and its whole text. */
const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;

/** OpenSSL's words, without the `error:0480006C:PEM routines::` prefix. */
export function opensslWords(error: unknown): string {
  return ((error as Error).message ?? String(error)).replace(/^error:[0-9A-F]+:[^:]*:[^:]*:/, '');
}

/**
 * Reads a whole file as text, or says why it cannot: only a regular file, which a read
 * always finishes (a FIFO or a device could block the primary, or never end).
 */
function readPemFile(path: string): { readonly text: string } | { readonly problem: string } {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    return { problem: READ_FAILURES[code] ?? `${code || opensslWords(error)}` };
  }
  try {
    const stats = fstatSync(fd);
    if (stats.isDirectory()) return { problem: 'it is a folder' };
    if (!stats.isFile()) return { problem: 'it is not a regular file' };
    if (stats.size > MAX_PEM_BYTES) return { problem: `it is larger than ${MAX_PEM_BYTES / 2 ** 20} MiB, which no PEM file of certificates is` };
    const buffer = Buffer.alloc(stats.size);
    let length = 0;
    while (length < buffer.length) {
      const n = readSync(fd, buffer, length, buffer.length - length, length);
      if (n === 0) break;
      length += n;
    }
    return { text: buffer.toString('utf8', 0, length) };
  } catch (error) {
    return { problem: (error as NodeJS.ErrnoException).code ?? opensslWords(error) };
  } finally {
    closeSync(fd);
  }
}

/** The PEM blocks of a text, with their labels. */
function pemBlocks(text: string): { readonly label: string; readonly pem: string }[] {
  return [...text.matchAll(PEM_BLOCK)].map((match) => ({ label: match[1]!, pem: match[0] }));
}

const CERTIFICATE_LABELS = new Set(['CERTIFICATE', 'TRUSTED CERTIFICATE', 'X509 CERTIFICATE']);

/** The certificates of a PEM text, or what is wrong with it (phrased to follow "PATH "). */
function certificates(text: string): { readonly certs: X509Certificate[] } | { readonly problem: string } {
  const blocks = pemBlocks(text);
  if (blocks.length === 0) return { problem: 'holds no PEM certificate (no -----BEGIN CERTIFICATE----- line)' };
  const certs: X509Certificate[] = [];
  for (const [index, block] of blocks.entries()) {
    const which = blocks.length === 1 ? 'its PEM block' : `its PEM block ${index + 1}`;
    if (!CERTIFICATE_LABELS.has(block.label)) return { problem: `holds ${/PRIVATE KEY/.test(block.label) ? 'a private key' : 'something else'} (${which} is ${block.label}), not certificates` };
    try {
      certs.push(new X509Certificate(block.pem));
    } catch (error) {
      return { problem: `is not a valid certificate: ${which} cannot be read (${opensslWords(error)})` };
    }
  }
  return { certs };
}

/** The private key of a PEM text, or what is wrong with it. */
function privateKey(text: string): { readonly key: KeyObject } | { readonly problem: string } {
  // Told by its PEM header (PKCS#8's label, or the traditional format's Proc-Type): OpenSSL's words for it vary by version.
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|^Proc-Type: 4,ENCRYPTED/m.test(text)) {
    return { problem: 'is encrypted: hostd needs the key without a passphrase (write one with `openssl pkey -in KEY -out PLAIN`)' };
  }
  try {
    return { key: createPrivateKey(text) };
  } catch (error) {
    return { problem: `is not a PEM private key (${opensslWords(error)})` };
  }
}

/**
 * Reads and judges the TLS files of `settings`: each must be readable, `certfile` must hold
 * certificates and `keyfile` the private key of the first of them, and `ca_certs` a CA
 * certificate at least (the CAs that sign client certificates). `asWorkers`: also what
 * node:tls would refuse (`hostd check`; the primary leaves that to the workers' boot, which
 * a reload survives, rather than hold its event loop for it). Returns the material, or the
 * problems, each naming its setting; paths are shown relative to `cwd`.
 */
export function readTlsMaterial(settings: TlsSettings, cwd: string, options: { readonly asWorkers: boolean }): { readonly material: TlsMaterial | null; readonly problems: TlsProblem[] } {
  if (settings.certfile === null || settings.keyfile === null) return { material: null, problems: [] };
  const problems: TlsProblem[] = [];
  const shown = (path: string) => displayPath(path, cwd);
  const issue = (name: TlsProblem['name'], message: string) => problems.push({ name, message });
  const read = (name: TlsProblem['name'], path: string): string | null => {
    const result = readPemFile(path);
    if ('problem' in result) {
      issue(name, `cannot read ${shown(path)}: ${result.problem}`);
      return null;
    }
    return result.text;
  };

  const certText = read('certfile', settings.certfile);
  const keyText = read('keyfile', settings.keyfile);
  const caText = settings.ca_certs === null ? null : read('ca_certs', settings.ca_certs);

  const chain = certText === null ? null : certificates(certText);
  if (chain !== null && 'problem' in chain) issue('certfile', `${shown(settings.certfile)} ${chain.problem}`);
  const key = keyText === null ? null : privateKey(keyText);
  if (key !== null && 'problem' in key) issue('keyfile', `${shown(settings.keyfile)} ${key.problem}`);
  if (chain !== null && 'certs' in chain && key !== null && 'key' in key && !chain.certs[0]!.checkPrivateKey(key.key)) {
    issue('keyfile', `${shown(settings.keyfile)} is not the private key of the certificate in certfile ${shown(settings.certfile)}: they do not match (replace both together)`);
  }
  if (caText !== null) {
    const cas = certificates(caText);
    if ('problem' in cas) issue('ca_certs', `${shown(settings.ca_certs!)} is not a bundle of CA certificates: it ${cas.problem}`);
    else if (!cas.certs.some((cert) => cert.ca)) {
      const which = cas.certs.length === 1 ? 'its certificate is not' : `none of its ${counted(cas.certs.length, 'certificate')} is`;
      issue('ca_certs', `${shown(settings.ca_certs!)} is not a bundle of CA certificates: ${which} a CA (basicConstraints CA:TRUE), so it cannot have signed a client certificate`);
    }
  }
  if (problems.length > 0 || certText === null || keyText === null) return { material: null, problems };
  const material: TlsMaterial = { cert: certText, key: keyText, ca: caText };
  if (options.asWorkers) {
    const problem = secureContextProblem(material);
    if (problem !== null) issue('certfile', `Node cannot serve ${shown(settings.certfile)} with ${shown(settings.keyfile)}: ${problem}`);
  }
  return problems.length > 0 ? { material: null, problems } : { material, problems };
}

/**
 * What node:tls refuses in `material`, as a worker's https server would meet it (a key too
 * weak for OpenSSL's security level), or null. Only where time allows: the first secure
 * context of a process costs some 50 ms of OpenSSL setup.
 */
export function secureContextProblem(material: TlsMaterial): string | null {
  const { createSecureContext } = process.getBuiltinModule('node:tls');
  try {
    createSecureContext({ cert: material.cert, key: material.key, ...(material.ca === null ? {} : { ca: material.ca }) });
    return null;
  } catch (error) {
    return opensslWords(error);
  }
}
