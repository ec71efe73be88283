/**
 * `reload: true`: watch the app's folder, the config file and `reload_extra_files`, and
 * call back (debounced) when something there changes. The primary answers with a reload,
 * so the sockets stay open and no request is refused while the code changes.
 */
import { type FSWatcher, statSync, watch } from 'node:fs';
import { basename, dirname, join, sep } from 'node:path';
import { printablePath } from '../../paths.ts';
import { escapeControls } from '../../text.ts';
import type { ErrorLog } from '../log.ts';

const DEBOUNCE_MS = 200;

export interface Watcher {
  close(): void;
}

/** node_modules, dot-folders and dot-files, and the files hostd itself writes. */
function ignored(file: string, own: ReadonlySet<string>): boolean {
  return own.has(file) || file.split(sep).some((part) => part === 'node_modules' || (part.startsWith('.') && part.length > 1));
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Watches `paths` (folders recursively; a file through its folder, since editors often
 * replace files rather than write them). `own` lists files hostd writes (logs, pidfile),
 * which must not trigger a reload.
 */
export function watchForChanges(paths: readonly string[], own: ReadonlySet<string>, onChange: (file: string) => void, log: ErrorLog): Watcher {
  const watchers: FSWatcher[] = [];
  let timer: NodeJS.Timeout | undefined;
  let changed: string | undefined;
  const fire = (file: string) => {
    if (ignored(file, own)) return;
    changed ??= file;
    clearTimeout(timer);
    timer = setTimeout(() => {
      const first = changed!;
      changed = undefined;
      onChange(first);
    }, DEBOUNCE_MS);
  };
  const unique = [...new Set(paths)];
  for (const path of unique) {
    try {
      if (isDirectory(path)) {
        watchers.push(watch(path, { recursive: true }, (_event, name) => name && fire(join(path, name.toString()))));
      } else {
        const name = basename(path);
        watchers.push(watch(dirname(path), (_event, changedName) => changedName?.toString() === name && fire(path)));
      }
    } catch (error) {
      log.warn(`reload: cannot watch ${printablePath(path)}: ${escapeControls((error as Error).message)}`);
    }
  }
  log.info(`reload: watching ${unique.map(printablePath).join(', ')} for changes`);
  return {
    close() {
      clearTimeout(timer);
      for (const watcher of watchers) watcher.close();
    },
  };
}
