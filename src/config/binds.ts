import { isIP } from 'node:net';
import { resolve } from 'node:path';
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

/**
 * What a TCP host covers, as the system binds it: `all` for `:PORT` and `[::]` (Node listens
 * on `::` dual-stack: every IPv4 and IPv6 address), `ipv4-any` for `0.0.0.0`, else one
 * address in a canonical text (`[0:0::1]` is `::1`, `[::ffff:127.0.0.1]` is `127.0.0.1`),
 * or a host name, compared by name (not looked up).
 */
type Coverage = { readonly kind: 'all' } | { readonly kind: 'ipv4-any' } | { readonly kind: 'ip'; readonly family: 4 | 6; readonly address: string } | { readonly kind: 'name'; readonly name: string };

function coverage(host: string | null): Coverage {
  if (host === null) return { kind: 'all' };
  if (isIP(host) === 4) return host === '0.0.0.0' ? { kind: 'ipv4-any' } : { kind: 'ip', family: 4, address: host };
  if (isIP(host) !== 6) return { kind: 'name', name: host.toLowerCase() };
  let canonical: string;
  try {
    canonical = new URL(`http://[${host}]/`).hostname.slice(1, -1);
  } catch {
    // A scoped address (fe80::1%eth0): URLs have no zones; compared as written.
    return { kind: 'ip', family: 6, address: host.toLowerCase() };
  }
  if (canonical === '::') return { kind: 'all' };
  // An IPv4-mapped address binds the IPv4 address itself.
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonical);
  if (mapped === null) return { kind: 'ip', family: 6, address: canonical };
  const [high, low] = [Number.parseInt(mapped[1]!, 16), Number.parseInt(mapped[2]!, 16)];
  return { kind: 'ip', family: 4, address: [high >> 8, high & 255, low >> 8, low & 255].join('.') };
}

/**
 * Why two binds cannot both listen (the second would fail with "address already in use"),
 * or null when they can. The same address: the same TCP port (not 0, which picks a free
 * one) on hosts that overlap, as Linux judges it: `:PORT`, `[::]:PORT` and `0.0.0.0:PORT`
 * collide with each other and with any host on that port (`0.0.0.0` with IPv4 hosts only);
 * `[::ffff:A]` is the IPv4 address A; host names collide only with the same name (hostd does
 * not look them up: `localhost:8000` and `127.0.0.1:8000` are not judged). The same unix
 * socket path, or the same inherited descriptor, is the same address too.
 */
export function bindOverlap(a: string, b: string): string | null {
  const [pa, pb] = [parseBind(a), parseBind(b)];
  if (!pa.ok || !pb.ok) return null;
  const [x, y] = [pa.bind, pb.bind];
  if (x.type === 'unix' && y.type === 'unix') return resolve(x.path) === resolve(y.path) ? 'they are the same socket file' : null;
  if (x.type === 'fd' && y.type === 'fd') return x.fd === y.fd ? 'they are the same file descriptor' : null;
  if (x.type !== 'tcp' || y.type !== 'tcp' || x.port !== y.port || x.port === 0) return null;
  const sides = [
    { text: a, covers: coverage(x.host), other: coverage(y.host) },
    { text: b, covers: coverage(y.host), other: coverage(x.host) },
  ];
  const [cx, cy] = [sides[0]!.covers, sides[1]!.covers];
  if (cx.kind === cy.kind && (cx.kind === 'all' || cx.kind === 'ipv4-any')) return `both listen on every IPv4${cx.kind === 'all' ? ' and IPv6' : ''} address`;
  for (const { text, covers } of sides) if (covers.kind === 'all') return `${printablePath(text)} listens on every IPv4 and IPv6 address`;
  for (const { text, covers, other } of sides) {
    // 0.0.0.0 and an IPv6 address (or a name, which may be one) can share a port.
    if (covers.kind === 'ipv4-any' && (other.kind === 'ipv4-any' || (other.kind === 'ip' && other.family === 4))) return `${printablePath(text)} listens on every IPv4 address`;
  }
  if (cx.kind === 'ip' && cy.kind === 'ip' && cx.address === cy.address) return 'they are the same address';
  if (cx.kind === 'name' && cy.kind === 'name' && cx.name === cy.name) return 'they are the same address';
  return null;
}

/**
 * What keeps `addresses` from all listening: an address listed twice, or two that overlap
 * (bindOverlap says why), one message each.
 */
export function bindCollisions(addresses: readonly string[]): string[] {
  const found = new Set<string>();
  for (let i = 0; i < addresses.length; i++) {
    for (let j = i + 1; j < addresses.length; j++) {
      const [a, b] = [addresses[i]!, addresses[j]!];
      const why = bindOverlap(a, b);
      if (why !== null) found.add(a === b ? `${printablePath(a)} is listed more than once` : `${printablePath(a)} and ${printablePath(b)} cannot both listen: ${why}`);
    }
  }
  return [...found];
}
