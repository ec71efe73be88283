/**
 * The access log in gunicorn's format: `access_log_format` is compiled once into a
 * function from the atoms it uses, so a request only pays for those.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** What a finished request tells the access log. */
export interface AccessRecord {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** When the request arrived (Date.now()). */
  readonly startedAt: number;
  /** Elapsed milliseconds (fractional). */
  readonly durationMs: number;
  /** Body bytes sent, when counted. */
  readonly bytes: number | undefined;
}

type Atom = (r: AccessRecord, address: ClientAddress) => string;

/** The client's address behind trusted proxies (`forwarded_allow_ips`): asked only by a format that shows it. */
export type ClientAddress = (req: IncomingMessage) => string | null;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `[10/Oct/2000:13:55:36 +0000]` */
function clfTime(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `[${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000]`;
}

const dash = (value: string | number | undefined | null): string => (value === undefined || value === null || value === '' ? '-' : String(value));

function header(value: string | string[] | number | undefined): string {
  return dash(Array.isArray(value) ? value.join(', ') : value);
}

const ATOMS: Record<string, Atom> = {
  h: (r, address) => dash(address(r.req)),
  l: () => '-',
  u: () => '-',
  t: (r) => clfTime(r.startedAt),
  r: (r) => `${r.req.method} ${r.req.url} HTTP/${r.req.httpVersion}`,
  m: (r) => dash(r.req.method),
  U: (r) => dash(r.req.url?.split('?')[0]),
  q: (r) => {
    const url = r.req.url ?? '';
    const at = url.indexOf('?');
    return at < 0 ? '' : url.slice(at + 1);
  },
  H: (r) => `HTTP/${r.req.httpVersion}`,
  s: (r) => String(r.res.statusCode),
  B: (r) => String(r.bytes ?? 0),
  b: (r) => dash(r.bytes),
  f: (r) => header(r.req.headers.referer),
  a: (r) => header(r.req.headers['user-agent']),
  T: (r) => String(Math.floor(r.durationMs / 1000)),
  D: (r) => String(Math.round(r.durationMs * 1000)),
  M: (r) => String(Math.round(r.durationMs)),
  L: (r) => (r.durationMs / 1000).toFixed(6),
  p: () => `<${process.pid}>`,
};

const ATOM_PATTERN = /%\(([A-Za-z]|\{[^}]+\}[ioe])\)s/g;

/** Compiles a gunicorn access-log format into a function of one request. */
export function compileAccessFormat(format: string, address: ClientAddress): (record: AccessRecord) => string {
  const parts: (string | Atom)[] = [];
  let last = 0;
  for (const match of format.matchAll(ATOM_PATTERN)) {
    parts.push(format.slice(last, match.index));
    parts.push(atomFor(match[1]!) ?? match[0]);
    last = match.index! + match[0].length;
  }
  parts.push(format.slice(last));
  return (record) => {
    let line = '';
    for (const part of parts) line += typeof part === 'string' ? part : part(record, address);
    return line;
  };
}

function atomFor(name: string): Atom | undefined {
  if (!name.startsWith('{')) return ATOMS[name];
  const key = name.slice(1, name.indexOf('}')).toLowerCase();
  switch (name[name.length - 1]) {
    case 'i':
      return (r) => header(r.req.headers[key]);
    case 'o':
      return (r) => header(r.res.getHeader(key));
    default:
      return () => dash(process.env[name.slice(1, name.indexOf('}'))]);
  }
}

/** The access log as JSON: every standard atom by name. */
export function accessJson(address: ClientAddress): (record: AccessRecord) => string {
  return (record) => JSON.stringify({
    time: new Date(record.startedAt).toISOString(),
    remote: address(record.req),
    method: record.req.method,
    url: record.req.url,
    protocol: `HTTP/${record.req.httpVersion}`,
    status: record.res.statusCode,
    bytes: record.bytes ?? null,
    duration_ms: Math.round(record.durationMs * 1000) / 1000,
    referer: record.req.headers.referer ?? null,
    user_agent: record.req.headers['user-agent'] ?? null,
    pid: process.pid,
  });
}
