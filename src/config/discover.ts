import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { HostdError } from '../errors.ts';
import { printablePath } from '../paths.ts';

/** The names a config file may have, in the order they are looked for. */
export const CONFIG_FILE_NAMES = ['ts', 'mts', 'cts', 'js', 'mjs', 'cjs', 'json'].map((ext) => `hostd.config.${ext}`);

/**
 * Looks for a config file in `cwd`, then each parent, stopping at the project root (the
 * first folder holding a package.json or .git). Two config files side by side are an
 * error rather than a silent pick. `isConfig` says whether a config file is there (a
 * worker looks in its generation's sources, not on disk).
 */
export function findConfigFile(cwd: string, isConfig: (path: string) => boolean = existsSync): string | null {
  for (let dir = cwd; ; dir = dirname(dir)) {
    const found = CONFIG_FILE_NAMES.filter((name) => isConfig(join(dir, name)));
    if (found.length > 1) {
      throw new HostdError(
        'HOSTD_ERR_CONFIG_AMBIGUOUS',
        `${printablePath(dir)} holds ${found.join(' and ')}; keep one, or pick one with --config`,
      );
    }
    if (found.length === 1) return join(dir, found[0]!);
    if (existsSync(join(dir, 'package.json')) || existsSync(join(dir, '.git')) || dirname(dir) === dir) return null;
  }
}
