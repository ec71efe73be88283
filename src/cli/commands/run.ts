import { type ConfigInputs, resolveConfig } from '../../config/resolve.ts';
import { enterChdir } from '../../config/working-directory.ts';
import { HostdError } from '../../errors.ts';
import { reportError } from '../report.ts';
import { takeInheritance } from '../../runtime/primary/upgrade.ts';

/** Enters `chdir`, resolves the config (exactly as `check` does), then hands it to the primary. */
export async function runCommand(given: ConfigInputs): Promise<number> {
  try {
    // A new primary of an upgrade: what the old one handed over, taken out before the config reads HOSTD_* variables.
    const inheritance = takeInheritance(given.env);
    // The primary enters it again at every reload (resolveGeneration), from these inputs.
    const inputs = enterChdir(given);
    const config = await resolveConfig(inputs);
    if (config.settings.app === null) {
      throw new HostdError('HOSTD_ERR_APP_MISSING', 'no app to run: set `app` in the config, HOSTD_APP, or pass it: hostd run ./src/app.ts');
    }
    const { runPrimary } = await import('../../runtime/primary/main.ts');
    return await runPrimary(config, inputs, inheritance);
  } catch (error) {
    return reportError(error, false);
  }
}
