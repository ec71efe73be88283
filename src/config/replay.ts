/**
 * A worker's config: the hooks of its generation, evaluated again from the sources the
 * primary resolved (functions cannot be sent between processes), with the settings the
 * primary validated. Nothing here validates settings, so a worker loads neither the settings
 * table nor zod (bench: `node dist/worker.js`); what it evaluates is the text the primary
 * checked. A config that returns something else in a worker (it reads process state) is
 * still held to one rule here: a hook is a function.
 */
import { dirname } from 'node:path';
import { ConfigInvalidError, type ConfigIssue } from '../errors.ts';
import { displayPath } from '../paths.ts';
import { HOOK_NAMES, type HookName } from './hooks-table.ts';
import { describeValue } from './issues.ts';
import { hookValueProblems, type Layer, type LayerRules, mergeHooks, walkLayers } from './layer-walk.ts';
import { loadConfigFile, withinConfigTimeout } from './load.ts';
import { type ConfigInputs, locateConfigFile } from './locate.ts';
import { knownLoaders, ModuleGraph } from './modules.ts';
import { adoptTransforms } from './transform-cache.ts';
import type { HookEntry } from './types.ts';

/** What a worker takes from its config. */
export interface ReplayedConfig {
  readonly hooks: { readonly [P in HookName]: readonly HookEntry<P>[] };
  /** The folder relative paths are taken from: the config file's, or the working directory. */
  readonly root: string;
}

/** A layer's hooks, each checked to be a function (or a list of them). */
const HOOKS_ONLY: LayerRules = {
  check(config, source, _kind, issues) {
    const hooks: Record<string, unknown> = {};
    for (const name of HOOK_NAMES) {
      const value = config[name];
      if (value === undefined) continue;
      const problems = hookValueProblems(value);
      if (problems.length === 0) hooks[name] = Array.isArray(value) ? value : [value];
      for (const { index, message } of problems) {
        const got = index === undefined ? value : (value as unknown[])[index];
        issues.push({ source, path: index === undefined ? name : `${name}[${index}]`, message: `${message}, got ${describeValue(got)} (in this worker: the config gave the primary something else)` });
      }
    }
    return hooks;
  },
  layer(data, source) {
    const hooks = new Map<HookName, HookEntry[]>();
    for (const [name, fns] of Object.entries(data) as [HookName, HookEntry['fn'][]][]) hooks.set(name, fns.map((fn) => ({ fn, source })));
    return { settings: new Map(), hooks };
  },
};

/** Evaluates the generation's config (`inputs.modules`) for its hooks, within `configTimeout` seconds (the primary's `config_timeout`); a problem is a HostdError, as the primary's would be. */
export async function replayConfig(inputs: ConfigInputs, configTimeout: number): Promise<ReplayedConfig> {
  const file = locateConfigFile(inputs);
  const root = file ? dirname(file) : inputs.cwd;
  const issues: ConfigIssue[] = [];
  const layers: Layer[] = [];
  if (file) {
    adoptTransforms(inputs.transforms, inputs.modules ?? {});
    const graph = new ModuleGraph(inputs.modules, knownLoaders(inputs.loaders));
    const fileLayers = async () => {
      const { config: raw } = await loadConfigFile(file, { command: inputs.command, mode: inputs.env.NODE_ENV ?? 'production' }, inputs.cwd, graph);
      const ctx = { issues, cwd: inputs.cwd, baseDir: root, parentFile: file, graph, stack: [], applied: new Set<object>(), presetNames: [] };
      return walkLayers(raw, displayPath(file, inputs.cwd), 'file', ctx, HOOKS_ONLY);
    };
    layers.push(...(await withinConfigTimeout(fileLayers(), configTimeout, displayPath(file, inputs.cwd))));
  }
  if (issues.length > 0) throw new ConfigInvalidError(issues);
  return Object.freeze({ hooks: Object.freeze(mergeHooks(layers)) as unknown as ReplayedConfig['hooks'], root });
}
