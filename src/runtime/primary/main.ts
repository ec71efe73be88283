import type { ConfigInputs } from '../../config/resolve.ts';
import type { ResolvedConfig } from '../../config/types.ts';
import { printablePath } from '../../paths.ts';
import { checkLogs } from './generation.ts';
import { PrimaryShell } from './shell.ts';
import type { Inheritance } from './upgrade.ts';

/**
 * Runs the primary and exits the process with its code (a user's timer must not keep a
 * stopped primary alive). Workers get the same config inputs, with the environment cut
 * down to what config resolution reads: `HOSTD_*` and `NODE_ENV`. `inheritance`: what the
 * primary an upgrade replaces handed over (upgrade.ts).
 */
export async function runPrimary(config: ResolvedConfig, inputs: ConfigInputs, inheritance: Inheritance | null = null): Promise<never> {
  const env = Object.fromEntries(Object.entries(inputs.env).filter(([key]) => key.startsWith('HOSTD_') || key === 'NODE_ENV'));
  checkLogs(config.settings);
  const shell = new PrimaryShell(config, { ...inputs, env }, inheritance);
  const code = await shell.run();
  const errorlog = config.settings.errorlog;
  if (code !== 0 && errorlog !== '-') {
    // The details went to the error log; the terminal still learns why hostd stopped.
    const why = shell.lastCritical !== null ? `: ${shell.lastCritical}` : '';
    process.stderr.write(`hostd: stopped with exit code ${code}${why} (details in ${errorlog === null ? 'the error log' : printablePath(errorlog)})\n`);
  }
  process.exit(code);
}
