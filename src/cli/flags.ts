/**
 * Command-line flags for settings, generated from the settings table: `--workers`,
 * `-b/--bind` (repeatable), `--allow-app-control` / `--no-allow-app-control`. The
 * values are kept as typed and validated with the config (same messages, same rules).
 */
import { type Command, Help, Option } from 'commander';
import { flagName, type SettingName, SETTINGS, settingsWithCli } from '../config/settings.ts';

/**
 * Adds a flag for every setting. `inHelp`: list them in the command's --help (`run`);
 * elsewhere they are accepted alike but --help says in one line where they are listed.
 */
export function addSettingFlags(command: Command, inHelp: boolean): Command {
  if (!inHelp) {
    command.addHelpText('after', '\nSetting flags (--workers, --bind, ...) work as in `hostd run`: see `hostd run --help` or docs/settings.md.');
    // Left out of the help text only: hidden options would also be left out of "Did you mean --workers?".
    const settingFlags = new Set(settingsWithCli().map(flagName));
    command.configureHelp({
      formatHelp: (cmd, helper) => {
        const own = Object.create(helper) as Help;
        own.visibleOptions = (c) => helper.visibleOptions(c).filter((option) => !settingFlags.has(option.long ?? ''));
        return Help.prototype.formatHelp.call(own, cmd, own);
      },
    });
  }
  for (const name of settingsWithCli()) addSettingFlag(command, name, `${SETTINGS[name].section} options:`);
  return command;
}

/** Adds one setting's flag (`--control-socket` to the control commands, which take no other). */
export function addSettingFlag(command: Command, name: SettingName, helpGroup?: string): Command {
  const row = SETTINGS[name];
  const short = row.short ? `-${row.short}, ` : '';
  const option = new Option(`${short}${flagName(name)}${row.kind.arg ? ` ${row.kind.arg}` : ''}`, row.doc.replaceAll('`', ''));
  if (helpGroup !== undefined) option.helpGroup(helpGroup);
  if (row.kind.repeatable) option.argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value]);
  command.addOption(option);
  if (!row.kind.arg) command.addOption(new Option(`--no-${flagName(name).slice(2)}`).hideHelp());
  return command;
}

/** Setting flags as command-line arguments again (`--workers 3`, `--no-reload`): what an exported command repeats. */
export function settingFlagArgs(values: Partial<Record<SettingName, readonly string[]>>): string[] {
  return (Object.entries(values) as [SettingName, readonly string[]][]).flatMap(([name, texts]) =>
    texts.flatMap((text) => (SETTINGS[name].kind.arg ? [flagName(name), text] : [text === 'false' ? `--no-${flagName(name).slice(2)}` : flagName(name)])),
  );
}

/** The setting flags the user gave, as texts by setting name. */
export function settingFlagValues(command: Command): Partial<Record<SettingName, string[]>> {
  const values: Partial<Record<SettingName, string[]>> = {};
  for (const name of settingsWithCli()) {
    const option = command.options.find((o) => o.long === flagName(name));
    if (!option) continue;
    const value: unknown = command.getOptionValue(option.attributeName());
    if (command.getOptionValueSource(option.attributeName()) !== 'cli' || value === undefined) continue;
    values[name] = Array.isArray(value) ? value.map(String) : [String(value)];
  }
  return values;
}
