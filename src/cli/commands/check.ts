import { type ConfigInputs, resolveConfig } from '../../config/resolve.ts';
import { HOOK_NAMES, SETTING_NAMES } from '../../config/settings.ts';
import type { ResolvedConfig } from '../../config/types.ts';
import { displayPath } from '../../paths.ts';
import { out, table } from '../output.ts';
import { reportError } from '../report.ts';
import { counted } from '../../text.ts';

export async function checkCommand(inputs: ConfigInputs, json: boolean): Promise<number> {
  let config: ResolvedConfig;
  try {
    config = await resolveConfig(inputs);
  } catch (error) {
    return reportError(error, json);
  }

  const set = SETTING_NAMES.filter((name) => config.sources[name] !== 'default');
  const hooks = HOOK_NAMES.filter((name) => config.hooks[name].length > 0);
  const warnings = config.settings.app === null ? ['app is not set: `hostd run` will need one (`app` in the config, HOSTD_APP, or hostd run APP)'] : [];
  const file = config.file ? displayPath(config.file, inputs.cwd) : '(no config file)';

  if (json) {
    out.json({
      valid: true,
      file: config.file,
      presets: config.presets,
      settings: Object.fromEntries(set.map((name) => [name, { value: config.settings[name], source: config.sources[name] }])),
      defaults: SETTING_NAMES.length - set.length,
      hooks: Object.fromEntries(hooks.map((name) => [name, config.hooks[name].length])),
      warnings,
    });
    return 0;
  }

  const s = out.style;
  const functions = hooks.reduce((n, name) => n + config.hooks[name].length, 0);
  out.line(`${s.green('✓')} ${s.bold(file)} is valid`);
  const rows = [
    ['  presets', config.presets.length ? config.presets.join(', ') : s.dim('none')],
    ['  settings', `${set.length} set${set.length ? `: ${set.join(', ')}` : ''} ${s.dim(`(${SETTING_NAMES.length - set.length} defaults)`)}`],
    [
      '  hooks',
      hooks.length
        ? `${hooks.map((name) => `${name} ×${config.hooks[name].length}`).join(', ')} ${s.dim(`(${counted(functions, 'function')})`)}`
        : s.dim('none'),
    ],
  ];
  for (const line of table(rows)) out.line(line);
  for (const warning of warnings) out.error(`${out.errStyle.yellow('warning:')} ${warning}`);
  return 0;
}
