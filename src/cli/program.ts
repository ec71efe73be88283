/**
 * The command line: one subcommand per file in commands/, setting flags generated from
 * the settings table. Exit codes: 0 success, 1 config or start error, 2 usage, 3 workers
 * cannot boot.
 */
import { Argument, Command, CommanderError, Option } from 'commander';
import type { ConfigInputs } from '../config/resolve.ts';
import type { ExportOptions, ExportTarget } from './commands/export.ts';
import type { Command as ConfigCommand } from '../config/types.ts';
import { PRESET_NAMES, type PresetName } from '../config/shipped-presets.ts';
import { ERRORS } from '../errors.ts';
import { workingDirectory } from '../paths.ts';
import { VERSION } from '../version.ts';
import { addSettingFlag, addSettingFlags as addFlags, settingFlagValues } from './flags.ts';
import { out } from './output.ts';
import { reportError } from './report.ts';

interface CommonOptions {
  config?: string;
  json?: boolean;
}

function inputsFor(command: ConfigCommand, cmd: Command, options: CommonOptions, requireFile: boolean, app?: string): ConfigInputs {
  const flags = settingFlagValues(cmd);
  if (app !== undefined) flags.app = [app];
  return {
    command,
    // As the shell named it: a release folder behind a symlink keeps its name.
    cwd: workingDirectory(),
    configFile: options.config,
    requireFile,
    flags,
    flagLabels: app !== undefined ? { app: 'APP argument' } : {},
    env: process.env,
  };
}

/** The targets of `hostd export` (kept here so --help does not load the exporters). */
const EXPORT_TARGET_NAMES: ExportTarget[] = ['systemd', 'kubernetes', 'docker'];

/**
 * `check --no-app`. Commander would store it as the negation of `--app <module>` (the `app`
 * setting's flag), so that `--app X --no-app` lost X; it is kept apart, as `loadApp`.
 */
class NoAppOption extends Option {
  constructor() {
    super('--no-app', 'do not load the app: validate the config only (for an app with side effects at import)');
  }

  override attributeName(): string {
    return 'loadApp';
  }
}

const configOption = () => new Option('-c, --config <file>', 'config file (default: hostd.config.* found from here upward)');

/**
 * The whole command line. `invoked`: the subcommand this run is for; only it gets the setting
 * flags (some 50 options per command, a few ms each time commander builds them), since a run
 * parses and shows the help of one command. Undefined: every command gets them.
 */
