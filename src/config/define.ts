import type { Preset, UserConfig, UserConfigFn } from './types.ts';

/**
 * Declares a hostd config with full types. Returns its argument unchanged; the point is
 * completion and type errors in the editor (an unknown key, a misspelt `ctx.wroker`).
 *
 * ```ts
 * export default defineConfig({ app: './src/app.ts', workers: 'auto' });
 * ```
 */
export function defineConfig(config: UserConfig): UserConfig;
export function defineConfig(config: Promise<UserConfig>): Promise<UserConfig>;
export function defineConfig(config: UserConfigFn): UserConfigFn;
export function defineConfig<T extends UserConfig | Promise<UserConfig> | UserConfigFn>(config: T): T {
  return config;
}

/**
 * Declares a preset: a named partial config plus hooks, applied beneath a config file
 * through `extends`. Publish it as a module whose default export is `(options?) => Preset`.
 *
 * ```ts
 * export default (options: { port?: number } = {}) =>
 *   definePreset({ name: 'acme', bind: `0.0.0.0:${options.port ?? 8000}` });
 * ```
 */
export function definePreset(preset: Preset): Preset {
  return preset;
}
