/**
 * Where a hostd's control socket is: the `control_socket` setting, or by default a socket in
 * a private per-user folder named from the config file's path, so that `hostd status` run in
 * the project finds the primary started from it. Shared by the primary (which makes the
 * folder) and the commands that talk to it (which only look).
 */
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The folder of default sockets: `$XDG_RUNTIME_DIR/hostd`, else `/tmp/hostd-UID`. */
export function controlFolder(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const runtime = env.XDG_RUNTIME_DIR;
  const uid = process.getuid?.() ?? 0;
  return runtime ? join(runtime, 'hostd') : join(tmpdir(), `hostd-${uid}`);
}

/**
 * The socket's path for a setting and a config: null when off. The name is a hash of the
 * config's path (or of the working directory without one): a unix socket path must fit in
 * 107 bytes, which a project's own path may not.
 */
export function controlSocketPath(setting: string | null, configFile: string | null, cwd: string, env: Readonly<Record<string, string | undefined>> = process.env): string | null {
  if (setting === null) return null;
  if (setting !== 'auto') return setting;
  const name = createHash('sha256').update(configFile ?? cwd).digest('hex').slice(0, 16);
  return join(controlFolder(env), `${name}.sock`);
}

/**
 * Makes the default socket folder, owner-only, and checks that it is what it should be: a
 * folder (not a link someone put there) owned by this user, with no access for anyone else.
 * Returns why not, or null.
 */
export function prepareControlFolder(folder: string): string | null {
  try {
    mkdirSync(folder, { recursive: true, mode: 0o700 });
    const stats = lstatSync(folder);
    if (!stats.isDirectory()) return `${folder} is not a folder`;
    const uid = process.getuid?.();
    if (uid !== undefined && stats.uid !== uid) return `${folder} belongs to another user`;
    if ((stats.mode & 0o077) !== 0) return `${folder} is open to other users (mode ${(stats.mode & 0o777).toString(8)})`;
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}

/**
 * Whether a process holds a listening unix socket bound at `path` (from /proc/net/unix, the
 * kernel's own table: flag __SO_ACCEPTCON); null where that cannot be read (not Linux).
 */
export function listenerBoundAt(path: string): boolean | null {
  let table: string;
  try {
    table = readFileSync('/proc/net/unix', 'latin1');
  } catch {
    return null;
  }
  const ACCEPTING = 0x10000;
  for (const line of table.split('\n')) {
    // Num RefCount Protocol Flags Type St Inode Path: the path is what follows the seventh field.
    const fields = line.split(' ');
    if (fields.length < 8 || fields.slice(7).join(' ') !== path) continue;
    if ((Number.parseInt(fields[3]!, 16) & ACCEPTING) !== 0) return true;
  }
  return false;
}

/** What connecting to a control socket found: someone answers, nobody ever will, or it cannot be told now. */
export type SocketState = { readonly state: 'answers' } | SocketFailure;
export type SocketFailure = { readonly state: 'stale' } | { readonly state: 'unsure'; readonly why: string };

/**
 * Judges a connection failure on a control socket. Only a refusal (ECONNREFUSED: nothing is
 * bound to the file any more) with no live listener at the path is stale; anything else (a
 * full backlog's EAGAIN, a primary out of descriptors closing what it accepted, a timeout)
 * is a primary that is there but cannot answer now, and its socket file must stay.
 */
export function judgeFailure(path: string, code: string | undefined): SocketFailure {
  if (code === 'ENOENT') return { state: 'stale' };
  if (code === 'ECONNREFUSED' && listenerBoundAt(path) !== true) return { state: 'stale' };
  return { state: 'unsure', why: FAILURES[code ?? ''] ?? `connecting failed (${code ?? 'no error code'})` };
}

const FAILURES: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'it refused the connection, though a process still listens there',
  EAGAIN: 'its queue of connections is full (EAGAIN)',
  ECONNRESET: 'it closed the connection without answering (ECONNRESET)',
  EPIPE: 'it closed the connection without answering (EPIPE)',
  EACCES: 'permission denied (EACCES): the socket is another user\'s',
};

/** Connects once to a control socket and says what it found. */
export function probeSocket(path: string): Promise<SocketState> {
  return new Promise((resolve) => {
    const probe = connect(path);
    probe.once('connect', () => (probe.destroy(), resolve({ state: 'answers' })));
    probe.once('error', (error: NodeJS.ErrnoException) => resolve(judgeFailure(path, error.code)));
  });
}
