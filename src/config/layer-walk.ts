/**
 * Walks a config object into layers: hook references (`"./hooks.js#fn"`) resolved, the
 * presets of `extends` (depth first, each applied once, cycles refused), then the object's
 * own layer. What a layer holds is the caller's (LayerRules): this module knows the hooks'
 * names and nothing of the settings or their schema, so a worker loads no validation code.
 */
import { extname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ConfigIssue } from '../errors.ts';
import { HOSTD_CODE_DIR } from '../paths.ts';
import { quote } from '../text.ts';
import { HOOK_NAMES, type HookName } from './hooks-table.ts';
import { describeValue, formatPath } from './issues.ts';
import { isPathSpecifier, type ModuleGraph } from './modules.ts';
import { optionProblems } from './preset-options.ts';
import type { LayerKind } from './schema.ts';
import type { SettingName } from './settings.ts';
import { PRESET_NAMES, type PresetName } from './shipped-presets.ts';
import { didYouMean, suggest } from './suggest.ts';
import type { HookEntry } from './types.ts';
import { attempt, isPlainObject, plainCopy, Unreadable } from './user-data.ts';
import { describeLoadError, describeThrown, ModuleLoadError } from './user-error.ts';

/** A value with the layer it came from. */
export interface Contribution {
  readonly value: unknown;
  readonly source: string;
}

export interface Layer {
  readonly settings: ReadonlyMap<SettingName, Contribution>;
  readonly hooks: ReadonlyMap<HookName, readonly HookEntry[]>;
}

export interface LayerContext {
  readonly issues: ConfigIssue[];
  /** Paths in messages are shown relative to this folder. */
  readonly cwd: string;
  /** Relative paths in this layer are taken from here. */
  readonly baseDir: string;
  /** Module names in the layer (hook references, presets in JSON) resolve from this file. */
  readonly parentFile: string;
  /** Where modules named in the layer are evaluated: the config's own graph. */
  readonly graph: ModuleGraph;
  /** Presets on the path from the file to here, to catch a cycle. */
  readonly stack: readonly { readonly preset: object; readonly name: string }[];
  /** Presets already applied (by identity), so a preset reached twice applies once. */
  readonly applied: Set<object>;
  /** Names of the presets applied, in order. */
  readonly presetNames: string[];
}

/** `"./hooks.js#postFork"` → the function it names, or a message saying why not. */
async function resolveHookRef(ref: string, ctx: LayerContext): Promise<{ fn: unknown } | { problem: string }> {
  const hash = ref.lastIndexOf('#');
  const specifier = hash > 0 ? ref.slice(0, hash) : ref;
  const exportName = hash > 0 ? ref.slice(hash + 1) : 'default';
  let exports: Record<string, unknown>;
  try {
    exports = await ctx.graph.import(specifier, ctx.parentFile);
  } catch (error) {
    return { problem: `cannot load ${quote(specifier)}: ${describeLoadError(error, ctx.parentFile, ctx.cwd, ctx.graph.sources)}` };
  }
  if (!(exportName in exports)) {
    const names = Object.keys(exports).filter((k) => k !== '__esModule');
    const hint = didYouMean(exportName, names) || (names.length ? ` (it exports ${names.join(', ')})` : '');
    return { problem: `${quote(specifier)} has no export ${JSON.stringify(exportName)}${hint}` };
  }
  const fn = exports[exportName];
  return typeof fn === 'function' ? { fn } : { problem: `expected ${JSON.stringify(ref)} to name a function, got ${describeValue(fn)}` };
}

/** Replaces hook references (strings, as JSON configs write hooks) with the functions they name. */
async function resolveHookRefs(raw: Record<string, unknown>, source: string, ctx: LayerContext, issues: ConfigIssue[]): Promise<void> {
  for (const name of HOOK_NAMES) {
    const value = raw[name];
    const items = Array.isArray(value) ? value : [value];
    if (!items.some((item) => typeof item === 'string')) continue;
    const resolved: unknown[] = [];
    for (const [index, item] of items.entries()) {
      if (typeof item !== 'string') {
        resolved.push(item);
        continue;
      }
      const result = await resolveHookRef(item, ctx);
      if ('fn' in result) resolved.push(result.fn);
      else issues.push({ source, path: Array.isArray(value) ? `${name}[${index}]` : name, message: result.problem });
    }
    raw[name] = Array.isArray(value) ? resolved : resolved[0];
  }
}