export function buildProgram(setExitCode: (code: number) => void, invoked?: string): Command {
  const addSettingFlags = (command: Command, inHelp: boolean): Command => (invoked === undefined || invoked === command.name() ? addFlags(command, inHelp) : command);
  const program = new Command('hostd')
    .description('A pre-fork HTTP application host for Node.js, configured by a typed, checked hostd.config.ts.')
    .version(VERSION, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .showSuggestionAfterError(true)
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ sortSubcommands: false, showGlobalOptions: false })
    .exitOverride();

  const run = new Command('run')
    .description('start the primary: bind, fork workers, serve the app (flags mirror the settings)')
    .argument('[APP]', 'the app module, ./src/app.ts or ./src/app.ts#name (overrides `app`)')
    .addOption(configOption());
  addSettingFlags(run, true).action(async (app: string | undefined, options: CommonOptions, cmd: Command) => {
    const { runCommand } = await import('./commands/run.ts');
    setExitCode(await runCommand(inputsFor('run', cmd, options, false, app)));
  });

  const check = new Command('check')
    .description('validate the config and load the app as a worker would (in a separate process, within boot_timeout); print a summary (exit 0 valid, 1 invalid, 2 usage)')
    .addOption(configOption())
    .option('--json', 'machine-readable output')
    .addOption(new NoAppOption())
    .option('--warm', "also fill the caches `hostd run` reads (Node's compiled code of hostd and the app): an image's last build step");
  addSettingFlags(check, false).action(async (options: CommonOptions & { loadApp: boolean; warm?: boolean }, cmd: Command) => {
    const { checkCommand } = await import('./commands/check.ts');
    setExitCode(await checkCommand(inputsFor('check', cmd, options, true), options.json === true, options.loadApp, options.warm === true));
  });

  const printConfig = new Command('print-config')
    .description('print the resolved config and where every value came from')
    .addOption(configOption())
    .option('--json', 'machine-readable output');
  addSettingFlags(printConfig, false).action(async (options: CommonOptions, cmd: Command) => {
    const { printConfigCommand } = await import('./commands/print-config.ts');
    setExitCode(await printConfigCommand(inputsFor('print-config', cmd, options, true), options.json === true));
  });

  const schema = new Command('schema').description('print the JSON Schema of the config file').action(async () => {
    const { schemaCommand } = await import('./commands/schema.ts');
    setExitCode(schemaCommand());
  });

  const init = new Command('init')
    .description('write a starter config that fits this project: its app, language and module type (exit 1 if one exists)')
    .addOption(new Option('--preset <name>', 'start from a shipped preset; only what it does not set is written').choices(PRESET_NAMES))
    .option('--force', 'replace an existing config file')
    .action(async (options: { preset?: PresetName; force?: boolean }) => {
      const { initCommand } = await import('./commands/init.ts');
      setExitCode(await initCommand(process.cwd(), options));
    });

  const exporting = new Command('export')
    .description('write deployment files that agree with the config (timeouts, signals, probes): systemd units, Kubernetes manifests, a Dockerfile')
    .addArgument(new Argument('<target>', 'what to export for').choices(EXPORT_TARGET_NAMES))
    .addOption(configOption())
    .option('-o, --out <dir>', 'write the files into this folder (default: print them)')
    .option('--name <name>', 'unit / resource name (default: proc_name, else the package name)')
    .option('--socket', 'systemd: a .socket unit holds the binds (socket activation)')
    .option('--user <user>', 'systemd: run the service as this user')
    .option('--working-directory <dir>', 'systemd: the project\'s folder where the service runs, absolute (default: /srv/NAME)')
    .option('--image <image>', 'kubernetes: the container image (default: NAME:latest)')
    .option('--replicas <n>', 'kubernetes: pods in the Deployment (default: 2)')
    .option('--cpus <n>', 'kubernetes: CPUs per pod when workers is "auto" (default: 2)')
    .option('--memory-per-worker <MiB>', 'kubernetes: memory per worker; the primary gets one share too (default: 256)')
    .option('--from <image>', 'docker: the base image (default: node:MAJOR-slim, the Node running this command)');
  exporting.addHelpText(
    'after',
    ['', 'Examples:', '  hostd export systemd --name api --user www-data --out /etc/systemd/system', '  hostd export kubernetes --image registry.example/api:1.4 > k8s.yaml', '  hostd export docker > Dockerfile'].join('\n'),
  );
  addSettingFlags(exporting, false).action(async (target: ExportTarget, options: CommonOptions & ExportOptions, cmd: Command) => {
    const { exportCommand } = await import('./commands/export.ts');
    setExitCode(await exportCommand(target, inputsFor('export', cmd, options, false), options));
  });

  /**
   * A command that talks to the running primary over its control socket; it reads the config's
   * location, never the config: from `--chdir`, as the primary found it.
   */
  const controlling = (name: string, description: string) => addSettingFlag(addSettingFlag(new Command(name).description(description).addOption(configOption()), 'chdir'), 'control_socket');
  const controlInputs = (cmd: Command, options: CommonOptions) => inputsFor('print-config', cmd, options, false);
  const status = controlling('status', 'show the running primary and its workers (exit 1 if not running)')
    .option('--json', 'machine-readable output')
    .action(async (options: CommonOptions, cmd: Command) => {
      const { controlCommand } = await import('./commands/control.ts');
      setExitCode(await controlCommand(controlInputs(cmd, options), { command: 'status' }, options.json === true));
    });
  const reload = controlling('reload', 'reload the running primary (as SIGHUP) and wait for the outcome: exit 0 when the new generation serves, 1 with the reason').action(
    async (options: CommonOptions, cmd: Command) => {
      const { controlCommand } = await import('./commands/control.ts');
      setExitCode(await controlCommand(controlInputs(cmd, options), { command: 'reload' }, false));
    },
  );
  const upgrade = controlling(
    'upgrade',
    'start a new primary from the Node and hostd on disk now, on the same sockets (as SIGUSR2), and wait until it serves: exit 0, then the old one stops; 1 with the reason, and the old one keeps serving',
  ).action(async (options: CommonOptions, cmd: Command) => {
    const { controlCommand } = await import('./commands/control.ts');
    setExitCode(await controlCommand(controlInputs(cmd, options), { command: 'upgrade' }, false));
  });
  const stop = controlling('stop', 'stop the running primary (as SIGTERM; --fast as SIGINT) and wait until it exited')
    .option('--fast', 'a fast stop: no drain')
    .action(async (options: CommonOptions & { fast?: boolean }, cmd: Command) => {
      const { controlCommand } = await import('./commands/control.ts');
      setExitCode(await controlCommand(controlInputs(cmd, options), { command: 'stop', fast: options.fast === true }, false));
    });
  const scale = controlling('scale', 'set the number of workers (N), or add or remove some (+N, -N), as TTIN and TTOU do')
    .argument('<count>', 'N, +N or -N')
    .action(async (count: string, options: CommonOptions, cmd: Command) => {
      const { controlCommand, scaleRequest } = await import('./commands/control.ts');
      const request = scaleRequest(count);
      if (request === null) {
        out.error(`hostd scale: expected N (1 or more), +N or -N, got ${JSON.stringify(count)}`);
        return setExitCode(ERRORS.HOSTD_ERR_USAGE.exit);
      }
      setExitCode(await controlCommand(controlInputs(cmd, options), request, false));
    });

  for (const sub of [run, check, printConfig, schema, init, exporting, status, reload, upgrade, stop, scale]) {
    program.addCommand(sub.helpOption('-h, --help', 'show help').showSuggestionAfterError(true).exitOverride());
  }
  return program;
}

/** Runs the CLI with `argv` (without node and the script) and resolves to the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  let exitCode = 0;
  // `hostd help run` shows run's help.
  const invoked = argv[0] === 'help' ? argv[1] : argv[0];
  const program = buildProgram((code) => (exitCode = code), invoked?.startsWith('-') ? '' : invoked);
  if (argv.length === 0) {
    program.outputHelp();
    return ERRORS.HOSTD_ERR_USAGE.exit;
  }
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has printed the message (and a suggestion) already.
      const ok = ['commander.helpDisplayed', 'commander.help', 'commander.version'].includes(error.code);
      return ok ? 0 : ERRORS.HOSTD_ERR_USAGE.exit;
    }
    return reportError(error, false);
  }
}

export { out };
