import { dirname, isAbsolute, relative, sep } from 'node:path';
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
