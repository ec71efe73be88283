/**
 * The folder a command works in: `chdir` (a flag or `HOSTD_CHDIR`), else the working
 * directory as the shell named it. Kept as named, symlinks and all, never resolved to the
 * real path: `/srv/app/current` is the same folder name after a release switch, so the
 * config file found in it has the same path (and the control socket named from that path
 * stays where the commands look), while what it holds is the new release's.
 */
import { HostdError } from '../errors.ts';
import { printablePath } from '../paths.ts';
import { envName, flagName } from './settings.ts';
import { type ConfigInputs, settingBeforeFile } from './resolve.ts';

/**
 * The inputs of a command that works in `chdir`: the folder it names becomes `cwd`, and the
 * setting itself is written as that absolute path, so that it names the same folder from
 * there (a relative `--chdir` is taken from the working directory, once). Unchanged
 * without `chdir`. A bad value is a ConfigInvalidError.
 */
export function withChdir(inputs: ConfigInputs): ConfigInputs {
  const chdir = settingBeforeFile(inputs, 'chdir');
  if (chdir === undefined || chdir.value === null) return inputs;
  const folder = chdir.value as string;
  if (chdir.source === flagName('chdir')) return { ...inputs, cwd: folder, flags: { ...inputs.flags, chdir: [folder] } };
  return { ...inputs, cwd: folder, env: { ...inputs.env, [envName('chdir')]: folder } };
}

const CHDIR_FAILURES: Readonly<Record<string, string>> = {
  ENOENT: 'no such folder (is it, or a symlink on its path, gone?)',
  ENOTDIR: 'it is not a folder',
  EACCES: 'permission denied',
  ELOOP: 'too many symbolic links',
};

/**
 * Makes `inputs.cwd` the process's working directory, at the start and again at every
 * reload: a symlink on its path is followed anew each time. `$PWD` names it as given, as
 * a shell's `cd` does, for the workers started from here. Throws a HostdError naming the
 * folder and where it came from.
 */
export function enterWorkingDirectory(inputs: ConfigInputs): void {
  try {
    process.chdir(inputs.cwd);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    const why = CHDIR_FAILURES[code] ?? (code || (error as Error).message);
    const chdir = settingBeforeFile(inputs, 'chdir');
    const what = chdir === undefined || chdir.value === null ? 'the working directory hostd started in' : `chdir (${chdir.source})`;
    throw new HostdError('HOSTD_ERR_CHDIR', `cannot change to ${what}, ${printablePath(inputs.cwd)}: ${why}`, { cause: error });
  }
  process.env.PWD = inputs.cwd;
}

/** The working directory this process started in, as named, before `chdir` (see startFolder). */
let startedIn: string | null = null;

/**
 * The working directory `hostd run` started in, as named, before it entered `chdir`: where an
 * upgrade starts the new primary, which then finds its folder as this one did (a relative
 * `--chdir`, or `$PWD` through a release symlink switched since). Null before enterChdir.
 */
export function startFolder(): string | null {
  return startedIn;
}

/**
 * `withChdir`, then into that folder: what a command that evaluates the config (`run`, `check`,
 * `print-config`, `export`) does first, so that the config sees the working directory `hostd run` gives it.
 */
export function enterChdir(inputs: ConfigInputs): ConfigInputs {
  startedIn ??= inputs.cwd;
  const inside = withChdir(inputs);
  enterWorkingDirectory(inside);
  return inside;
}
