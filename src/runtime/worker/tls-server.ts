/** The worker's https server: its TLS options from its generation's material and `cert_reqs`. */
import type { ServerOptions as HttpOptions } from 'node:http';
import type { Server } from 'node:https';
import type { TlsOptions } from 'node:tls';
import type { ResolvedSettings } from '../../config/options.generated.ts';
import { opensslWords, type TlsMaterial } from '../../config/tls-files.ts';
import { HostdError } from '../../errors.ts';
import { printablePath } from '../../paths.ts';

export function tlsServerOptions(settings: Pick<ResolvedSettings, 'cert_reqs'>, material: TlsMaterial): TlsOptions {
  const asking = settings.cert_reqs !== 'none';
  return {
    cert: material.cert,
    key: material.key,
    // Only these CAs (none at all without them): without `ca`, Node would trust its public roots for client certificates too.
    ...(asking ? { ca: material.ca ?? [] } : {}),
    requestCert: asking,
    // "optional" serves a client whose certificate is missing or unsigned; it is told apart by `authorized`.
    rejectUnauthorized: settings.cert_reqs === 'required',
  };
}

/**
 * The https server. What node:tls alone refuses (a key too weak for OpenSSL's security level:
 * the primary's checks leave it to here, `hostd check` finds it too) fails the boot with the
 * files named, not OpenSSL's words alone.
 */
export function createHttpsServer(options: HttpOptions, settings: Pick<ResolvedSettings, 'cert_reqs' | 'certfile' | 'keyfile'>, material: TlsMaterial): Server {
  // node:https (and TLS with it, ~7 ms) is loaded only by a worker that serves HTTPS.
  const https = process.getBuiltinModule('node:https');
  try {
    return https.createServer({ ...options, ...tlsServerOptions(settings, material) });
  } catch (error) {
    const files = `${printablePath(settings.certfile ?? '(certfile)')} with ${printablePath(settings.keyfile ?? '(keyfile)')}`;
    throw new HostdError('HOSTD_ERR_CONFIG_INVALID', `certfile: Node cannot serve ${files}: ${opensslWords(error)}`, { cause: error });
  }
}
