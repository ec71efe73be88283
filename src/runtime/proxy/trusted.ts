/**
 * `forwarded_allow_ips`: which peers are believed when they say who the client is (forwarded
 * headers, a PROXY protocol header). Addresses and CIDR ranges, IPv4 and IPv6, `"*"` for
 * any peer, `"unix"` for peers on a unix socket (which have no address). Matching uses
 * node:net's BlockList; an IPv4 address Node reports in its IPv6 form (`::ffff:10.0.0.1`,
 * on a dual-stack listener) is matched as IPv4.
 */
import { BlockList, isIP } from 'node:net';

/** Whether a peer may speak for the client: its address (undefined for a unix socket peer). */
export interface Trusts {
  (address: string | undefined): boolean;
  /** The same for an IPv4 peer given as its unsigned 32-bit number: a worker under proxy_protocol asks for every connection, before any string is made. */
  ipv4(address: number): boolean;
}

/** A dotted IPv4 address from its unsigned 32-bit number. */
export function ipv4Text(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

function matcher(check: (address: string | undefined) => boolean, ipv4: (address: number) => boolean): Trusts {
  return Object.assign(check, { ipv4 });
}

/** The IPv4 address in `::ffff:a.b.c.d` (any case), or null. */
function mappedIpv4(address: string): string | null {
  if (address.length < 14 || address.charCodeAt(0) !== 0x3a || address.slice(0, 7).toLowerCase() !== '::ffff:') return null;
  const ipv4 = address.slice(7);
  return ipv4Number(ipv4) < 0 ? null : ipv4;
}

/** An address as matched and shown: IPv4-mapped IPv6 as its IPv4, IPv6 as Node writes it. */
export function plainAddress(address: string): string {
  return mappedIpv4(address) ?? address;
}

/** IPv4-mapped IPv6 (`::ffff:a.b.c.d`): where BlockList's IPv6 entries meet IPv4 addresses. */
const MAPPED_SPACE = new BlockList();
MAPPED_SPACE.addSubnet('::ffff:0:0', 96, 'ipv6');

/** Whether the IPv6 range `address`/`prefix` holds IPv4-mapped addresses (`::/0`, `::ffff:10.0.0.0/104`), so matches IPv4 addresses. */
function holdsIpv4(address: string, prefix: number): boolean {
  if (prefix >= 96) return MAPPED_SPACE.check(address, 'ipv6');
  const range = new BlockList();
  range.addSubnet(address, prefix, 'ipv6');
  return range.check('::ffff:0:0', 'ipv6');
}

/**
 * A dotted IPv4 address as node:net's isIP accepts it (four decimal octets up to 255, no leading
 * zero) as an unsigned 32-bit number; -1 when `text` is not one. One pass without a RegExp or a
 * string made: it runs on every hop of every ctx.client (isIP and a RegExp cost 5 times as much).
 */
export function ipv4Number(text: string): number {
  const length = text.length;
  if (length < 7 || length > 15) return -1;
  let n = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x2e) {
      if (digits === 0 || ++dots > 3) return -1;
      n = n * 256 + octet;
      octet = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      if (digits > 0 && octet === 0) return -1;
      octet = octet * 10 + (c - 0x30);
      if (octet > 255) return -1;
      digits++;
    } else return -1;
  }
  return dots === 3 && digits > 0 ? n * 256 + octet : -1;
}

/**
 * The matcher for a valid list (checked by config/peers.ts at config time). An IPv4 address is
 * matched against the IPv4 entries here: BlockList's check makes a SocketAddress per call (1.3 µs
 * of CPU, against 44 ns here; ctx.client behind a proxy checks twice). BlockList answers the rest,
 * and an IPv4 address the IPv4 entries do not match when an IPv6 entry holds IPv4-mapped addresses.
 */
export function trusts(list: readonly string[] | '*'): Trusts {
  if (list === '*' || list.includes('*')) return matcher(() => true, () => true);
  const unix = list.includes('unix');
  const blocks = new BlockList();
  const ipv4Ranges: { readonly network: number; readonly mask: number }[] = [];
  let any = false;
  let ipv6HoldsIpv4 = false;
  for (const entry of list) {
    if (entry === 'unix') continue;
    const [address, prefix] = entry.split('/') as [string, string | undefined];
    const type = isIP(address) === 4 ? 'ipv4' : 'ipv6';
    if (prefix === undefined) blocks.addAddress(address, type);
    else blocks.addSubnet(address, Number(prefix), type);
    any = true;
    const bits = prefix === undefined ? (type === 'ipv4' ? 32 : 128) : Number(prefix);
    if (type === 'ipv6') ipv6HoldsIpv4 ||= holdsIpv4(address, bits);
    else {
      const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
      ipv4Ranges.push({ network: (ipv4Number(address) & mask) >>> 0, mask });
    }
  }
  const ipv4Trusted = (n: number): boolean => {
    for (const { network, mask } of ipv4Ranges) if ((n & mask) >>> 0 === network) return true;
    return ipv6HoldsIpv4 && blocks.check(ipv4Text(n), 'ipv4');
  };
  return matcher((address) => {
    if (address === undefined || address === '') return unix;
    if (!any) return false;
    const n = ipv4Number(address);
    if (n >= 0) return ipv4Trusted(n);
    const mapped = mappedIpv4(address);
    if (mapped === null) return isIP(address) === 6 && blocks.check(address, 'ipv6');
    return ipv4Trusted(ipv4Number(mapped));
  }, ipv4Trusted);
}
