import { isIP } from 'node:net';
import { printablePath } from '../paths.ts';

/** A listening address, parsed from one `bind` string. */
export type Bind =
  /** `host` is null for `:PORT` (every interface). `port` 0 asks the OS for a free port. */
  | { readonly type: 'tcp'; readonly host: string | null; readonly port: number }
  | { readonly type: 'unix'; readonly path: string }
  | { readonly type: 'fd'; readonly fd: number };

export type BindResult = { ok: true; bind: Bind } | { ok: false; reason: string };

/** The forms a bind may take, for messages and docs. */
export const BIND_FORMS = 'HOST:PORT, :PORT, [IPv6]:PORT, unix:PATH or fd://N';

const HOSTNAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/**
 * Parses `HOST:PORT`, `:PORT`, `[::1]:PORT`, `unix:PATH` and `fd://N`.
 * Never throws: a bad bind is a config problem to report with the others.
 */
export function parseBind(text: string): BindResult {
  const fail = (reason: string): BindResult => ({ ok: false, reason });
  const value = text.trim();
  if (value === '') return fail('empty address');
  // The system ends a socket path at a NUL byte: unix:/a\0b would listen at /a.
  if (value.includes('\0')) return fail('an address holds no NUL byte');

  if (value.startsWith('unix:')) {
    const path = value.slice('unix:'.length);
    return path ? { ok: true, bind: { type: 'unix', path } } : fail('unix: needs a socket path, as in unix:/run/app.sock');
  }
  if (value.startsWith('fd://')) {
    const fd = value.slice('fd://'.length);
    return /^\d+$/.test(fd)
      ? { ok: true, bind: { type: 'fd', fd: Number(fd) } }
      : fail('fd:// needs a file descriptor number, as in fd://3');
  }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(value);
  if (scheme) return fail(`drop the ${scheme[1]}:// scheme; write HOST:PORT`);

  let host: string;
  let port: string;
  if (value.startsWith('[')) {
    const close = value.indexOf(']');
    if (close < 0) return fail('IPv6 address is missing its closing ]');
    host = value.slice(1, close);
    if (isIP(host) !== 6) return fail(`${host} is not an IPv6 address`);
    if (value[close + 1] !== ':') return fail('missing :PORT after the IPv6 address');
    port = value.slice(close + 2);
  } else {
    const colon = value.lastIndexOf(':');
    if (colon < 0) {
      // A bare number is a port given without its host: say both ways to write it.
      if (/^\d+$/.test(value)) return fail(barePortHint(value));
      return fail('missing :PORT');
    }
    host = value.slice(0, colon);
    port = value.slice(colon + 1);
    if (host.includes(':')) return fail('write IPv6 addresses in brackets, as in [::1]:8000');
    if (host !== '' && isIP(host) === 0 && !HOSTNAME.test(host)) return fail(`${JSON.stringify(host)} is not a host name or IP address`);
  }
  if (!/^\d+$/.test(port)) return fail(port === '' ? 'missing port number after :' : `port ${JSON.stringify(port)} is not a number`);
  const portNumber = Number(port);
  if (portNumber > 65535) return fail(`port ${portNumber} is out of range 0-65535`);
  return { ok: true, bind: { type: 'tcp', host: host === '' ? null : host, port: portNumber } };
}

/** What to write instead of a port given alone (`-b 8001`, `bind: 8001`). */
export function barePortHint(port: string | number): string {
  return `write ":${port}" for every interface or "127.0.0.1:${port}" for this machine only`;
}

/** The address as a URL-like string for logs: `http://127.0.0.1:8000`, `unix:/run/a.sock`, `fd://3` (a path with control characters quoted). */
export function formatBind(bind: Bind, scheme: 'http' | 'https' = 'http'): string {
  switch (bind.type) {
    case 'unix':
      return `unix:${printablePath(bind.path)}`;
    case 'fd':
      return `fd://${bind.fd}`;
    case 'tcp': {
      const host = bind.host ?? '0.0.0.0';
      return `${scheme}://${isIP(host) === 6 ? `[${host}]` : host}:${bind.port}`;
    }
  }
}
