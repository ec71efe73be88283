/**
 * Resolves a config: find the file, load it, build the layers, merge them, validate.
 * A pure function of its inputs: the primary and every worker call it with the same
 * inputs and get the same settings (a worker is a fresh process and loads the config
 * itself, since hooks are functions and cannot be sent to it).
 */
import { statSync } from 'node:fs';
import { dirname, isAbsolute } from 'node:path';
import { ConfigInvalidError, type ConfigIssue } from '../errors.ts';
import { displayPath, printablePath, shortPath } from '../paths.ts';
import { quote } from '../text.ts';
import { locateModule, splitAppSpec } from './app-spec.ts';
import { mergeHooks } from './layer-walk.ts';
import { configLayers, defaultsLayer, envEntries, flagEntries, type Layer, textLayer } from './layers.ts';
import { loadConfigFile, withinConfigTimeout } from './load.ts';
import { ModuleGraph } from './modules.ts';
import { transformsOf } from './transform-cache.ts';
import { envName, type HookName, RULES, type SettingName, SETTINGS } from './settings.ts';
import { type ConfigInputs, locateConfigFile } from './locate.ts';
import { readTlsMaterial, type TlsMaterial } from './tls-files.ts';
import type { HookEntry, ResolvedConfig } from './types.ts';

export { type ConfigInputs, locateConfigFile };

/** The module graph each config was loaded through, until it is released. */
const graphs = new WeakMap<ResolvedConfig, ModuleGraph>();

export async function resolveConfig(inputs: ConfigInputs): Promise<ResolvedConfig> {
  // One graph for the file, its presets and its hook references: one instance of each module.
  const graph = new ModuleGraph(inputs.modules);
  const load: { running?: Promise<unknown> } = {};
  try {
    const config = await resolveThrough(graph, inputs, load);
    graphs.set(config, graph);
    return config;
  } catch (error) {
    // A load the timeout gave up on still runs, and may import more of the graph: released once it is over.
    const release = () => graph.release();
    void (load.running ?? Promise.resolve()).then(release, release);
    throw error;
  }
}

/**
 * A config is done with (the primary forgot its generation): its modules' graph is released
 * (ModuleGraph.release), so that a primary reloaded many times keeps its live generations alone.
 */
export function releaseConfig(config: ResolvedConfig): void {
  graphs.get(config)?.release();
  graphs.delete(config);
}

