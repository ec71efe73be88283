/**
 * hostd's native helper (src/native/hostd.c, built into dist/native/ when a C compiler is
 * there): orphan reaping, sd_notify, the process name, a Unix socket's peer, and reading a PROXY
 * protocol header off a socket. Null where it was not built; callers fall back.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { HOSTD_CODE_DIR } from '../paths.ts';

export interface Native {
  becomeSubreaper(): boolean;
  /** Sets the kernel's name of the process (its first 15 bytes), shown by `top` and `ps -e`. */
  setProcessName(name: string): boolean;
  /** Collects `pid` if it exited; returns the pid, 0 if it still runs, -1 if it is not a child. */
  reap(pid: number): number;
  /** Sends one datagram to a Unix socket path, or to "@name" in the abstract namespace. */
  sendDatagram(address: string, message: string): void;
  bindDatagram(address: string): number;
  receiveDatagram(fd: number): string | null;
  closeFd(fd: number): void;
  /** The pid at the other end of a connected Unix socket (SO_PEERCRED); -1 when it cannot be had. */
  peerPid(fd: number): number;
  /** The bytes waiting on a socket peeked into `into` (MSG_PEEK, left there): how many it copied, 0 at end of stream, -1 when none are there yet. */
  peekInto(fd: number, into: Buffer): number;
  /** In one call: the peer's address into `window`'s last 24 bytes (family 4, 6 or 0, a pad byte, the port, the address's bytes), the bytes waiting peeked into the rest, and a whole PROXY header they begin with taken off the socket (its length, uint16, at byte 20 of those 24); returns as peekInto() does. */
  intake(fd: number, window: Buffer): number;
  /** Takes up to `count` waiting bytes off a socket and drops them; how many it took. */
  discard(fd: number, count: number): number;
}

let loaded: Native | null | undefined;

/** Where the built helper is: beside the bundle (dist/native), or, running from src/, in the sibling dist/. */
const CANDIDATES = [join(HOSTD_CODE_DIR, 'native', 'hostd.node'), join(HOSTD_CODE_DIR, '..', 'dist', 'native', 'hostd.node')];

export function native(): Native | null {
  if (loaded === undefined) {
    loaded = null;
    if (process.platform === 'linux') {
      const require = createRequire(import.meta.url);
      for (const candidate of CANDIDATES) {
        try {
          loaded = require(candidate) as Native;
          break;
        } catch {}
      }
    }
  }
  return loaded;
}
