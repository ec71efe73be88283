/**
 * Who the client is, as hostd understands it: the peer of the connection, or, when that peer
 * is a trusted proxy (`forwarded_allow_ips`), what the forwarding headers say. RFC 7239
 * `Forwarded` is read when present, else `X-Forwarded-For` with `X-Forwarded-Proto`. Both
 * are read right to left: the nearest hop was added by the trusted peer, and each hop that is
 * itself trusted may speak for the one before it; the first hop not trusted is the client.
 * Anything malformed stops the walk where it is: headers are never a reason for an error.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { isIP } from 'node:net';
import type { Client } from '../../hooks/contexts.ts';
import { ipv4Number, plainAddress, type Trusts } from './trusted.ts';

export type { Client } from '../../hooks/contexts.ts';

/** A forwarding header is read from its end, this many hops at most: a longer chain is someone's game. */
const MAX_HOPS = 32;
/** Longer header values are not read at all. */
const MAX_HEADER = 8 * 1024;

interface Hop {
  readonly address: string;
  readonly port: number | null;
  readonly proto: Client['proto'] | null;
}

/** The headers clientOf reads (a request's `headers`, or forwardingHeaders of its raw ones). */
export interface ForwardingHeaders {
  readonly forwarded?: IncomingHttpHeaders[string];
  readonly 'x-forwarded-for'?: IncomingHttpHeaders[string];
  readonly 'x-forwarded-proto'?: IncomingHttpHeaders[string];
}

/**
 * The forwarding headers of a request from its raw headers, repeated ones joined: what clientOf
 * reads, without making Node build `req.headers` (about 0.1 µs, a third of ctx.client's cost).
 */
export function forwardingHeaders(raw: readonly string[]): ForwardingHeaders {
  let forwarded: string | undefined;
  let forwardedFor: string | undefined;
  let forwardedProto: string | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    // By length first: most headers are none of the three, and this tells them apart without a string made.
    if (name.length === 15) {
      if (name.toLowerCase() === 'x-forwarded-for') forwardedFor = forwardedFor === undefined ? raw[i + 1] : `${forwardedFor}, ${raw[i + 1]}`;
    } else if (name.length === 17) {
      if (name.toLowerCase() === 'x-forwarded-proto') forwardedProto = forwardedProto === undefined ? raw[i + 1] : `${forwardedProto}, ${raw[i + 1]}`;
    } else if (name.length === 9 && name.toLowerCase() === 'forwarded') forwarded = forwarded === undefined ? raw[i + 1] : `${forwarded}, ${raw[i + 1]}`;
  }
  return { forwarded, 'x-forwarded-for': forwardedFor, 'x-forwarded-proto': forwardedProto };
}

/** What the connection and the forwarding headers say of the client (its TLS handshake says the rest: worker/client.ts). */
export type ForwardedClient = Pick<Client, 'address' | 'port' | 'proto'>;

/**
 * The client of a request on a connection from `peer` (its address after any PROXY protocol
 * header) reached over `scheme`.
 */
export function clientOf(headers: ForwardingHeaders, peer: { address?: string | undefined; port?: number | undefined }, scheme: Client['proto'], trusts: Trusts): ForwardedClient {
  const direct: ForwardedClient = { address: peer.address ? plainAddress(peer.address) : null, port: peer.port ?? null, proto: scheme };
  return trusts(peer.address) ? forwardedClient(headers, direct, trusts) : direct;
}

/**
 * What the forwarding headers say of the client, from a peer already known to be trusted
 * (`direct`: that peer as a client); `direct` itself when they say nothing of it. A worker
 * judges the peer once per connection (worker/client.ts) and calls this per request.
 */
export function forwardedClient(headers: ForwardingHeaders, direct: ForwardedClient, trusts: Trusts): ForwardedClient {
  const forwarded = headerText(headers.forwarded);
  const forwardedProto = headerText(headers['x-forwarded-proto']);
  const forwardedFor = headerText(headers['x-forwarded-for']);
  if (forwarded === null && forwardedFor === null) {
    // Only the scheme is forwarded (a TLS terminator in front): the peer stays the client.
    const scheme = forwardedProto === null ? null : proto(forwardedProto.split(',').at(-1));
    return scheme === null || scheme === direct.proto ? direct : { address: direct.address, port: direct.port, proto: scheme };
  }
  if (forwarded === null) return walkForwardedFor(forwardedFor!, forwardedProto, direct, trusts);
  const hops = forwardedHops(forwarded);
  let client = direct;
  for (let i = hops.length - 1; i >= Math.max(0, hops.length - MAX_HOPS); i--) {
    const hop = hops[i] ?? null;
    // Malformed, `unknown` or obfuscated: nothing further left can be believed.
    if (hop === null) break;
    client = { address: hop.address, port: hop.port, proto: hop.proto ?? client.proto };
    if (!trusts(hop.address)) break;
  }
  return client;
}

/**
 * X-Forwarded-For walked from its end, node by node, without splitting it: ctx.client's common
 * case, once per request. Each proxy appends the scheme it was reached by to X-Forwarded-Proto;
 * when the counts differ, the nearest is all that is known.
 */
