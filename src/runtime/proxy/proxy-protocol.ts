/**
 * The PROXY protocol header (HAProxy's spec, versions 1 and 2, told apart by their first
 * bytes) that a TCP load balancer sends before anything else on a connection, naming the
 * client it accepted. The parser is strict and stateless: it is given every byte read so far
 * and says whether a header is complete (and how long it is), more is needed, or these bytes
 * can never be one. Lengths are bounded (107 bytes for v1, MAX_V2_BYTES for v2), so a peer
 * cannot make hostd buffer more than that.
 */
import { isIP, SocketAddress } from 'node:net';
import { ipv4Number } from './trusted.ts';

export interface ProxyAddress {
  readonly address: string;
  readonly port: number;
}

/** What the header says. `source` is null when the connection keeps its peer's own address (v2 LOCAL, UNKNOWN, UNSPEC, a unix socket). */
export interface ProxyHeader {
  readonly version: 1 | 2;
  readonly source: ProxyAddress | null;
  readonly destination: ProxyAddress | null;
  /** A v2 SSL TLV says the client reached the balancer over TLS (it terminated it): the client's scheme is https. */
  readonly tls?: true;
}

/** PP2_TYPE_SSL, and its client field's bit PP2_CLIENT_SSL. */
const TLV_SSL = 0x20;
const CLIENT_SSL = 0x01;

export type ProxyParse =
  | { readonly state: 'more' }
  | { readonly state: 'done'; readonly header: ProxyHeader; readonly length: number }
  | { readonly state: 'error'; readonly reason: string };

const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
/** The longest v1 header, CRLF included (the spec's 107). */
export const MAX_V1_BYTES = 107;
const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
/** The longest v2 header hostd reads: its 16 bytes, the longest address block (unix: 216) and room for TLVs. */
export const MAX_V2_BYTES = 16 + 216 + 2048;
/** The most bytes a header can take: what a reader may buffer before it must have an answer. */
export const MAX_PROXY_HEADER_BYTES = MAX_V2_BYTES;

const MORE: ProxyParse = { state: 'more' };
const error = (reason: string): ProxyParse => ({ state: 'error', reason });

