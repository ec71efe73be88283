/**
 * hostd's cache folder for code in a folder: node_modules/.cache/hostd in the nearest
 * node_modules above it, the project's own (as other tools keep theirs), never a folder
 * other users can write to, since what is cached there is code hostd runs.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

const folders = new Map<string, string | null>();

/** node_modules/.cache/hostd in the nearest folder above `dir` (or `dir` itself) that has a node_modules; null when none has. */
export function projectCacheFolder(dir: string): string | null {
  let folder = folders.get(dir);
  if (folder === undefined) {
    folder = null;
    for (let at = dir; ; at = dirname(at)) {
      if (existsSync(join(at, 'node_modules'))) {
        folder = join(at, 'node_modules', '.cache', 'hostd');
        break;
      }
      if (dirname(at) === at) break;
    }
    folders.set(dir, folder);
  }
  return folder;
}
