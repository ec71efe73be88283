/** Reading this process's cgroup: what limits the CPUs and memory it may use. */
import { readFileSync } from 'node:fs';

/** A file's text, trimmed, or null when it cannot be read. */
export function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return null;
  }
}

/** The text of /proc/self/cgroup, which names this process's cgroup. */
export function selfCgroup(): string | null {
  return readText('/proc/self/cgroup');
}

/**
 * The cgroup v2 folders to read a controller file from, most specific first: this process's
 * own ("0::/path" in /proc/self/cgroup) under `root`, then `root` (a container sees its own
 * cgroup there).
 */
export function v2Folders(root: string, cgroup: string | null): string[] {
  const path = cgroup
    ?.split('\n')
    .find((line) => line.startsWith('0::'))
    ?.slice(3);
  return path !== undefined ? [`${root}${path === '/' ? '' : path}`, root] : [root];
}
