import { checkOptions, OPTION_PROBLEMS, type OptionsInput, type OptionsOutput, type OptionsSchema } from './preset-options.ts';
import type { ConfigEnv, Preset, UserConfig, UserConfigFn } from './types.ts';

/**
 * Declares a hostd config with full types. Returns its argument unchanged; the point is
 * completion and type errors in the editor (an unknown key, a misspelt `ctx.wroker`).
 * Takes an object, a promise of one, or a function of `{ command, mode }` returning one
 * (sync or async).
 *
 * ```ts
 * export default defineConfig({ app: './src/app.ts', workers: 'auto' });
 * export default defineConfig(({ mode }) => ({ app: './src/app.ts', workers: mode === 'production' ? 'auto' : 1 }));
 * ```
 *
 * An unknown key is one error at that key. In an async function, or a function with a
 * `{ ... }` body, TypeScript reports it at the returned object instead; give the function
 * a return type (`async (): Promise<UserConfig> => ...`) to have it at the key.
 */
export function defineConfig<Obj, Ret, AsyncRet, Prom>(config: ConfigArgument<Obj, Ret, AsyncRet, Prom>): DefinedConfig<Ret, AsyncRet, Prom>;
export function defineConfig(config: unknown): unknown {
  return config;
}

// One signature, not overloads: with overloads every failing form is reported (TypeScript 7
// reports only the last, the function form, at a `Function.prototype.bind` it cannot match).
// The type parameters pick the form: `Ret` is inferred only from a sync function's result,
// `AsyncRet` from an async one's, `Prom` from a promise, `Obj` from an object; the others
// stay `unknown`. The chosen form is then checked key by key (`Checked`), since TypeScript
// does not check a function's result for unknown keys on its own.
type ConfigArgument<Obj, Ret, AsyncRet, Prom> = unknown extends AsyncRet
  ? unknown extends Ret
    ? unknown extends Prom
      ? unknown extends Obj
        ? // Nothing inferred yet (the editor completing an argument, or a first inference
          // pass): the plain types, so that keys complete and `({ mode })` is typed.
          UserConfig | ((env: ConfigEnv) => UserConfig)
        : Checked<Obj>
      : Promise<Checked<Prom>>
    : (env: ConfigEnv) => Checked<Ret>
  : (env: ConfigEnv) => Promise<Checked<AsyncRet>> | Checked<NoInfer<AsyncRet>>;

type DefinedConfig<Ret, AsyncRet, Prom> = unknown extends AsyncRet
  ? unknown extends Ret
    ? unknown extends Prom
      ? UserConfig
      : Promise<UserConfig>
    : UserConfigFn
  : UserConfigFn;

/**
 * `UserConfig`, with each unknown key of `C` an error that names it. The known keys are
 * `UserConfig`'s own, so that hovering one shows its doc (in every TypeScript); the
 * mapped half is what `C` is inferred from.
 */
type Checked<C> = KnownKeys & { [K in keyof C]: K extends keyof UserConfig ? unknown : NotAKey<K & string> };

declare const known: unique symbol;

/**
 * `UserConfig` under another name. Not `UserConfig` itself: inferring from a `UserConfig`
 * (a function declared to return one) into `UserConfig & ...`, TypeScript drops the
 * identical part and infers nothing for the rest.
 */
interface KnownKeys extends UserConfig {
  readonly [known]?: never;
}

type NotAKey<K extends string> = `'${K}' is not a hostd setting or hook${DidYouMean<K, keyof UserConfig & string>}`;

type DidYouMean<K extends string, Known extends string> = [CloseTo<K, Known>] extends [never] ? '' : `; did you mean '${CloseTo<K, Known>}'?`;

/** The known keys one edit away from `K` (a letter added, dropped, changed, or two swapped). */
type CloseTo<K extends string, Known extends string> = Known extends unknown ? (OneEdit<K, Known> extends true ? Known : never) : never;

type OneEdit<A extends string, B extends string> = A extends `${infer a}${infer ra}`
  ? B extends `${infer b}${infer rb}`
    ? a extends b
      ? OneEdit<ra, rb>
      : ra extends rb
        ? true
        : ra extends B
          ? true
          : A extends rb
            ? true
            : ra extends `${b}${infer rest}`
              ? rb extends `${a}${rest}`
                ? true
                : false
              : false
    : ra extends ''
      ? true
      : false
  : B extends `${string}${infer rb}`
    ? rb extends ''
      ? true
      : false
    : true;

/**
 * Declares a preset: a named partial config plus hooks, applied beneath a config file
 * through `extends`. With a schema for its options (zod 4, valibot, any Standard Schema),
 * it makes the preset's factory, which checks its options like settings: an unknown or
 * mistyped option is a problem `hostd check` and `hostd run` report, naming the preset and
 * the option (`preset acme: servce: unknown option (did you mean "service"?)`), and a type
 * error in the editor. Publish the factory as a module's default export.
 *
 * ```ts
 * import * as z from 'zod';
 * export default definePreset('acme', z.object({ port: z.optional(z.int()) }), (options) => ({
 *   bind: `0.0.0.0:${options.port ?? 8000}`,
 * }));
 * ```
 *
 * `definePreset({ name, ...config })` makes one preset with no options.
 */
export function definePreset(preset: Preset): Preset;
export function definePreset<S extends OptionsSchema>(name: string, options: S, create: (options: OptionsOutput<S>) => UserConfig): (options?: OptionsInput<S>) => Preset;
export function definePreset(first: Preset | string, schema?: OptionsSchema, create?: (options: unknown) => UserConfig): Preset | ((options?: unknown) => Preset) {
  if (typeof first !== 'string') return first;
  const name = first;
  return (options?: unknown): Preset => {
    const checked = checkOptions(schema!, options);
    // Carried to the layer that extends this preset, which reports them with the config's other problems.
    if ('problems' in checked) return { name, [OPTION_PROBLEMS]: checked.problems } as Preset;
    return { ...create!(checked.value), name };
  };
}
