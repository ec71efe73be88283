/**
 * The public types of a config: what a user writes (`UserConfig`), what a preset is,
 * and what hostd resolves it to (`ResolvedConfig`). Settings and hooks come from the
 * generated declarations, so every key carries its doc and default in the editor.
 */
import type { HookFn } from '../hooks/contexts.ts';
import type { LoaderVerdict, ModuleSources } from './modules.ts';
import type { TlsMaterial } from './tls-files.ts';
import type { Transform } from './transform-cache.ts';
import type { PresetName } from './shipped-presets.ts';
import type { HookName, ResolvedSettings, SettingName, UserHooks, UserSettings } from './options.generated.ts';

/** The command a config is being loaded for. */
export type Command = 'run' | 'check' | 'print-config' | 'export';

/** What a config function receives: `export default defineConfig(({ command, mode }) => ({ ... }))`. */
export interface ConfigEnv {
  readonly command: Command;
  /** `NODE_ENV`, or `"production"` when it is not set. */
  readonly mode: string;
}

/** Everything a `hostd.config.ts` may set: settings and hooks. Unknown keys are errors. */
export interface UserConfig extends UserSettings, UserHooks {}

/** A named, reusable layer of config made with `definePreset`. */
export interface Preset extends UserConfig {
  /** Shown wherever a value or a problem comes from this preset. */
  readonly name: string;
}

/**
 * An item of `extends`: a preset, a preset module's factory (called with no options), the
 * name of a preset hostd ships (`"kubernetes"`), or a package whose default export is one.
 */
export type PresetInput = Preset | (() => Preset) | PresetName | (string & {});

export type UserConfigFn = (env: ConfigEnv) => UserConfig | Promise<UserConfig>;

/** What a config module may export by default. */
export type UserConfigExport = UserConfig | Promise<UserConfig> | UserConfigFn;

/** One hook function with the layer it came from (`preset docker`, `hostd.config.ts`). */
export interface HookEntry<P extends HookName = HookName> {
  readonly fn: HookFn<P>;
  readonly source: string;
}

/** A config after layering and validation: what the primary and every worker run with. */
export interface ResolvedConfig {
  /** Every setting with its final value, frozen. */
  readonly settings: Readonly<ResolvedSettings>;
  /** Every hook's functions in run order: presets' first (in `extends` order), then the file's. */
  readonly hooks: { readonly [P in HookName]: readonly HookEntry<P>[] };
  /** Where each setting's value came from: `default`, `preset NAME`, the file, `HOSTD_X`, `--x`. */
  readonly sources: { readonly [K in SettingName]: string };
  /** The config file, or null when running on defaults and flags alone. */
  readonly file: string | null;
  /** The folder relative paths were taken from: the config file's, or the working directory. */
  readonly root: string;
  /** Preset names in the order they were applied. */
  readonly presets: readonly string[];
  /** The source text of the config file and every local module it evaluated: what a worker of this generation runs. */
  readonly modules: ModuleSources;
  /**
   * The text of `certfile`, `keyfile` and `ca_certs`, read and checked as the config
   * resolved: what a worker of this generation serves with. Null without `certfile`.
   */
  readonly tls: TlsMaterial | null;
  /** Those modules as hostd evaluated them (transpiled, or stripped of types): given to the generation's workers with them. */
  readonly transforms: readonly Transform[];
  /** Whether Node itself or jiti loaded each root of those modules (the config file, a preset module), and on what runtime: given to the generation's workers, which on the same runtime do not probe again. */
  readonly loaders: LoaderVerdict;
}
