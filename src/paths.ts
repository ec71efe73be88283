import { dirname, isAbsolute, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The folder holding hostd's own code (dist/ when built, src/ in development). Stack
 * frames under it are hostd's, not the user's, and are left out of config errors.
 */
export const HOSTD_CODE_DIR = ((here) => (here.endsWith(`${sep}chunks`) ? dirname(here) : here))(dirname(fileURLToPath(import.meta.url)));

/** A path as a user reads it: relative to the working directory when that is shorter. */
export function displayPath(path: string, cwd = process.cwd()): string {
  if (!isAbsolute(path)) return path;
  const rel = relative(cwd, path);
  if (rel === '') return '.';
  return rel.split(sep).filter((part) => part === '..').length > 2 ? path : rel;
}
