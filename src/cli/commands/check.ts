import { appSpecAsWritten } from '../../config/app-spec.ts';
import { type ConfigInputs, resolveConfig, settingIssue } from '../../config/resolve.ts';
import { enterChdir } from '../../config/working-directory.ts';
import { HOOK_NAMES, SETTING_NAMES } from '../../config/settings.ts';
import type { ResolvedConfig } from '../../config/types.ts';
import { formatIssue } from '../../errors.ts';
import { displayPath, printablePath } from '../../paths.ts';
import { counted } from '../../text.ts';
import { AppLoad, type AppLoadResult } from '../app-check.ts';
import { out, table } from '../output.ts';
import { reportError } from '../report.ts';

/**
 * `hostd check`: resolves the config and, unless `loadApp` is false (`--no-app`), loads
 * the app as a worker would (app-check.ts), in parallel: the child process that loads it
 * starts while the config is evaluated. `warm` (`--warm`): a valid config's check also fills
 * the caches `hostd run` reads (warm.ts).
 */
export async function checkCommand(given: ConfigInputs, json: boolean, loadApp = true, warm = false): Promise<number> {
  let inputs: ConfigInputs;
  try {
    // Before the app's process starts: it loads the app from there, as a worker would.
    inputs = enterChdir(given);
  } catch (error) {
    return reportError(error, json);
  }
  const appLoad = loadApp ? new AppLoad() : null;
  let config: ResolvedConfig;
  try {
    config = await resolveConfig(inputs);
  } catch (error) {
    await appLoad?.cancel();
    return reportError(error, json);
  }

  const spec = config.settings.app;
  let app: AppLoadResult | null = null;
  if (appLoad !== null && spec !== null) {
    const seconds = config.settings.boot_timeout;
    const limit = seconds === 0 ? 'boot_timeout is 0: no limit' : `it has boot_timeout, ${seconds} s`;
    app = await appLoad.check({
      spec,
      root: config.root,
      env: config.settings.env,
      seconds,
      onSlow: json ? undefined : (after) => out.error(`hostd: still loading the app ${printablePath(appSpecAsWritten(spec, config.root))} after ${after} s (${limit})`),
    });
  } else await appLoad?.cancel();
  if (app !== null && !app.ok) {
    const issue = settingIssue('app', config.sources.app, app.message);
    if (json) out.json({ valid: false, errors: [{ code: app.code, ...issue }] });
    else {
      out.error(formatIssue(issue));
      out.error(out.errStyle.red('✗ the app cannot be served'));
    }
    return 1;
  }

  const set = SETTING_NAMES.filter((name) => config.sources[name] !== 'default');
  const hooks = HOOK_NAMES.filter((name) => config.hooks[name].length > 0);
  const warnings = config.settings.app === null ? ['app is not set: `hostd run` will need one (`app` in the config, HOSTD_APP, or hostd run APP)'] : [];
  const file = config.file ? displayPath(config.file, inputs.cwd) : '(no config file)';
  const compileCache = warm ? await (await import('../warm.ts')).warmCaches(config) : undefined;

  if (json) {
    out.json({
      valid: true,
      file: config.file,
      presets: config.presets,
      settings: Object.fromEntries(set.map((name) => [name, { value: config.settings[name], source: config.sources[name] }])),
      defaults: SETTING_NAMES.length - set.length,
      hooks: Object.fromEntries(hooks.map((name) => [name, config.hooks[name].length])),
      app: spec === null ? null : { spec: appSpecAsWritten(spec, config.root), loaded: app !== null, kind: app?.ok ? app.kind : null },
      ...(compileCache === undefined ? {} : { compile_cache: compileCache }),
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
  if (spec !== null) {
    const shown = printablePath(appSpecAsWritten(spec, config.root));
    rows.push(['  app', app?.ok ? `${shown}: ${app.kind}` : `${shown} ${s.dim('(not loaded: --no-app)')}`]);
  }
  if (compileCache !== undefined) {
    rows.push(['  warmed', compileCache === null ? s.dim("the config's transforms (this Node has no compile cache)") : `the config's transforms; compiled code in ${printablePath(displayPath(compileCache, inputs.cwd))}`]);
  }
  for (const line of table(rows)) out.line(line);
  for (const warning of warnings) out.error(`${out.errStyle.yellow('warning:')} ${warning}`);
  return 0;
}
