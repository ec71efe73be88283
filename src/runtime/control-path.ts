/**
 * Where a hostd's control socket is: the `control_socket` setting, or by default a socket in
 * a private per-user folder named from the config file's path, so that `hostd status` run in
 * the project finds the primary started from it. Beside it, the primary leaves a record
 * (the same name, `.json`) of where its socket is, so that the commands find a custom
 * `control_socket` from the config file's location alone, without evaluating the file (which
 * may no longer parse). Shared by the primary (which makes the folder and writes the record)
 * and the commands that talk to it (which only look, and trust nothing they read).
 */
import { createHash } from 'node:crypto';
import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readFileSync, readSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';

/** The folder of default sockets: `$XDG_RUNTIME_DIR/hostd`, else `/tmp/hostd-UID`. */
export function controlFolder(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const runtime = env.XDG_RUNTIME_DIR;
  const uid = process.getuid?.() ?? 0;
  return runtime ? join(runtime, 'hostd') : join(tmpdir(), `hostd-${uid}`);
}

/**
 * The name a config's default socket and record have: a hash of the config's path (or of
 * the working directory without one). A unix socket path must fit in 107 bytes, which a
 * project's own path may not.
 */
function controlName(configFile: string | null, cwd: string): string {
  return createHash('sha256').update(configFile ?? cwd).digest('hex').slice(0, 16);
}

/** The socket's path for a setting and a config: null when off. */
export function controlSocketPath(setting: string | null, configFile: string | null, cwd: string, env: Readonly<Record<string, string | undefined>> = process.env): string | null {
  if (setting === null) return null;
  if (setting !== 'auto') return setting;
  return join(controlFolder(env), `${controlName(configFile, cwd)}.sock`);
}

/** Where the primary started from this config leaves its record (ControlRecord). */
export function controlRecordPath(configFile: string | null, cwd: string, env: Readonly<Record<string, string | undefined>> = process.env): string {
  return join(controlFolder(env), `${controlName(configFile, cwd)}.json`);
}

/** Checks that the control folder is a folder (not a link) owned by this user and no one else's to use; returns why not, or null. */
export function checkControlFolder(folder: string): string | null {
  const stats = lstatSync(folder, { throwIfNoEntry: false });
  if (stats === undefined) return `${folder} does not exist`;
  if (!stats.isDirectory()) return `${folder} is not a folder`;
  const uid = process.getuid?.();
  if (uid !== undefined && stats.uid !== uid) return `${folder} belongs to another user`;
  if ((stats.mode & 0o077) !== 0) return `${folder} is open to other users (mode ${(stats.mode & 0o777).toString(8)})`;
  return null;
}

/**
 * Makes the default socket folder, owner-only, and checks that it is what it should be: a
 * folder (not a link someone put there) owned by this user, with no access for anyone else.
 * Returns why not, or null.
 */
export function prepareControlFolder(folder: string): string | null {
  try {
    mkdirSync(folder, { recursive: true, mode: 0o700 });
    return checkControlFolder(folder);
  } catch (error) {
    return (error as Error).message;
  }
}

/**
 * What a running primary leaves beside its default socket: its pid, its socket (null:
 * `control_socket: null`, so that the commands can say so), and the config it was started
 * from (null: none, it ran from its working directory).
 */
export interface ControlRecord {
  readonly pid: number;
  readonly socket: string | null;
  readonly config: string | null;
}

/** A record is a few hundred bytes; anything larger is not one. */
const MAX_RECORD_BYTES = 4096;
/** The longest path a unix socket can have on Linux (sun_path holds 108 bytes with its NUL). */
export const MAX_SOCKET_PATH_BYTES = 107;

/** Writes the record owner-only, whole or not at all (a reader never sees half of it). */
export function writeControlRecord(path: string, record: ControlRecord): void {
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(temporary, `${JSON.stringify({ hostd: 1, ...record })}\n`, { mode: 0o600, flag: 'wx' });
    renameSync(temporary, path);
  } catch (error) {
    try {
      unlinkSync(temporary);
    } catch {}
    throw error;
  }
}

/** What reading a record found: nothing, a record, or why what is there is not one to trust. */
export type RecordReading = { readonly found: 'none' } | { readonly found: 'record'; readonly record: ControlRecord } | { readonly found: 'invalid'; readonly why: string };

