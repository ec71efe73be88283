/**
 * A generation from a config: resolved and checked the same way at start and at every
 * reload, so a rule about what the primary can run with is written once. The core sees a
 * generation as `GenerationInfo` (settings, worker count, hook counts).
 */
import type { HookName } from '../../config/options.generated.ts';
import { type ConfigInputs, releaseConfig, resolveConfig } from '../../config/resolve.ts';
import { enterWorkingDirectory } from '../../config/working-directory.ts';
import { HOOK_NAMES } from '../../config/hooks-table.ts';
import type { ResolvedConfig } from '../../config/types.ts';
import { HostdError } from '../../errors.ts';
import { usableCpus } from '../cpus.ts';
import { logProblem } from '../log.ts';
import { cgroupMemoryLimit } from '../memory.ts';
import type { GenerationInfo } from './events.ts';

/**
 * Throws when a log file the settings name cannot be opened now: a log no process could
 * open is the user's to fix, not a boot failure in every worker (at start, hostd exits 1;
 * at a reload, the old generation keeps serving).
 */
export function checkLogs(settings: ResolvedConfig['settings']): void {
  const problems = [logProblem(settings.errorlog, 'errorlog'), logProblem(settings.accesslog, 'accesslog')].filter((p): p is string => p !== null);
  if (problems.length > 0) throw new HostdError('HOSTD_ERR_LOG', problems.join('\n'));
}

/** A folder as the primary is in it: the kernel's (a release's real folder) and the shell's name for it (PWD, which may go through a symlink). */
export interface Folder {
  readonly cwd: string;
  readonly pwd: string | undefined;
}

export function currentFolder(): Folder {
  return { cwd: process.cwd(), pwd: process.env.PWD };
}

/** Goes back to `folder`; nothing to go back to when it is gone. */
export function enterFolder(folder: Folder): void {
  try {
    process.chdir(folder.cwd);
    process.env.PWD = folder.pwd;
  } catch {
    // That folder is gone too: nothing to go back to.
  }
}

/**
 * The config resolved again for a new generation, checked as at start, from `chdir` entered
 * anew (a release symlink switched since is followed). A failed reload goes back to the
 * serving generation's folder (the shell, on reload_failed).
 */
export async function resolveGeneration(inputs: ConfigInputs): Promise<ResolvedConfig> {
  enterWorkingDirectory(inputs);
  const config = await resolveConfig(inputs);
  try {
    checkLogs(config.settings);
  } catch (error) {
    releaseConfig(config);
    throw error;
  }
  return config;
}

/** A resolved config as the core sees it: settings, the worker count, hook counts. */
export function generationInfo(number: number, config: ResolvedConfig): GenerationInfo {
  const workers = config.settings.workers === 'auto' ? usableCpus() : config.settings.workers;
  const hooks = Object.fromEntries(HOOK_NAMES.map((name) => [name, config.hooks[name].length])) as Record<HookName, number>;
  return { number, settings: config.settings, workers, hooks, memoryLimit: config.settings.max_memory === 'auto' ? cgroupMemoryLimit() : null };
}
