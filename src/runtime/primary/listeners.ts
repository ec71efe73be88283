/**
 * The listening sockets. The primary owns them for its whole life (they do not come and
 * go with workers, so a port stays the same and an inherited fd stays open), accepts
 * connections paused, and hands each to a ready worker.
 */
import { chownSync, lstatSync, readFileSync, type Stats, unlinkSync } from 'node:fs';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { formatBind, parseBind, type Bind } from '../../config/binds.ts';
import { HostdError } from '../../errors.ts';
import { printablePath } from '../../paths.ts';
import { escapeControls } from '../../text.ts';

/** How listeners are opened: the settings that apply to them. */
export interface ListenOptions {
  readonly backlog: number;
  readonly scheme: 'http' | 'https';
  /** Permission bits of unix sockets, or null for what the umask gives. */
  readonly unixMode: number | null;
  /** The group of unix sockets (a name or gid), or null. */
  readonly unixGroup: string | number | null;
}

/**
 * What takes a listener's connections: `socket`, each as a paused net.Socket (for a server
 * in the primary itself, metrics), or `handle`, each as its bare libuv handle, not read from
 * (for the workers: a handle is all a worker is sent; a net.Socket per connection in the
 * primary, made only to be taken apart again, held round_robin at 0.90x node:cluster's
 * connection-per-request throughput, where bare handles measure 1.06x: bench/dispatch).
 */
export type ConnectionSink = { readonly socket: (socket: Socket) => void } | { readonly handle: (handle: AcceptedHandle) => void };

/** An accepted connection's libuv handle (a TCP or Pipe wrap), as node:cluster hands them to its workers. */
export interface AcceptedHandle {
  close(): void;
  /** TCP only: fills `out.address` with the peer's address. */
  getpeername?(out: { address?: string }): number;
  /** Its file descriptor (Unix). */
  readonly fd?: number;
}

/** The libuv handle of a listening net.Server: Node calls its `onconnection` for every accept. */
interface ListeningHandle {
  onconnection: (status: number, handle: AcceptedHandle | undefined) => void;
}

export interface Listener {
  readonly address: string;
  readonly bind: Bind;
  readonly server: Server;
  /** `http://127.0.0.1:8000` with the real port (port 0 resolved). */
  readonly url: string;
}