/** resolveConfig with `graph`; `load.running` is the config file's load once started. */
async function resolveThrough(graph: ModuleGraph, inputs: ConfigInputs, load: { running?: Promise<unknown> }): Promise<ResolvedConfig> {
  const file = locateConfigFile(inputs);
  const issues: ConfigIssue[] = [];
  const presetNames: string[] = [];
  const root = file ? dirname(file) : inputs.cwd;

  const layers: Layer[] = [defaultsLayer()];
  if (file) {
    const fileLayers = async () => {
      const { config: raw } = await loadConfigFile(file, { command: inputs.command, mode: inputs.env.NODE_ENV ?? 'production' }, inputs.cwd, graph);
      const ctx = { issues, cwd: inputs.cwd, baseDir: root, parentFile: file, graph, stack: [], applied: new Set<object>(), presetNames };
      return configLayers(raw, displayPath(file, inputs.cwd), 'file', ctx);
    };
    const running = (load.running = fileLayers());
    layers.push(...(await withinConfigTimeout(running, configTimeout(inputs), displayPath(file, inputs.cwd))));
  }
  layers.push(textLayer(envEntries(inputs.env, issues), inputs.cwd, issues));
  layers.push(textLayer(flagEntries(inputs.flags, inputs.flagLabels), inputs.cwd, issues));

  const { settings, sources, hooks } = merge(layers);
  // A rule over a key that already has a problem would judge a value the user did not give.
  const troubled = new Set(issues.map((issue) => issue.path.split(/[.[]/)[0]));
  // The keys a rule found a problem with.
  const ruledOut = new Set<string>();
  for (const rule of RULES) {
    if (rule.keys.some((key) => troubled.has(key))) continue;
    const message = rule.check(settings);
    if (message === undefined) continue;
    for (const key of rule.keys) ruledOut.add(key);
    const setBy = rule.keys.map((k) => sources[k]).filter((s) => s !== 'default');
    issues.push(settingIssue(rule.keys[0]!, setBy[setBy.length - 1] ?? 'default', message));
  }
  issues.push(...appIssues(settings.app as string | null, root, sources.app, inputs.cwd));
  // A worker replays what the primary checked; `hostd export` describes another machine, whose folders may not exist here.
  if (!inputs.modules && inputs.command !== 'export') issues.push(...outputFileIssues(settings, sources, troubled, inputs.cwd));
  let tls: TlsMaterial | null = null;
  // Not read when a TLS setting has a problem already (keyfile missing, a bad cert_reqs): that problem comes first.
  if (!inputs.modules && inputs.command !== 'export' && ![...TLS_FILES, 'cert_reqs'].some((name) => troubled.has(name) || ruledOut.has(name))) {
    const read = readTlsMaterial(settings as Pick<ResolvedConfig['settings'], (typeof TLS_FILES)[number]>, inputs.cwd, { asWorkers: inputs.command === 'check' });
    tls = read.material;
    issues.push(...read.problems.map(({ name, message }) => settingIssue(name, sources[name], message)));
  }
  if (issues.length > 0) throw new ConfigInvalidError(issues);

  return Object.freeze({
    settings: deepFreeze(settings) as ResolvedConfig['settings'],
    hooks: Object.freeze(hooks) as unknown as ResolvedConfig['hooks'],
    sources: Object.freeze(sources),
    file,
    root,
    presets: Object.freeze(presetNames),
    modules: graph.sources,
    tls,
    transforms: transformsOf(graph.sources),
    loaders: graph.loaders,
  });
}

/**
 * `config_timeout`, from a flag or HOSTD_CONFIG_TIMEOUT: it bounds loading the file, so it
 * cannot come from the file. An invalid value is reported with the other flags and
 * variables; loading uses the default meanwhile.
 */
function configTimeout(inputs: ConfigInputs): number {
  try {
    return (settingBeforeFile(inputs, 'config_timeout')?.value as number | undefined) ?? SETTINGS.config_timeout.default;
  } catch {
    return SETTINGS.config_timeout.default;
  }
}

/**
 * A setting from its flag or its `HOSTD_*` variable alone (the flag wins), validated and
 * its paths resolved as when the whole config resolves, without the config file: for what
 * bounds loading the file, and for the control commands, which must not evaluate it.
 * Undefined when neither gives it; a ConfigInvalidError for a bad value.
 */
export function settingBeforeFile(inputs: ConfigInputs, name: SettingName): { readonly value: unknown; readonly source: string } | undefined {
  const flag = flagEntries(inputs.flags, inputs.flagLabels).find((entry) => entry.name === name);
  const text = inputs.env[envName(name)];
  const entry = flag ?? (text === undefined ? undefined : { name, texts: [text], source: envName(name) });
  if (entry === undefined) return undefined;
  const issues: ConfigIssue[] = [];
  const layer = textLayer([entry], inputs.cwd, issues);
  if (issues.length > 0) throw new ConfigInvalidError(issues);
  return layer.settings.get(name);
}

/** A problem with one setting, phrased for the layer that set it (a flag or variable names the key itself). */
export function settingIssue(name: SettingName, source: string, message: string): ConfigIssue {
  const fromText = /^(HOSTD_|-|APP argument)/.test(source);
  return { source, path: fromText ? '' : name, message };
}

/** An app module that is not there is caught now, not when the first worker boots. */
function appIssues(app: string | null, root: string, source: string, cwd: string): ConfigIssue[] {
  if (app === null) return [];
  const { module } = splitAppSpec(app);
  if (locateModule(module, root) !== null) return [];
  return [settingIssue('app', source, `cannot find the app module ${quote(shortPath(module, cwd))}`)];
}

/** Settings naming a TLS file hostd reads (tls-files.ts). */
const TLS_FILES = ['certfile', 'keyfile', 'ca_certs'] as const satisfies readonly SettingName[];

/** Settings naming a file hostd writes: where it cannot be written is a problem found by check. */
export const OUTPUT_FILES = ['accesslog', 'errorlog', 'pidfile'] as const satisfies readonly SettingName[];

/**
 * A log or pidfile in a folder that is not there would fail only once hostd starts (the
 * pidfile after the sockets are bound); it is caught now, as a missing app module is.
 */
function outputFileIssues(settings: Record<SettingName, unknown>, sources: Record<SettingName, string>, troubled: ReadonlySet<string | undefined>, cwd: string): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const name of OUTPUT_FILES) {
    const path = settings[name];
    if (typeof path !== 'string' || path === '-' || troubled.has(name)) continue;
    const problem = outputFileProblem(path, cwd);
    if (problem !== undefined) issues.push(settingIssue(name, sources[name], problem));
  }
  return issues;
}

/** What keeps hostd from writing the file at `path`, as far as can be told without writing it. */
function outputFileProblem(path: string, cwd: string): string | undefined {
  const stat = (p: string) => {
    try {
      return statSync(p, { throwIfNoEntry: false }) ?? null;
    } catch {
      // Not even looked at (a folder on the way cannot be searched): writing will say why.
      return undefined;
    }
  };
  const folder = dirname(path);
  const folderStats = stat(folder);
  // The file as the user named it comes first: the folder alone would not say which file is meant.
  if (folderStats === null) return `${relativePath(path, cwd)}: the folder ${relativePath(folder, cwd)} does not exist`;
  if (folderStats !== undefined && !folderStats.isDirectory()) return `${relativePath(path, cwd)}: ${relativePath(folder, cwd)} is not a folder`;
  if (stat(path)?.isDirectory()) return `${relativePath(path, cwd)} is a folder; name a file in it`;
  return undefined;
}

/** A path under the working directory as `./logs` (not `logs`, which reads as a word); any other in full. */
function relativePath(path: string, cwd: string): string {
  const shown = shortPath(path, cwd);
  if (isAbsolute(shown) || shown === '.') return printablePath(shown);
  return printablePath(shown.startsWith('..') ? path : `./${shown}`);
}

/** Later layers win; records merge key by key; hooks concatenate in layer order. */
export function merge(layers: readonly Layer[]): {
  settings: Record<SettingName, unknown>;
  sources: Record<SettingName, string>;
  hooks: Record<HookName, HookEntry[]>;
} {
  const settings = {} as Record<SettingName, unknown>;
  const sources = {} as Record<SettingName, string>;
  for (const layer of layers) {
    for (const [name, { value, source }] of layer.settings) {
      const previous = settings[name];
      const combine = SETTINGS[name].kind.merge === 'assign' && previous !== undefined;
      settings[name] = combine ? { ...(previous as object), ...(value as object) } : value;
      sources[name] = combine && sources[name] !== 'default' ? `${sources[name]} + ${source}` : source;
    }
  }
  return { settings, sources, hooks: mergeHooks(layers) };
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}