function walkForwardedFor(text: string, protoText: string | null, client: ForwardedClient, trusts: Trusts): ForwardedClient {
  const protos = protoText === null ? null : protoText.split(',');
  let index = 0;
  for (let i = text.indexOf(','); i >= 0; i = text.indexOf(',', i + 1)) index++;
  const nodes = index + 1;
  for (let end = text.length, hops = 0; hops < MAX_HOPS; hops++, index--) {
    const start = text.lastIndexOf(',', end - 1) + 1;
    // The node without the blanks around it, sliced once.
    let from = start;
    let to = end;
    while (from < to && isBlank(text.charCodeAt(from))) from++;
    while (to > from && isBlank(text.charCodeAt(to - 1))) to--;
    const nodeText = text.slice(from, to);
    // A bare IPv4 address, the common node, is judged by its number: parsed once, no object made.
    const ipv4 = ipv4Number(nodeText);
    const node = ipv4 >= 0 ? null : nodeAddress(nodeText);
    // Malformed or `unknown`: nothing further left can be believed.
    if (ipv4 < 0 && node === null) break;
    const scheme = protos === null ? null : proto(protos.length === nodes ? protos[index] : protos[protos.length - 1]);
    // Fields written out: V8 built `{ ...node, proto }` on its slow path, about 1 µs a request.
    client = { address: node === null ? nodeText : node.address, port: node === null ? null : node.port, proto: scheme ?? client.proto };
    if (!(ipv4 >= 0 ? trusts.ipv4(ipv4) : trusts(node!.address)) || start === 0) break;
    end = start - 1;
  }
  return client;
}

function isBlank(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/** A header's value as one string (Node joins repeated X-Forwarded-For with ", "), or null. */
function headerText(value: string | string[] | undefined): string | null {
  const text = Array.isArray(value) ? value.join(',') : value;
  return text === undefined || text === '' || text.length > MAX_HEADER ? null : text;
}

function proto(value: string | undefined): Client['proto'] | null {
  const v = value?.trim().toLowerCase();
  return v === 'https' || v === 'wss' ? 'https' : v === 'http' || v === 'ws' ? 'http' : null;
}

/** An address with an optional port: `1.2.3.4`, `1.2.3.4:80`, `::1`, `[::1]`, `[::1]:80`; null if it is none. */
export function nodeAddress(text: string): { address: string; port: number | null } | null {
  let node = text.trim();
  // The common case, a bare IPv4 address, without the checks below.
  if (ipv4Number(node) >= 0) return { address: node, port: null };
  if (node.startsWith('"') && node.endsWith('"') && node.length >= 2) node = node.slice(1, -1);
  let port: string | undefined;
  if (node.startsWith('[')) {
    const close = node.indexOf(']');
    if (close < 0) return null;
    const rest = node.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':')) return null;
    port = rest === '' ? undefined : rest.slice(1);
    node = node.slice(1, close);
    if (isIP(node) !== 6) return null;
  } else if (isIP(node) === 0) {
    const colon = node.lastIndexOf(':');
    if (colon < 0 || isIP(node.slice(0, colon)) !== 4) return null;
    port = node.slice(colon + 1);
    node = node.slice(0, colon);
  }
  if (port !== undefined && !/^\d{1,5}$/.test(port)) return null;
  const number = port === undefined ? null : Number(port);
  if (number !== null && number > 65535) return null;
  return { address: plainAddress(node), port: number };
}

/** RFC 7239: elements separated by commas, pairs by semicolons, values tokens or quoted strings. */
function forwardedHops(text: string): (Hop | null)[] {
  const hops: (Hop | null)[] = [];
  let pairs = new Map<string, string>();
  let bad = false;
  let i = 0;
  const end = () => {
    const forValue = pairs.get('for');
    const node = forValue === undefined ? null : nodeAddress(forValue);
    hops.push(bad || node === null ? null : { address: node.address, port: node.port, proto: proto(pairs.get('proto')) });
    pairs = new Map();
    bad = false;
  };
  while (i <= text.length) {
    // One pair: name=value.
    while (text[i] === ' ' || text[i] === '\t') i++;
    const eq = text.indexOf('=', i);
    const stop = /[;,]/.exec(text.slice(i));
    if (eq < 0 || (stop !== null && i + stop.index < eq)) {
      // No `=` before the next separator: a malformed element (or an empty one).
      const next = stop === null ? text.length : i + stop.index;
      if (text.slice(i, next).trim() !== '') bad = true;
      i = next;
    } else {
      const name = text.slice(i, eq).trim().toLowerCase();
      i = eq + 1;
      let value = '';
      if (text[i] === '"') {
        i++;
        for (; i < text.length && text[i] !== '"'; i++) value += text[i] === '\\' ? (text[++i] ?? '') : text[i];
        if (text[i] !== '"') bad = true;
        i++;
        while (text[i] === ' ' || text[i] === '\t') i++;
      } else {
        const next = /[;,]/.exec(text.slice(i));
        value = text.slice(i, next === null ? text.length : i + next.index).trim();
        i = next === null ? text.length : i + next.index;
      }
      if (pairs.has(name)) bad = true;
      pairs.set(name, value);
    }
    if (i >= text.length) {
      end();
      break;
    }
    if (text[i] === ',') end();
    else if (text[i] !== ';') bad = true;
    i++;
  }
  return hops;
}
