/**
 * Builds the layers a config resolves from: presets (depth first, in `extends` order),
 * the config file, `HOSTD_*` variables and flags. Each layer is validated on its own,
 * so a problem names the layer it is in (`preset acme: workers: ...`), and every
 * problem in every layer is collected before anything is reported.
 */
import type { ConfigIssue } from '../errors.ts';
import { describeThrown } from './user-error.ts';
import { toConfigIssues } from './issues.ts';
import { type Contribution, type Layer, type LayerContext, walkLayers } from './layer-walk.ts';
import { layerKeys, type LayerKind, layerSchema } from './schema.ts';
import { envName, flagName, HOOK_NAMES, type HookName, SETTING_NAMES, type SettingName, SETTINGS, settingsWithCli } from './settings.ts';
import { didYouMean } from './suggest.ts';
import type { HookEntry } from './types.ts';

export type { Contribution, Layer, LayerContext } from './layer-walk.ts';

/**
 * The layers of one config object (a file's default export, or a preset), each checked
 * against its schema: its presets' layers first, depth first, then its own. Problems go to `ctx.issues`.
 */
export function configLayers(raw: unknown, source: string, kind: LayerKind, ctx: LayerContext): Promise<Layer[]> {
  return walkLayers(raw, source, kind, ctx, { check: validate, layer: ownLayer });
}

export function defaultsLayer(): Layer {
  return {
    settings: new Map(SETTING_NAMES.map((name) => [name, { value: SETTINGS[name].default, source: 'default' }])),
    hooks: new Map(),
  };
}

/**
 * Validates a layer with its strict schema. When that fails, the keys without a problem
 * are kept, so that checks depending on them (an app module that is not there) still run
 * and every problem is reported in one go.
 */
function validate(config: Record<string, unknown>, source: string, kind: LayerKind, issues: ConfigIssue[], cwd: string): Record<string, unknown> {
  try {
    const parsed = layerSchema(kind).safeParse(config, { reportInput: true });
    if (parsed.success) return parsed.data as Record<string, unknown>;
    issues.push(...toConfigIssues(parsed.error.issues, source, layerKeys(kind)));
    const bad = new Set(parsed.error.issues.map((issue) => issue.path[0]));
    const keep = Object.fromEntries(Object.entries(config).filter(([key]) => !bad.has(key) && layerKeys(kind).includes(key)));
    const again = layerSchema(kind).safeParse(keep);
    return again.success ? (again.data as Record<string, unknown>) : {};
  } catch (error) {
    // An object that is not plain data (a class instance) is kept as it is, and checking it may run its code.
    issues.push({ source, path: '', message: `reading it threw ${describeThrown(error, cwd)}` });
    return {};
  }
}

function ownLayer(data: Record<string, unknown>, source: string, presets: readonly (unknown | undefined)[], baseDir: string): Layer {
  const settings = new Map<SettingName, Contribution>();
  for (const name of SETTING_NAMES) {
    if (!(name in data) || data[name] === undefined) continue;
    if (name === 'extends') {
      const names = presets.filter((p) => p !== undefined).map((p) => (p as { name: string }).name);
      settings.set(name, { value: names, source });
      continue;
    }
    const kind = SETTINGS[name].kind;
    const value = kind.resolvePaths ? (kind.resolvePaths as (v: unknown, base: string) => unknown)(data[name], baseDir) : data[name];
    settings.set(name, { value, source });
  }
  const hooks = new Map<HookName, HookEntry[]>();
  for (const name of HOOK_NAMES) {
    const value = data[name];
    if (value === undefined) continue;
    const fns = (Array.isArray(value) ? value : [value]) as HookEntry['fn'][];
    hooks.set(
      name,
      fns.map((fn) => ({ fn, source })),
    );
  }
  return { settings, hooks };
}

/** Flag or env text for one setting, with the name the user typed. */
export interface TextEntry {
  readonly name: SettingName;
  readonly texts: readonly string[];
  readonly source: string;
}

/** A layer from text: `HOSTD_*` variables or command-line flags. */
export function textLayer(entries: readonly TextEntry[], baseDir: string, issues: ConfigIssue[]): Layer {
  const settings = new Map<SettingName, Contribution>();
  for (const { name, texts, source } of entries) {
    const kind = SETTINGS[name].kind;
    if (!kind.fromText || !settingsWithCli().includes(name)) {
      issues.push({ source, path: '', message: `${name} cannot be set from the command line or environment; set it in the config file` });
      continue;
    }
    const parsed = kind.schema.safeParse(kind.fromText(texts), { reportInput: true });
    if (!parsed.success) {
      // A problem with the whole value is said in the terms of the text the user typed.
      const textIssues = parsed.error.issues.map((issue) => (issue.path.length === 0 && kind.textExpected ? { ...issue, message: `expected ${kind.textExpected}` } : issue));
      issues.push(...toConfigIssues(textIssues, source, []));
      continue;
    }
    const value = kind.resolvePaths ? (kind.resolvePaths as (v: unknown, base: string) => unknown)(parsed.data, baseDir) : parsed.data;
    settings.set(name, { value, source });
  }
  return { settings, hooks: new Map() };
}

/** Reads `HOSTD_*` variables; an unknown one is a problem (a misspelling must not be ignored). */
export function envEntries(env: Readonly<Record<string, string | undefined>>, issues: ConfigIssue[]): TextEntry[] {
  const byEnv = new Map(settingsWithCli().map((n) => [envName(n), n]));
  const entries: TextEntry[] = [];
  for (const [key, text] of Object.entries(env)) {
    if (!key.startsWith('HOSTD_') || text === undefined) continue;
    const name = byEnv.get(key);
    if (name) entries.push({ name, texts: [text], source: key });
    else issues.push({ source: key, path: '', message: `unknown hostd variable${didYouMean(key, byEnv.keys())}` });
  }
  return entries;
}

/** Flag texts by setting, as the command line gave them; `labels` names an unusual source (the APP argument). */
export function flagEntries(
  flags: Readonly<Partial<Record<SettingName, readonly string[]>>>,
  labels: Readonly<Partial<Record<SettingName, string>>> = {},
): TextEntry[] {
  return (Object.keys(flags) as SettingName[])
    .filter((name) => flags[name] !== undefined)
    .map((name) => ({ name, texts: flags[name]!, source: labels[name] ?? flagName(name) }));
}
