import { statSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hasControls, quote } from './text.ts';

/**
 * The folder holding hostd's own code (dist/ when built, src/ in development). Stack
 * frames under it are hostd's, not the user's, and are left out of config errors.
 */
export const HOSTD_CODE_DIR = ((here) => (here.endsWith(`${sep}chunks`) ? dirname(here) : here))(dirname(fileURLToPath(import.meta.url)));

/** A path as a user reads it: relative to the working directory when that is shorter. Not yet safe to print (see displayPath). */
export function shortPath(path: string, cwd = process.cwd()): string {
  if (!isAbsolute(path)) return path;
  const rel = relative(cwd, path);
  if (rel === '') return '.';
  return rel.split(sep).filter((part) => part === '..').length > 2 ? path : rel;
}

/**
 * A path hostd did not write, safe to print in a message or a log line: as it is, or
 * quoted (JSON) when it holds a control character, which would otherwise break the line
 * or drive the terminal (a newline, an escape sequence).
 */
export function printablePath(path: string): string {
  return hasControls(path) ? quote(path) : path;
}

/** A path as a user reads it (shortPath), safe to print (printablePath). */
export function displayPath(path: string, cwd = process.cwd()): string {
  return printablePath(shortPath(path, cwd));
}

/**
 * The working directory as the shell named it: `$PWD` when it names this very folder (a
 * symlink on the way kept, as gunicorn's getcwd does), else the real path `getcwd()` gives.
 */
export function workingDirectory(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const cwd = process.cwd();
  const pwd = env.PWD;
  // POSIX: $PWD is absolute and has no `.` or `..` parts; anything else is not a name of this folder.
  if (pwd === undefined || !isAbsolute(pwd) || resolve(pwd) !== pwd || pwd === cwd) return cwd;
  try {
    const named = statSync(pwd);
    const real = statSync(cwd);
    return named.ino === real.ino && named.dev === real.dev ? pwd : cwd;
  } catch {
    return cwd;
  }
}