/** Turns each `extends` item into a preset object: call factories, import module names. */
async function resolvePresetItems(items: unknown[], source: string, ctx: LayerContext, issues: ConfigIssue[]): Promise<(unknown | undefined)[]> {
  const out: (unknown | undefined)[] = [];
  for (const [index, item] of items.entries()) {
    const path = `extends[${index}]`;
    try {
      let preset = item;
      if (typeof preset === 'string') {
        const named = await presetByName(preset, ctx);
        if ('problem' in named) {
          issues.push({ source, path, message: named.problem });
          out.push(undefined);
          continue;
        }
        preset = named.preset;
      }
      if (typeof preset === 'function') preset = await (preset as () => unknown)();
      const problems = optionProblems(preset);
      if (problems) {
        const name = (preset as { name: string }).name;
        for (const p of problems) issues.push({ source, path, message: `preset ${name}: ${p.path ? `${p.path}: ` : ''}${p.message}` });
        out.push(undefined);
        continue;
      }
      if (!isPlainObject(preset) || typeof preset.name !== 'string' || preset.name === '') {
        issues.push({ source, path, message: `expected a preset made with definePreset({ name, ... }), got ${describeValue(preset)}` });
        out.push(undefined);
      } else {
        out.push(preset);
      }
    } catch (error) {
      issues.push({ source, path, message: `cannot load the preset: ${describeLoadError(error, ctx.parentFile, ctx.cwd, ctx.graph.sources)}` });
      out.push(undefined);
    }
  }
  return out;
}

/**
 * What a string in `extends` names: a preset hostd ships (`"kubernetes"`, what print-config
 * shows), a module path, or a package whose default export is a preset. Gives that export,
 * or the problem, with the import to write, when the name is neither shipped nor installed.
 */
