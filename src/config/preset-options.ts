/**
 * A preset's options, checked like settings: `definePreset(name, schema, create)` makes a
 * factory that checks what it is given against the schema before building the preset. A
 * factory cannot report a problem itself (it runs while the config file evaluates), so a
 * preset made from bad options carries its problems, and the layer that `extends` it
 * reports them with the config's other problems, one line each.
 */
import { describeValue, formatPath } from './issues.ts';
import { didYouMean } from './suggest.ts';
import { isPlainObject } from './user-data.ts';

/**
 * A schema for a preset's options: any Standard Schema (https://standardschema.dev), so
 * zod 4 (`z.object({ ... })`), valibot or arktype. Every option should be optional: a
 * preset named in `extends` (`"kubernetes"`) is made with no options.
 */
export interface OptionsSchema<Input = unknown, Output = Input> {
  readonly '~standard': {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (value: unknown) => OptionsResult<Output> | Promise<OptionsResult<Output>>;
    readonly types?: { readonly input: Input; readonly output: Output } | undefined;
  };
}

type OptionsResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | { readonly issues: readonly { readonly message: string; readonly path?: readonly (PropertyKey | { readonly key: PropertyKey })[] | undefined }[] };

/** What a preset's factory takes: the schema's input. */
export type OptionsInput<S extends OptionsSchema> = NonNullable<S['~standard']['types']>['input'];
/** What `create` receives: the schema's output (defaults applied). */
export type OptionsOutput<S extends OptionsSchema> = NonNullable<S['~standard']['types']>['output'];

/** One problem with a preset's options: the option's path and what is wrong. */
export interface OptionProblem {
  readonly path: string;
  readonly message: string;
}

/** Where a preset made from bad options keeps its problems. A registered symbol: every copy of hostd in a process shares it. */
export const OPTION_PROBLEMS = Symbol.for('hostd.presetOptionProblems');

/**
 * Checks `options` against the schema: an unknown option (when the schema lists its keys,
 * as zod's and valibot's objects do) gets a did-you-mean; anything else reads as the
 * schema words it, with `got ...` after an `expected ...`.
 */
export function checkOptions(schema: OptionsSchema, options: unknown): { value: unknown } | { problems: OptionProblem[] } {
  if (options === undefined) options = {};
  if (!isPlainObject(options)) return { problems: [{ path: '', message: `expected an object of options, got ${describeValue(options)}` }] };
  const problems: OptionProblem[] = [];
  const known = knownKeys(schema);
  let given: Record<string, unknown> = options;
  if (known) {
    given = {};
    for (const [key, value] of Object.entries(options)) {
      if (known.includes(key)) given[key] = value;
      else problems.push({ path: formatPath([key]), message: `unknown option${didYouMean(key, known)}` });
    }
  }
  const result = schema['~standard'].validate(given);
  if (result instanceof Promise) return { problems: [...problems, { path: '', message: 'the option schema is async; a preset needs one that checks synchronously' }] };
  if (result.issues) {
    for (const issue of result.issues) {
      const path = (issue.path ?? []).map((part) => (typeof part === 'object' && part !== null ? part.key : part));
      const got = issue.message.startsWith('expected ') ? `, got ${describeValue(valueAt(given, path))}` : '';
      problems.push({ path: formatPath(path), message: `${issue.message}${got}` });
    }
  }
  return problems.length > 0 || result.issues ? { problems } : { value: result.value };
}

/** The option names, when the schema lists them: zod's `shape`, valibot's `entries`. */
function knownKeys(schema: OptionsSchema): string[] | undefined {
  const s = schema as { shape?: unknown; entries?: unknown };
  const keys = isPlainObject(s.shape) ? s.shape : isPlainObject(s.entries) ? s.entries : undefined;
  return keys ? Object.keys(keys) : undefined;
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let at = value;
  for (const part of path) at = at !== null && typeof at === 'object' ? (at as Record<PropertyKey, unknown>)[part] : undefined;
  return at;
}

/** The problems a preset made from bad options carries, if any. */
export function optionProblems(preset: unknown): readonly OptionProblem[] | undefined {
  return preset !== null && typeof preset === 'object' ? ((preset as Record<symbol, unknown>)[OPTION_PROBLEMS] as OptionProblem[] | undefined) : undefined;
}