/**
 * Reads the record at `path` as untrusted input: it must be a regular file (not a link, a
 * FIFO, a device) owned by this user and readable by no one else, in a folder that passes
 * checkControlFolder, at most MAX_RECORD_BYTES, and hold exactly a record: a pid, an
 * absolute socket path a unix socket can have (or null), and `configFile` as its config.
 */
export function readControlRecord(path: string, configFile: string | null): RecordReading {
  const folder = checkControlFolder(dirname(path));
  let fd: number;
  try {
    // O_NOFOLLOW: a link is refused by the kernel itself; O_NONBLOCK: a FIFO put there cannot hang the read.
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { found: 'none' };
    return { found: 'invalid', why: code === 'ELOOP' ? 'it is a symbolic link' : `it cannot be read (${code ?? (error as Error).message})` };
  }
  let text: string;
  try {
    if (folder !== null) return { found: 'invalid', why: folder };
    const stats = fstatSync(fd);
    if (!stats.isFile()) return { found: 'invalid', why: 'it is not a regular file' };
    const uid = process.getuid?.();
    if (uid !== undefined && stats.uid !== uid) return { found: 'invalid', why: 'it belongs to another user' };
    if ((stats.mode & 0o077) !== 0) return { found: 'invalid', why: `it is open to other users (mode ${(stats.mode & 0o777).toString(8)})` };
    if (stats.size > MAX_RECORD_BYTES) return { found: 'invalid', why: `it is larger than ${MAX_RECORD_BYTES} bytes` };
    const buffer = Buffer.alloc(MAX_RECORD_BYTES + 1);
    const length = readSync(fd, buffer, 0, buffer.length, 0);
    if (length > MAX_RECORD_BYTES) return { found: 'invalid', why: `it is larger than ${MAX_RECORD_BYTES} bytes` };
    text = buffer.toString('utf8', 0, length);
  } finally {
    closeSync(fd);
  }
  const why = recordProblem(text, configFile);
  return typeof why === 'string' ? { found: 'invalid', why } : { found: 'record', record: why };
}

/** The record in `text`, or what is wrong with it. */
function recordProblem(text: string, configFile: string | null): ControlRecord | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'it is not JSON';
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'it is not a JSON object';
  const r = value as Record<string, unknown>;
  const keys = Object.keys(r).sort().join(',');
  if (keys !== 'config,hostd,pid,socket' || r.hostd !== 1) return 'it is not a hostd control record (version 1)';
  if (!Number.isSafeInteger(r.pid) || (r.pid as number) < 2) return 'its pid is not a process id';
  const socket = r.socket;
  if (socket !== null && (typeof socket !== 'string' || !isAbsolute(socket) || socket.includes('\0') || Buffer.byteLength(socket) > MAX_SOCKET_PATH_BYTES)) {
    return 'its socket is not an absolute path a unix socket can have';
  }
  if (r.config !== configFile) return `it names another config (${JSON.stringify(r.config)})`;
  return { pid: r.pid as number, socket: socket as string | null, config: configFile };
}

/** Removes the record if it still names `pid` (a newer primary's record stays). */
export function removeControlRecord(path: string, configFile: string | null, pid: number): void {
  const reading = readControlRecord(path, configFile);
  if (reading.found !== 'record' || reading.record.pid !== pid) return;
  try {
    unlinkSync(path);
  } catch {}
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

/**
 * What became of a process: `gone`, a `zombie` (it exited and its parent has not collected
 * it: it is not running), `stopped` (SIGSTOP or SIGTSTP: it runs nothing until SIGCONT), or
 * `running`. From /proc where there is one; elsewhere by signal 0, which cannot tell a
 * zombie or a stopped process (`running`).
 */
export type ProcessState = 'gone' | 'zombie' | 'stopped' | 'running';

export function processState(pid: number): ProcessState {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // The state follows the command name, which may hold spaces and parentheses.
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (state === 'Z' || state === 'X') return 'zombie';
    if (state === 'T' || state === 't') return 'stopped';
    return 'running';
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || process.platform !== 'linux') {
      try {
        process.kill(pid, 0);
        return 'running';
      } catch (error) {
        return (error as NodeJS.ErrnoException).code === 'EPERM' ? 'running' : 'gone';
      }
    }
    return 'gone';
  }
}
