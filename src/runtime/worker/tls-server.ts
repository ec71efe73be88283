/** The https server's TLS options, from its generation's material and `cert_reqs`. */
import type { TlsOptions } from 'node:tls';
import type { ResolvedSettings } from '../../config/options.generated.ts';
import type { TlsMaterial } from '../../config/tls-files.ts';

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
