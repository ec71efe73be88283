/**
 * `forwarded_allow_ips`: which peers are believed when they say who the client is (forwarded
 * headers, a PROXY protocol header). Addresses and CIDR ranges, IPv4 and IPv6, `"*"` for
 * any peer, `"unix"` for peers on a unix socket (which have no address). Matching uses
 * node:net's BlockList; an IPv4 address Node reports in its IPv6 form (`::ffff:10.0.0.1`,
 * on a dual-stack listener) is matched as IPv4.
 */
import { BlockList, isIP } from 'node:net';

/** Whether a peer may speak for the client: its address (undefined for a unix socket peer). */
export type Trusts = (address: string | undefined) => boolean;

const MAPPED = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i;

/** An address as matched and shown: IPv4-mapped IPv6 as its IPv4, IPv6 as Node writes it. */
export function plainAddress(address: string): string {
  const mapped = MAPPED.exec(address);
  return mapped === null ? address : mapped[1]!;
}

/** The matcher for a valid list (checked by config/peers.ts at config time). */
export function trusts(list: readonly string[] | '*'): Trusts {
  if (list === '*' || list.includes('*')) return () => true;
  const unix = list.includes('unix');
  const blocks = new BlockList();
  let any = false;
  for (const entry of list) {
    if (entry === 'unix') continue;
    const [address, prefix] = entry.split('/') as [string, string | undefined];
    const type = isIP(address) === 4 ? 'ipv4' : 'ipv6';
    if (prefix === undefined) blocks.addAddress(address, type);
    else blocks.addSubnet(address, Number(prefix), type);
    any = true;
  }
  return (address) => {
    if (address === undefined || address === '') return unix;
    if (!any) return false;
    const plain = plainAddress(address);
    const family = isIP(plain);
    return family !== 0 && blocks.check(plain, family === 4 ? 'ipv4' : 'ipv6');
  };
}
