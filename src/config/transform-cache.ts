/**
 * hostd's own cache of transpiled config modules, in front of jiti's: a hit costs one file
 * read, where going through jiti (even to its own cache) first loads jiti, ~10 ms of every
 * process that evaluates a config (the primary, each worker, `hostd check`). An entry holds
 * the source it was made from and is used only for that exact text, file and mode; a
 * different hostd or jiti version uses other entries.
 *
 * Entries live in the project's node_modules/.cache/hostd (the nearest node_modules folder
 * above the module, cache-folder.ts). Without one there is no cache on disk; a worker still
 * gets its primary's transforms with its generation (transformsOf, adoptTransforms).
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { projectCacheFolder } from '../cache-folder.ts';
import type { ModuleSources } from './modules.ts';
import { VERSION } from '../version.ts';

declare const __JITI_VERSION__: string | undefined;

/** What makes a transform: hostd's and jiti's versions and how hostd calls jiti's transform. */
const KEY_PREFIX = `hostd ${VERSION}; jiti ${typeof __JITI_VERSION__ === 'string' ? __JITI_VERSION__ : 'dev'}; format 1`;

interface Entry {
  readonly key: string;
  readonly file: string;
  readonly source: string;
  readonly code: string;
}

/** FNV-1a, 32 bits, twice with different seeds: a file name, not a proof (an entry is checked against its source). */
function hash(text: string): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193) ^ (b >>> 15);
  }
  return (a >>> 0).toString(16).padStart(8, '0') + (b >>> 0).toString(16).padStart(8, '0');
}

/** Where the entry for this transform is, and the key it must hold. */
function place(file: string, source: string, mode: string): { path: string; key: string } | null {
  const folder = projectCacheFolder(dirname(file));
  if (folder === null) return null;
  const key = `${KEY_PREFIX}; ${mode}`;
  return { path: join(folder, `${hash(`${key}\0${file}\0${source}`)}.json`), key };
}

/** Every transform this process made or read, by mode and file: what its workers are given (a generation's transforms). */
const made = new Map<string, { readonly file: string; readonly mode: string; readonly source: string; readonly code: string }>();

function remember(file: string, source: string, mode: string, code: string): void {
  made.set(`${mode}\0${file}`, { file, mode, source, code });
}

/** The code cached for `source` of `file` transformed in `mode`, or undefined. */
export function cachedTransform(file: string, source: string, mode: string): string | undefined {
  const known = made.get(`${mode}\0${file}`);
  if (known?.source === source) return known.code;
  const at = place(file, source, mode);
  if (at === null) return undefined;
  try {
    const entry = JSON.parse(readFileSync(at.path, 'utf8')) as Partial<Entry>;
    const hit = entry.key === at.key && entry.file === file && entry.source === source && typeof entry.code === 'string';
    if (!hit) return undefined;
    remember(file, source, mode, entry.code!);
    return entry.code;
  } catch {
    // None yet, or unreadable: transformed again (and written again).
    return undefined;
  }
}

/** Keeps `code` for the next process; a cache that cannot be written (a read-only folder) is only slower. */
export function storeTransform(file: string, source: string, mode: string, code: string): void {
  remember(file, source, mode, code);
  const at = place(file, source, mode);
  if (at === null) return;
  try {
    mkdirSync(dirname(at.path), { recursive: true });
    // Written whole, then renamed: a process reading it meanwhile sees the old entry or none.
    const partial = `${at.path}.${process.pid}.tmp`;
    writeFileSync(partial, JSON.stringify({ key: at.key, file, source, code } satisfies Entry));
    renameSync(partial, at.path);
  } catch {
    // Not cached.
  }
}

/** A module's text as hostd evaluates it (transpiled, or stripped of its types), made by one process for another. */
export interface Transform {
  readonly file: string;
  readonly mode: string;
  readonly code: string;
}

/**
 * The transforms this process made or read of a generation's texts: the primary gives them to
 * its workers, which then neither load a compiler nor need the cache (a read-only filesystem).
 */
export function transformsOf(sources: ModuleSources): Transform[] {
  return [...made.values()].filter((t) => sources[t.file] === t.source).map(({ file, mode, code }) => ({ file, mode, code }));
}

/** Takes another process's transforms of `sources` (a worker, its primary's) as if read from the cache; anything malformed is left out. */
export function adoptTransforms(transforms: unknown, sources: ModuleSources): void {
  if (!Array.isArray(transforms)) return;
  for (const t of transforms as Partial<Transform>[]) {
    if (typeof t?.file !== 'string' || typeof t.mode !== 'string' || typeof t.code !== 'string' || !Object.hasOwn(sources, t.file)) continue;
    remember(t.file, sources[t.file]!, t.mode, t.code);
  }
}