/** True if something accepts connections on the unix socket at `path`. */
function socketInUse(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

/** What a file is, in a word, for the message that refuses to remove it. */
function kindOf(stats: Stats): string {
  return stats.isFile() ? 'a regular file' : stats.isDirectory() ? 'a folder' : stats.isSymbolicLink() ? 'a symbolic link' : 'not a socket';
}

/**
 * Clears the way for a unix socket: a socket file left by a process that died is removed;
 * anything else at the path (a file, a link, a socket something answers on) is left as it
 * is and refused.
 */
async function clearSocketPath(address: string, path: string): Promise<void> {
  const stats = lstatSync(path, { throwIfNoEntry: false });
  if (stats === undefined) return;
  if (!stats.isSocket()) throw new HostdError('HOSTD_ERR_BIND', `cannot listen on ${printablePath(address)}: ${printablePath(path)} is ${kindOf(stats)}, not a socket; hostd removes only a socket nothing answers on`);
  if (await socketInUse(path)) throw new HostdError('HOSTD_ERR_BIND', `cannot listen on ${printablePath(address)}: another process is listening on it`);
  unlinkSync(path);
}

/** A group's id, from its name in /etc/group or as given. */
function groupId(group: string | number, address: string): number {
  if (typeof group === 'number') return group;
  const line = readFileSync('/etc/group', 'utf8')
    .split('\n')
    .find((l) => l.split(':')[0] === group);
  if (line === undefined) throw new HostdError('HOSTD_ERR_BIND', `cannot give ${printablePath(address)} to group ${JSON.stringify(group)}: no such group in /etc/group`);
  return Number(line.split(':')[2]);
}

async function listen(address: string, options: ListenOptions, sink: ConnectionSink, inherited: number | undefined): Promise<Listener> {
  const parsed = parseBind(address);
  if (!parsed.ok) throw new HostdError('HOSTD_ERR_BIND', `cannot listen on ${printablePath(address)}: ${parsed.reason}`);
  const bind = parsed.bind;
  const { backlog, scheme } = options;
  // A socket handed over by the primary an upgrade replaces is already bound (its unix file is in use: it stays).
  if (bind.type === 'unix' && inherited === undefined) await clearSocketPath(address, bind.path);
  const server = createServer({ pauseOnConnect: true }, 'socket' in sink ? sink.socket : undefined);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      const why = error.code === 'EADDRINUSE' ? 'address already in use' : error.code === 'EACCES' ? 'permission denied' : escapeControls(error.message);
      reject(new HostdError('HOSTD_ERR_BIND', `cannot listen on ${printablePath(address)}: ${why}`, { cause: error }));
    });
    if (inherited !== undefined) server.listen({ fd: inherited, backlog }, resolve);
    else if (bind.type === 'tcp') server.listen({ host: bind.host ?? undefined, port: bind.port, backlog }, resolve);
    else if (bind.type === 'fd') server.listen({ fd: bind.fd, backlog }, resolve);
    else if (options.unixMode === null) server.listen({ path: bind.path, backlog }, resolve);
    else {
      // The socket is created (bind(2)) inside listen(): with this umask it never exists with wider permissions.
      const previous = process.umask(0o777 & ~options.unixMode);
      try {
        server.listen({ path: bind.path, backlog }, resolve);
      } finally {
        process.umask(previous);
      }
    }
  });
  if (bind.type === 'unix' && options.unixGroup !== null && inherited === undefined) {
    try {
      chownSync(bind.path, -1, groupId(options.unixGroup, address));
    } catch (error) {
      server.close();
      throw error instanceof HostdError ? error : new HostdError('HOSTD_ERR_BIND', `cannot give ${printablePath(address)} to group ${options.unixGroup}: ${escapeControls((error as Error).message)}`, { cause: error });
    }
  }
  server.removeAllListeners('error');
  server.on('error', () => {});
  if ('handle' in sink) {
    // Set by listen() before any accept can run; replaced, Node no longer wraps each connection in a net.Socket.
    const listening = (server as unknown as { _handle: ListeningHandle })._handle;
    const take = sink.handle;
    // A failed accept (EMFILE, ECONNABORTED) leaves nothing to hand over; Node's own handler only reports it.
    listening.onconnection = (status, handle) => {
      if (status === 0 && handle !== undefined) take(handle);
    };
  }
  const info = server.address();
  let url = formatBind(bind, scheme);
  if (info !== null && typeof info === 'object') {
    const { address: host, port } = info as AddressInfo;
    url = formatBind({ type: 'tcp', host, port }, scheme);
  }
  return { address, bind, server, url };
}

/**
 * Opens every bind, or none: on a failure the ones already open are closed. `inherited`: the
 * sockets an upgrade handed over, by bind address, as file descriptors of this process.
 */
export async function openListeners(addresses: readonly string[], options: ListenOptions, sink: ConnectionSink, inherited?: ReadonlyMap<string, number>): Promise<Listener[]> {
  const open: Listener[] = [];
  try {
    for (const address of addresses) open.push(await listen(address, options, sink, inherited?.get(address)));
  } catch (error) {
    closeListeners(open);
    throw error;
  }
  return open;
}

/** A listener's socket as a file descriptor (to hand over in an upgrade), or null where it has none. */
export function listenerFd(listener: Listener): number | null {
  const fd = (listener.server as unknown as { _handle?: { fd?: unknown } | null })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : null;
}

/**
 * Stops accepting. close() stops at once; its callback is not awaited because it waits for
 * connections this server no longer tracks (each was handed to a worker). A unix socket's
 * file is removed by Node as the handle closes.
 */
export function closeListeners(listeners: readonly Listener[]): void {
  for (const listener of listeners) listener.server.close();
}