async function presetByName(name: string, ctx: LayerContext): Promise<{ preset: unknown } | { problem: string }> {
  if ((PRESET_NAMES as readonly string[]).includes(name)) return { preset: (await import(shippedPresetUrl(name as PresetName))).default };
  if (isPathSpecifier(name)) return { preset: (await ctx.graph.import(name, ctx.parentFile)).default };
  try {
    return { preset: (await ctx.graph.import(name, ctx.parentFile)).default };
  } catch (error) {
    // Only the name itself not found: a package that fails to load is reported as it is.
    if (!(error instanceof ModuleLoadError) || !error.message.includes(`cannot find module ${quote(name)}`)) throw error;
    const shipped = suggest(name, PRESET_NAMES);
    if (shipped) {
      return { problem: `${quote(name)} is not a preset hostd ships nor an installed package; did you mean ${quote(shipped)}? (in hostd.config.ts: import ${shipped} from 'hostd/presets/${shipped}' and extends: [${shipped}()])` };
    }
    const list = `${quote(name)} is not a preset hostd ships (${PRESET_NAMES.join(', ')}) nor an installed package`;
    // Only a name npm could install is repeated in a command or an import.
    if (!/^(@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*$/i.test(name)) return { problem: list };
    const id = identifier(name);
    const file = `./${name.replace(/^@[^/]+\//, '').replace(/[^\w.-]+/g, '-')}.ts`;
    return {
      problem: `${list}: install it (npm i ${name}), or give your preset module's path ("${file}"), or in hostd.config.ts: import ${id} from '${file}' and extends: [${id}()]`,
    };
  }
}

/** A shipped preset's module beside this code: dist/presets/NAME.js when built, src/presets/NAME.ts in development. */
function shippedPresetUrl(name: PresetName): string {
  return pathToFileURL(join(HOSTD_CODE_DIR, 'presets', `${name}${extname(fileURLToPath(import.meta.url))}`)).href;
}

function identifier(name: string): string {
  const words = name.replace(/^@[^/]+\//, '').split(/[^A-Za-z0-9]+/).filter(Boolean);
  const id = words.map((w, i) => (i === 0 ? w : w[0]!.toUpperCase() + w.slice(1))).join('');
  return /^[A-Za-z_$]/.test(id) ? id : 'preset';
}

/**
 * What makes a layer of a config object once its hook references and presets are resolved:
 * the primary checks it against the schema and takes settings and hooks (layers.ts); a
 * worker, replaying what the primary checked, takes its hooks alone (replay.ts).
 */
export interface LayerRules {
  /** The object's data to take the layer from; problems go to `issues`. */
  check(config: Record<string, unknown>, source: string, kind: LayerKind, issues: ConfigIssue[], cwd: string): Record<string, unknown>;
  /** The layer of checked data; `presets`, the items of its `extends`. */
  layer(data: Record<string, unknown>, source: string, presets: readonly (unknown | undefined)[], baseDir: string): Layer;
}

/**
 * The layers of one config object (a file's default export, or a preset): its presets'
 * layers first, depth first, then its own. Problems go to `ctx.issues`.
 */
export async function walkLayers(raw: unknown, source: string, kind: LayerKind, ctx: LayerContext, rules: LayerRules): Promise<Layer[]> {
  // This layer's own problems are reported after its presets', in layer order.
  const own: ConfigIssue[] = [];
  const config = readLayerObject(raw, source, kind, ctx.cwd, own);
  if (config === undefined) {
    ctx.issues.push(...own);
    return [];
  }
  if (kind === 'file') delete config.$schema;
  await resolveHookRefs(config, source, ctx, own);
  const extendsItems = config.extends === undefined ? [] : Array.isArray(config.extends) ? config.extends : [config.extends];
  const presets = await resolvePresetItems(extendsItems, source, ctx, own);
  if (config.extends !== undefined) config.extends = presets;
  const data = rules.check(config, source, kind, own, ctx.cwd);

  const layers: Layer[] = [];
  for (const [index, preset] of presets.entries()) {
    if (preset === undefined) continue;
    const name = (preset as { name: string }).name;
    const cycleAt = ctx.stack.findIndex((entry) => entry.preset === preset || entry.name === name);
    if (cycleAt >= 0) {
      const chain = [...ctx.stack.slice(cycleAt).map((entry) => entry.name), name].join(' → ');
      own.push({ source, path: `extends[${index}]`, message: `preset cycle: ${chain}` });
      continue;
    }
    if (ctx.applied.has(preset as object)) continue;
    ctx.applied.add(preset as object);
    layers.push(...(await walkLayers(preset, `preset ${name}`, 'preset', { ...ctx, stack: [...ctx.stack, { preset: preset as object, name }] }, rules)));
    ctx.presetNames.push(name);
  }
  ctx.issues.push(...own);
  layers.push(rules.layer(data, source, presets, ctx.baseDir));
  return layers;
}

/**
 * The layer's object as plain data (see user-data.ts), or undefined when it is not an
 * object or cannot be read at all. A key whose value cannot be read is a problem at that
 * key and is left out, so the rest of the layer is still checked. The presets in `extends`
 * keep their identity (a preset reached twice applies once) and are read as layers of their own.
 */
function readLayerObject(raw: unknown, source: string, kind: LayerKind, cwd: string, issues: ConfigIssue[]): Record<string, unknown> | undefined {
  const unreadable = (path: readonly PropertyKey[], error: unknown, what: string) =>
    issues.push({ source, path: formatPath(path), message: `reading ${what} threw ${describeThrown(error, cwd)}` });
  const whole = kind === 'file' ? 'the default export' : 'the preset';
  let keys: string[];
  try {
    if (!isPlainObject(raw)) {
      const expected = kind === 'file' ? 'the default export to be a config object (defineConfig({ ... }))' : 'a preset object';
      issues.push({ source, path: '', message: `expected ${expected}, got ${describeValue(raw)}` });
      return undefined;
    }
    keys = Object.keys(raw);
  } catch (error) {
    unreadable([], error, whole);
    return undefined;
  }
  const config: Record<string, unknown> = {};
  for (const key of keys) {
    try {
      const value = attempt([key], () => raw[key]);
      const copy = key === 'extends' ? readExtends(value) : plainCopy(value, [key]);
      Object.defineProperty(config, key, { value: copy, enumerable: true, writable: true, configurable: true });
    } catch (error) {
      if (!(error instanceof Unreadable)) throw error;
      unreadable(error.path, error.error, 'it');
    }
  }
  return config;
}

/** The items of `extends`, read once, each kept as it is: a preset's identity is how it is applied once. */
function readExtends(value: unknown): unknown {
  if (!attempt(['extends'], () => Array.isArray(value))) return value;
  const items = value as unknown[];
  return Array.from({ length: attempt(['extends'], () => items.length) }, (_, index) => attempt(['extends', index], () => items[index]));
}

/** What is wrong with a hook's value, which must be a function or an array of functions: each problem with its index, if any. */
export function hookValueProblems(value: unknown): { readonly index?: number; readonly message: string }[] {
  if (typeof value === 'function') return [];
  if (!Array.isArray(value)) return [{ message: 'expected a function or an array of functions' }];
  return value.flatMap((item: unknown, index) => (typeof item === 'function' ? [] : [{ index, message: 'expected a function' }]));
}

/** Every hook's entries over `layers`, in layer order. */
export function mergeHooks(layers: readonly Layer[]): Record<HookName, HookEntry[]> {
  const hooks = Object.fromEntries(HOOK_NAMES.map((name) => [name, [] as HookEntry[]])) as Record<HookName, HookEntry[]>;
  for (const layer of layers) for (const [name, entries] of layer.hooks) hooks[name].push(...entries);
  return hooks;
}
