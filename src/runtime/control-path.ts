/**
 * Where a hostd's control socket is: the `control_socket` setting, or by default a socket in
 * a private per-user folder named from the config file's path, so that `hostd status` run in
 * the project finds the primary started from it. Shared by the primary (which makes the
 * folder) and the commands that talk to it (which only look).
 */
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync } from 'node:fs';
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
