/**
 * The entries of `forwarded_allow_ips`: an IP address, a CIDR range, `"*"` (any peer) or
 * `"unix"` (a peer on a unix socket, which has no address). Checked here, at config time;
 * matched at run time by runtime/proxy/trusted.ts.
 */
import { isIP } from 'node:net';

/** Why an entry is not one, or null. */
export function peerEntryProblem(entry: string): string | null {
  if (entry === '*' || entry === 'unix') return null;
  const slash = entry.indexOf('/');
  const address = slash < 0 ? entry : entry.slice(0, slash);
  const family = isIP(address);
  if (family === 0) return `${JSON.stringify(entry)} is not an IP address, a CIDR range, "*" or "unix"`;
  if (slash < 0) return null;
  const prefix = entry.slice(slash + 1);
  const max = family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > max) return `${JSON.stringify(entry)}: the prefix length after / must be 0 to ${max}`;
  return null;
}
