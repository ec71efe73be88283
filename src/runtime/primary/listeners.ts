/**
 * The listening sockets. The primary owns them for its whole life (they do not come and
 * go with workers, so a port stays the same and an inherited fd stays open), accepts
 * connections paused, and hands each to a ready worker.
 */
import { existsSync, unlinkSync } from 'node:fs';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { formatBind, parseBind, type Bind } from '../../config/binds.ts';
import { HostdError } from '../../errors.ts';
import { printablePath } from '../../paths.ts';
import { escapeControls } from '../../text.ts';

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

async function listen(address: string, backlog: number, scheme: 'http' | 'https', onConnection: (socket: Socket) => void): Promise<Listener> {
  const parsed = parseBind(address);
  if (!parsed.ok) throw new HostdError('HOSTD_ERR_BIND', `cannot listen on ${printablePath(address)}: ${parsed.reason}`);
  const bind = parsed.bind;
  if (bind.type === 'unix' && existsSync(bind.path)) {
    // A socket file left by a process that died; remove it unless something still answers on it.
    if (await socketInUse(bind.path)) throw new HostdError('HOSTD_ERR_BIND', `cannot listen on ${printablePath(address)}: another process is listening on it`);
    unlinkSync(bind.path);
  }
  const server = createServer({ pauseOnConnect: true }, onConnection);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      const why = error.code === 'EADDRINUSE' ? 'address already in use' : error.code === 'EACCES' ? 'permission denied' : escapeControls(error.message);
      reject(new HostdError('HOSTD_ERR_BIND', `cannot listen on ${printablePath(address)}: ${why}`, { cause: error }));
    });
    if (bind.type === 'tcp') server.listen({ host: bind.host ?? undefined, port: bind.port, backlog }, resolve);
    else if (bind.type === 'unix') server.listen({ path: bind.path, backlog }, resolve);
    else server.listen({ fd: bind.fd, backlog }, resolve);
  });
  server.removeAllListeners('error');
  server.on('error', () => {});
  const info = server.address();
  let url = formatBind(bind, scheme);
  if (info !== null && typeof info === 'object') {
    const { address: host, port } = info as AddressInfo;
    url = formatBind({ type: 'tcp', host, port }, scheme);
  }
  return { address, bind, server, url };
}

/** Opens every bind, or none: on a failure the ones already open are closed. */
export async function openListeners(addresses: readonly string[], backlog: number, scheme: 'http' | 'https', onConnection: (socket: Socket) => void): Promise<Listener[]> {
  const open: Listener[] = [];
  try {
    for (const address of addresses) open.push(await listen(address, backlog, scheme, onConnection));
  } catch (error) {
    closeListeners(open);
    throw error;
  }
  return open;
}

/**
 * Stops accepting. close() stops at once; its callback is not awaited because it waits for
 * connections this server no longer tracks (each was handed to a worker). A unix socket's
 * file is removed by Node as the handle closes.
 */
export function closeListeners(listeners: readonly Listener[]): void {
  for (const listener of listeners) listener.server.close();
}