/** Whether `bytes` begins as `prefix` does, as far as either goes (`length`: how much of `bytes` holds what was read). */
function startsAs(bytes: Buffer, length: number, prefix: Buffer): boolean {
  // Byte by byte: a header comes with every connection, and subarray() makes a Buffer each time.
  const n = Math.min(length, prefix.length);
  for (let i = 0; i < n; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

/** Parses what was read of a connection so far: its first `length` bytes (all of `bytes` unless said; a reader may keep one buffer for every connection). */
export function parseProxyHeader(bytes: Buffer, length: number = bytes.length): ProxyParse {
  if (length === 0) return MORE;
  if (startsAs(bytes, length, V2_SIGNATURE)) return length < V2_SIGNATURE.length ? MORE : parseV2(bytes, length);
  if (startsAs(bytes, length, V1_PREFIX)) return length < V1_PREFIX.length ? MORE : parseV1(bytes, length);
  return error('the connection did not begin with a PROXY protocol header');
}

const SPACE = 0x20;
const V1_SHAPE = 'a PROXY v1 header that is not "PROXY TCP4|TCP6 source destination sport dport"';

/** Whether bytes[start, end) are `text`'s (ASCII). */
function holds(bytes: Buffer, start: number, end: number, text: string): boolean {
  if (end - start !== text.length) return false;
  for (let i = 0; i < text.length; i++) if (bytes[start + i] !== text.charCodeAt(i)) return false;
  return true;
}

/** Where the next space is in bytes[from, end), or `end`. */
function spaceAt(bytes: Buffer, from: number, end: number): number {
  while (from < end && bytes[from] !== SPACE) from++;
  return from;
}

/**
 * "PROXY TCP4|TCP6 source destination sport dport\r\n", or "PROXY UNKNOWN ...\r\n". Read field by
 * field off the bytes, making only the two address strings: every connection behind a TCP
 * balancer comes with one (splitting the line made eight strings and an array).
 */
function parseV1(bytes: Buffer, length: number): ProxyParse {
  const limit = Math.min(length, MAX_V1_BYTES);
  let end = -1;
  for (let i = 0; i + 1 < limit; i++) {
    if (bytes[i] === 0x0d && bytes[i + 1] === 0x0a) {
      end = i;
      break;
    }
  }
  if (end < 0) {
    if (length >= MAX_V1_BYTES) return error(`a PROXY v1 header longer than ${MAX_V1_BYTES} bytes`);
    // A byte no v1 header holds ends it early (a stray newline, a control byte).
    for (let i = length - (bytes[length - 1] === 0x0d ? 1 : 0) - 1; i >= 0; i--) if (bytes[i]! < 0x20 || bytes[i]! > 0x7e) return error('a PROXY v1 header with a byte it cannot hold');
    return MORE;
  }
  const headerLength = end + 2;
  const protocolEnd = spaceAt(bytes, V1_PREFIX.length, end);
  const at = V1_PREFIX.length;
  if (holds(bytes, at, protocolEnd, 'UNKNOWN')) return { state: 'done', header: { version: 1, source: null, destination: null }, length: headerLength };
  const family = holds(bytes, at, protocolEnd, 'TCP4') ? 4 : holds(bytes, at, protocolEnd, 'TCP6') ? 6 : 0;
  if (family === 0) return error(`a PROXY v1 header with protocol "${bytes.toString('latin1', at, protocolEnd)}" (TCP4, TCP6 or UNKNOWN)`);
  // Four fields after the protocol, one space apart, the last one ending the line.
  const sourceEnd = spaceAt(bytes, protocolEnd + 1, end);
  const destinationEnd = spaceAt(bytes, sourceEnd + 1, end);
  const sourcePortEnd = spaceAt(bytes, destinationEnd + 1, end);
  if (protocolEnd >= end || sourcePortEnd >= end || spaceAt(bytes, sourcePortEnd + 1, end) !== end) return error(V1_SHAPE);
  const source = bytes.toString('latin1', protocolEnd + 1, sourceEnd);
  const destination = bytes.toString('latin1', sourceEnd + 1, destinationEnd);
  // IPv4 checked in one pass, not by isIP's RegExp. IPv6 as v2 gives it (canonical, no zone):
  // one client is one string, for sticky sessions, ctx.client and the log.
  const from = family === 4 ? (ipv4Number(source) >= 0 ? source : null) : canonicalIpv6(source);
  const to = family === 4 ? (ipv4Number(destination) >= 0 ? destination : null) : canonicalIpv6(destination);
  if (from === null || to === null) return error(`a PROXY v1 header whose addresses are not IPv${family}`);
  const sport = port(bytes, destinationEnd + 1, sourcePortEnd);
  const dport = port(bytes, sourcePortEnd + 1, end);
  if (sport < 0 || dport < 0) return error('a PROXY v1 header whose ports are not 0 to 65535');
  return { state: 'done', header: { version: 1, source: { address: from, port: sport }, destination: { address: to, port: dport } }, length: headerLength };
}

/** An IPv6 address in its canonical form (lower case, zeros compressed), or null when it is none or names a zone. */
function canonicalIpv6(text: string): string | null {
  return isIP(text) === 6 && !text.includes('%') ? new SocketAddress({ address: text, family: 'ipv6' }).address : null;
}

/** The decimal port in bytes[start, end): no sign or leading zeros, 0 to 65535; -1 if it is not one. */
function port(bytes: Buffer, start: number, end: number): number {
  const length = end - start;
  if (length <= 0 || length > 5 || (length > 1 && bytes[start] === 0x30)) return -1;
  let n = 0;
  for (let i = start; i < end; i++) {
    const digit = bytes[i]! - 0x30;
    if (digit < 0 || digit > 9) return -1;
    n = n * 10 + digit;
  }
  return n <= 65535 ? n : -1;
}

function parseV2(bytes: Buffer, read: number): ProxyParse {
  if (read < 16) return read > 12 && bytes[12]! >> 4 !== 2 ? error('a PROXY v2 header of another version') : MORE;
  const versionCommand = bytes[12]!;
  if (versionCommand >> 4 !== 2) return error('a PROXY v2 header of another version');
  const command = versionCommand & 0x0f;
  if (command > 1) return error('a PROXY v2 header with a command other than LOCAL or PROXY');
  const family = bytes[13]! >> 4;
  const transport = bytes[13]! & 0x0f;
  if (family > 3 || transport > 2) return error('a PROXY v2 header with an unknown address family or protocol');
  const length = 16 + bytes.readUInt16BE(14);
  if (length > MAX_V2_BYTES) return error(`a PROXY v2 header of ${length} bytes (at most ${MAX_V2_BYTES})`);
  if (read < length) return MORE;
  const addresses = { 1: 12, 2: 36, 3: 216 }[family] ?? 0;
  if (length - 16 < addresses) return error('a PROXY v2 header too short for its addresses');
  // TLVs after the addresses: each must fit in what is left; only the SSL one is read.
  let tls = false;
  for (let at = 16 + addresses; at < length; ) {
    if (at + 3 > length) return error('a PROXY v2 header with a truncated TLV');
    const type = bytes[at]!;
    const size = bytes.readUInt16BE(at + 1);
    if (at + 3 + size > length) return error('a PROXY v2 header with a TLV longer than the header');
    if (type === TLV_SSL && size >= 1 && (bytes[at + 3]! & CLIENT_SSL) !== 0) tls = true;
    at += 3 + size;
  }
  // LOCAL (a health check from the balancer itself), UNSPEC and unix sockets keep the peer's own address.
  if (command === 0 || family === 0 || family === 3) return { state: 'done', header: { version: 2, source: null, destination: null }, length };
  if (transport !== 1) return error('a PROXY v2 header for a datagram protocol on a stream connection');
  const block = bytes.subarray(16, 16 + addresses);
  const [source, destination, ports] = family === 1 ? [ipv4(block.subarray(0, 4)), ipv4(block.subarray(4, 8)), 8] : [ipv6(block.subarray(0, 16)), ipv6(block.subarray(16, 32)), 32];
  const header: ProxyHeader = {
    version: 2,
    source: { address: source, port: block.readUInt16BE(ports) },
    destination: { address: destination, port: block.readUInt16BE(ports + 2) },
    ...(tls ? { tls: true as const } : {}),
  };
  return { state: 'done', header, length };
}

function ipv4(bytes: Buffer): string {
  return [...bytes].join('.');
}

/** An IPv6 address as Node writes a socket's (inet_ntop's form: compressed, `::ffff:a.b.c.d`), from its 16 bytes. */
function ipv6(bytes: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  return new SocketAddress({ address: groups.join(':'), family: 'ipv6' }).address;
}

/** A v1 header for `source` → `destination` (the load generator's and the tests' side). */
export function proxyV1(source: ProxyAddress, destination: ProxyAddress): Buffer {
  const family = isIP(source.address) === 6 ? 'TCP6' : 'TCP4';
  return Buffer.from(`PROXY ${family} ${source.address} ${destination.address} ${source.port} ${destination.port}\r\n`, 'latin1');
}

/** A v2 header: PROXY for `source` → `destination`, LOCAL when `source` is null; `tlvs` appended as they are. */
export function proxyV2(source: ProxyAddress | null, destination: ProxyAddress | null, tlvs: Buffer = Buffer.alloc(0)): Buffer {
  if (source === null || destination === null) {
    const head = Buffer.concat([V2_SIGNATURE, Buffer.from([0x20, 0x00, 0, 0])]);
    head.writeUInt16BE(tlvs.length, 14);
    return Buffer.concat([head, tlvs]);
  }
  const six = isIP(source.address) === 6;
  const block = Buffer.alloc(six ? 36 : 12);
  const put = (address: string, at: number) => {
    if (!six) address.split('.').forEach((octet, i) => block.writeUInt8(Number(octet), at + i));
    else expandIpv6(address).forEach((group, i) => block.writeUInt16BE(group, at + i * 2));
  };
  put(source.address, 0);
  put(destination.address, six ? 16 : 4);
  block.writeUInt16BE(source.port, six ? 32 : 8);
  block.writeUInt16BE(destination.port, six ? 34 : 10);
  const head = Buffer.concat([V2_SIGNATURE, Buffer.from([0x21, six ? 0x21 : 0x11, 0, 0])]);
  head.writeUInt16BE(block.length + tlvs.length, 14);
  return Buffer.concat([head, block, tlvs]);
}

function expandIpv6(written: string): number[] {
  // A dotted IPv4 tail (`::ffff:1.2.3.4`) is two groups.
  const address = written.replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_, a, b, c, d) => `${((+a << 8) | +b).toString(16)}:${((+c << 8) | +d).toString(16)}`);
  const [left, right] = address.includes('::') ? address.split('::') : [address, undefined];
  const l = left ? left.split(':') : [];
  const r = right ? right.split(':') : [];
  const groups = right === undefined ? l : [...l, ...Array<string>(8 - l.length - r.length).fill('0'), ...r];
  return groups.map((g) => Number.parseInt(g, 16));
}
