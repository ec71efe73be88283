import { type ConfigInputs, resolveConfig } from '../../config/resolve.ts';
import { enterChdir } from '../../config/working-directory.ts';
import { HOOK_NAMES, SETTING_NAMES } from '../../config/settings.ts';
import type { ResolvedConfig } from '../../config/types.ts';
import { displayPath } from '../../paths.ts';
import { out, table } from '../output.ts';
import { reportError } from '../report.ts';
import { counted } from '../../text.ts';
import { autoWorkers } from '../../runtime/cpus.ts';

function hookSources(config: ResolvedConfig, name: (typeof HOOK_NAMES)[number]): string[] {
  return config.hooks[name].map((entry) => entry.source);
}

export async function printConfigCommand(given: ConfigInputs, json: boolean): Promise<number> {
  let config: ResolvedConfig;
  let inputs = given;
  try {
    // Into it, as hostd run: a config that reads process.cwd() (or a relative path) at load time sees what it will see there.
    inputs = enterChdir(given);
    config = await resolveConfig(inputs);
  } catch (error) {
    return reportError(error, json);
  }

  // "auto" is resolved on this machine, as `hostd run` would resolve it here.
  const auto = config.settings.workers === 'auto' ? autoWorkers() : null;
  if (json) {
    out.json({
      file: config.file,
      root: config.root,
      presets: config.presets,
      settings: Object.fromEntries(SETTING_NAMES.map((name) => [name, { value: config.settings[name], source: config.sources[name] }])),
      hooks: Object.fromEntries(
        HOOK_NAMES.map((name) => [name, config.hooks[name].map((entry) => ({ name: entry.fn.name || null, source: entry.source }))]),
      ),
      // Beside `settings`, whose values stay as written: what each "auto" resolves to here.
      auto: auto ? { workers: { value: auto.count, why: auto.why } } : {},
    });
    return 0;
  }

  const s = out.style;
  out.line(s.dim(`# ${config.file ? displayPath(config.file, inputs.cwd) : 'no config file'}${config.presets.length ? `, presets: ${config.presets.join(', ')}` : ''}`));
  const settingRows = SETTING_NAMES.map((name) => {
    const source = config.sources[name];
    const value = name === 'workers' && auto ? `${auto.count} (auto: ${auto.why})` : JSON.stringify(config.settings[name]);
    return [name, value, source === 'default' ? s.dim(source) : s.cyan(source)];
  });
  for (const line of table(settingRows)) out.line(line);
  out.line();
  out.line(s.dim('# hooks'));
  const hookRows = HOOK_NAMES.map((name) => {
    const sources = hookSources(config, name);
    const count = sources.length === 0 ? s.dim('none') : counted(sources.length, 'function');
    return [name, count, sources.length ? s.cyan([...new Set(sources)].join(', ')) : ''];
  });
  for (const line of table(hookRows)) out.line(line);
  return 0;
}
