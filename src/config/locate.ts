/**
 * What a config resolves from (ConfigInputs), and which config file that is. Free of the
 * settings' validation: a worker, replaying its generation, finds its config file here too.
 */
import { type Stats, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { HostdError } from '../errors.ts';
import { displayPath, printablePath } from '../paths.ts';
import { escapeControls } from '../text.ts';
import { CONFIG_FILE_NAMES, findConfigFile } from './discover.ts';
import type { LoaderVerdict, ModuleSources } from './modules.ts';
import type { Transform } from './transform-cache.ts';
import type { SettingName } from './settings.ts';
import type { Command } from './types.ts';

/** Everything a config resolves from. Plain data, so the primary can hand it to workers. */
export interface ConfigInputs {
  readonly command: Command;
  readonly cwd: string;
  /** The file given with `--config` (relative to `cwd`); absent to search for one. */
  readonly configFile?: string | undefined;
  /** False when running on defaults, env and flags alone is allowed (`hostd run APP`). */
  readonly requireFile: boolean;
  /** Flag texts by setting, as typed (a repeated flag gives several). */
  readonly flags: Readonly<Partial<Record<SettingName, readonly string[]>>>;
  /** How to name a flag source in messages when it is not `--name` (e.g. `APP argument`). */
  readonly flagLabels?: Readonly<Partial<Record<SettingName, string>>>;
  /** The environment: `HOSTD_*` variables and `NODE_ENV`. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Sources to evaluate instead of the files on disk: a worker replays its generation's. */
  readonly modules?: ModuleSources | undefined;
  /** The primary's transforms of those sources (transform-cache.ts), so that a worker makes none. */
  readonly transforms?: readonly Transform[] | undefined;
  /**
   * Whether Node itself or jiti loaded each root of those sources in the primary, and on what
   * runtime, so that a worker on the same runtime does not probe again (native.ts). Read
   * through knownLoaders: what arrives in a boot message is checked, not trusted.
   */
  readonly loaders?: LoaderVerdict | undefined;
}

/**
 * Finds the config file to use, or null when none is needed and none exists. When replaying
 * a generation, the config file is the one among its sources, even if it left the disk since.
 */
export function locateConfigFile(inputs: ConfigInputs): string | null {
  const replayed = inputs.modules;
  if (inputs.configFile !== undefined) {
    const file = resolve(inputs.cwd, inputs.configFile);
    // Named as typed: `/tmp` rather than `../..`.
    if (!(replayed && Object.hasOwn(replayed, file))) checkConfigFile(file, printablePath(inputs.configFile));
    return file;
  }
  const found = findConfigFile(inputs.cwd, replayed && ((path) => Object.hasOwn(replayed, path)));
  if (found === null && inputs.requireFile) {
    throw new HostdError(
      'HOSTD_ERR_CONFIG_NOT_FOUND',
      `no config file found in ${printablePath(inputs.cwd)} or its parents up to the project root (looked for ${CONFIG_FILE_NAMES.join(', ')}); create one with \`hostd init\` or pass --config FILE`,
    );
  }
  if (found !== null && !replayed) checkConfigFile(found, displayPath(found, inputs.cwd));
  return found;
}

/**
 * Refuses a config path that is not a regular file: a folder cannot be read, and reading a
 * device or a named pipe may never end (/dev/zero, a FIFO nobody writes to). The null
 * device reads as an empty file, and is reported as one.
 */
function checkConfigFile(file: string, shown: string): void {
  let stats: Stats | undefined;
  try {
    stats = statSync(file, { throwIfNoEntry: false });
  } catch (error) {
    throw new HostdError('HOSTD_ERR_CONFIG_NOT_FOUND', `cannot read ${shown}: ${escapeControls((error as Error).message)}`, { cause: error });
  }
  if (stats === undefined) throw new HostdError('HOSTD_ERR_CONFIG_NOT_FOUND', `config file not found: ${shown}`);
  if (stats.isFile() || (stats.isCharacterDevice() && stats.rdev === statSync('/dev/null', { throwIfNoEntry: false })?.rdev)) return;
  throw new HostdError('HOSTD_ERR_CONFIG_NOT_FOUND', `config file ${shown} is ${fileKind(stats)}, not a regular file`);
}

/** What a path that is not a regular file is, in a few words. */
function fileKind(stats: Stats): string {
  if (stats.isDirectory()) return 'a folder';
  if (stats.isFIFO()) return 'a named pipe (FIFO)';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isSocket()) return 'a socket';
  return 'a special file';
}
