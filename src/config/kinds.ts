/**
 * The kinds of value a setting can hold. A kind is everything hostd needs to know
 * about a type: its zod schema, the words for "expected ..." in an error, its
 * TypeScript and JSON Schema forms, and how to read it from a flag or env var.
 * The settings table (settings.ts) names a kind per row; nothing else describes types.
 */
import { isAbsolute, resolve } from 'node:path';
import * as z from 'zod/mini';
import { barePortHint, BIND_FORMS, parseBind } from './binds.ts';
import { peerEntryProblem } from './peers.ts';
import { PRESET_NAMES } from './shipped-presets.ts';
import { MAX_TIMER_MS } from '../timers.ts';

export type JsonSchema = { [key: string]: unknown };

export interface Kind<In, Out = In> {
  /** Checks a value from a config file or preset. Every issue it raises carries `expected` as its message. */
  readonly schema: z.ZodMiniType<Out, In>;
  /** What a valid value looks like: `an integer ≥ 1 or "auto"`. */
  readonly expected: string;
  /** The type users write, as TypeScript source (for the generated declarations). */
  readonly ts: string;
  /** The type after resolution (defaults applied, lists normalised), as TypeScript source. */
  readonly resolvedTs: string;
  readonly json: JsonSchema;
  /**
   * Reads the value from the text of a flag (each occurrence) or an env var (one).
   * Returns the text itself when it cannot be read, so the schema reports it.
   * Absent for kinds that cannot be given on a command line (presets).
   */
  readonly fromText?: (texts: readonly string[]) => unknown;
  /**
   * What a valid text looks like, when it differs from `expected` (which speaks of the
   * config file's form): `KEY=VALUE pairs` rather than `an object`.
   */
  readonly textExpected?: string;
  /** Placeholder in `--help`; absent for a boolean switch. */
  readonly arg?: string;
  /** The flag may be given more than once; occurrences are combined. */
  readonly repeatable?: boolean;
  /** How a later layer combines with an earlier one: replace the value, or assign key by key. */
  readonly merge: 'replace' | 'assign';
  /** Makes relative paths absolute against the directory of the layer that set the value. */
  readonly resolvePaths?: (value: Out, baseDir: string) => Out;
}

const last = (texts: readonly string[]) => texts[texts.length - 1] ?? '';

/** Repeated or comma-separated text (`-b a -b b`, `HOSTD_BIND=a,b`): the items, trimmed, empties dropped. */
const commaList = (texts: readonly string[]): string[] => texts.flatMap((t) => t.split(',')).map((t) => t.trim()).filter(Boolean);
const error = (expected: string) => ({ error: `expected ${expected}` });

function kind<In, Out = In>(k: Omit<Kind<In, Out>, 'merge' | 'resolvedTs'> & Partial<Pick<Kind<In, Out>, 'merge' | 'resolvedTs'>>): Kind<In, Out> {
  return { merge: 'replace', resolvedTs: k.ts, ...k };
}

/** Decimal notation only: `0x10`, `0b1`, `1e3` or `Infinity` from a flag or variable is text, and reported. */
function readInteger(text: string): unknown {
  return /^[+-]?\d+$/.test(text.trim()) ? Number(text) : text;
}

function readNumber(text: string): unknown {
  return /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$/.test(text.trim()) ? Number(text) : text;
}

/** -0 as 0: print-config's JSON, and so anything reading it, could not tell them apart. */
const positiveZero = () => z.overwrite((n: number) => (Object.is(n, -0) ? 0 : n));

/**
 * `65,535`: big bounds read better grouped. By hand: `toLocaleString` loads ICU's number
 * formatting on first use, about 30 ms of every `hostd check`.
 */
export const grouped = (n: number): string => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');

/** A whole number from `min` to `max`. */
export function integer(min: number, max: number): Kind<number> {
  const expected = `an integer from ${grouped(min)} to ${grouped(max)}`;
  return kind({
    schema: z.int(error(expected)).check(z.minimum(min, error(expected)), z.maximum(max, error(expected)), positiveZero()),
    expected,
    ts: 'number',
    json: { type: 'integer', minimum: min, maximum: max },
    fromText: (t) => readInteger(last(t)),
    arg: '<n>',
  });
}

/**
 * The longest duration Node's timers keep: 2^31 - 1 ms, about 24.8 days. Longer ones
 * overflow to 1 ms (a graceful_timeout that cuts every request at once).
 */
export const MAX_SECONDS = Math.floor(MAX_TIMER_MS / 1000);

/**
 * A duration in seconds, to the millisecond, from `min` to MAX_SECONDS; `offOrMin`: 0
 * means off, and anything else must be at least `min` (a shorter one the runtime cannot
 * honour: a 10 ms heartbeat timeout would kill every worker).
 */
export function seconds(min = 0, options: { offOrMin?: boolean } = {}): Kind<number> {
  const range = `from ${min} to ${grouped(MAX_SECONDS)}`;
  const expected = options.offOrMin ? `0 (off) or a number of seconds ${range}` : `a number of seconds ${range}`;
  const inRange = (n: number) => (options.offOrMin && n === 0) || (n >= min && n <= MAX_SECONDS);
  return kind({
    schema: z
      .number(error(expected))
      .check(
        z.refine((n: number) => Number.isFinite(n) && inRange(n), error(expected)),
        // Node's HTTP timeouts take whole milliseconds (and throw a RangeError on anything else).
        z.refine((n: number) => Math.abs(n * 1000 - Math.round(n * 1000)) < 1e-6, error('a whole number of milliseconds (at most 3 decimals)')),
        positiveZero(),
      ),
    expected,
    ts: 'number',
    json: options.offOrMin ? { anyOf: [{ const: 0 }, { type: 'number', minimum: min, maximum: MAX_SECONDS }] } : { type: 'number', minimum: min, maximum: MAX_SECONDS },
    fromText: (t) => readNumber(last(t)),
    arg: '<seconds>',
  });
}

/** A non-empty string. */
export function text(arg = '<text>'): Kind<string> {
  const expected = 'a non-empty string';
  return kind({
    schema: z.string(error(expected)).check(z.minLength(1, error(expected))),
    expected,
    ts: 'string',
    json: { type: 'string', minLength: 1 },
    fromText: last,
    arg,
  });
}

/** One of a fixed list of strings. */
export function choice<const T extends readonly [string, ...string[]]>(values: T): Kind<T[number]> {
  const expected = `one of ${values.map((v) => JSON.stringify(v)).join(', ')}`;
  return kind({
    schema: z.enum(values, error(expected)) as unknown as z.ZodMiniType<T[number], T[number]>,
    expected,
    ts: values.map((v) => JSON.stringify(v)).join(' | '),
    json: { enum: [...values] },
    fromText: last,
    arg: `<${values.join('|')}>`,
  });
}

/** true or false; on the command line a switch with a `--no-` form. */
export function flag(): Kind<boolean> {
  const expected = 'true or false';
  const words: Record<string, boolean> = { true: true, '1': true, yes: true, on: true, false: false, '0': false, no: false, off: false };
  return kind({
    schema: z.boolean(error(expected)),
    expected,
    ts: 'boolean',
    json: { type: 'boolean' },
    fromText: (t) => words[last(t).trim().toLowerCase()] ?? last(t),
  });
}

/**
 * A path holds no NUL byte: the system would end it there. Node refuses such a path only when
 * it opens it, in a worker or while logging (a crash, not a config problem).
 */
const NO_NUL = /^[^\0]*$/;
const NO_NUL_PATTERN = '^[^\\u0000]*$';

/** A filesystem path, or null for "none". Relative paths are taken from the config file's folder. */
export function optionalPath(arg = '<path>'): Kind<string | null> {
  const expected = 'a path or null';
  return kind({
    schema: z.nullable(z.string(error(expected)).check(z.minLength(1, error(expected)), z.regex(NO_NUL, error(expected)))),
    expected,
    ts: 'string | null',
    json: { type: ['string', 'null'], minLength: 1, pattern: NO_NUL_PATTERN },
    fromText: last,
    arg,
    resolvePaths: (value, base) => (value === null ? null : resolve(base, value)),
  });
}

/** The control socket: a path, "auto" for a private one derived from the config file's path, or null for none. */
export function controlSocket(): Kind<string | null> {
  const expected = 'a path, "auto" or null';
  return kind({
    schema: z.nullable(z.string(error(expected)).check(z.minLength(1, error(expected)), z.regex(NO_NUL, error(expected)))),
    expected,
    ts: '"auto" | (string & {}) | null',
    resolvedTs: 'string | null',
    json: { type: ['string', 'null'], minLength: 1, pattern: NO_NUL_PATTERN },
    fromText: last,
    arg: '<path|auto>',
    resolvePaths: (value, base) => (value === null || value === 'auto' ? value : resolve(base, value)),
  });
}

/** A URL path hostd answers itself (a health probe), or null for none. */
export function urlPath(): Kind<string | null> {
  const expected = 'a path starting with "/", or null';
  return kind({
    schema: z.nullable(z.string(error(expected)).check(z.regex(/^\/\S*$/, error(expected)))),
    expected,
    ts: 'string | null',
    json: { type: ['string', 'null'], pattern: '^/\\S*$' },
    fromText: last,
    arg: '<path>',
  });
}

/** Files or folders, relative to the config file's folder. */
export function pathList(): Kind<string[]> {
  const expected = 'a list of paths';
  return kind({
    schema: z.array(z.string(error('a path')).check(z.minLength(1, error('a path')), z.regex(NO_NUL, error('a path'))), error(expected)),
    expected,
    ts: 'string[]',
    json: { type: 'array', items: { type: 'string', minLength: 1, pattern: NO_NUL_PATTERN } },
    fromText: commaList,
    arg: '<path>',
    repeatable: true,
    resolvePaths: (value, base) => value.map((p) => resolve(base, p)),
  });
}

/** Node flags for worker processes: each starts with a dash (a script or its arguments would be read as flags). */
export function nodeFlags(): Kind<string[]> {
  const expected = 'a list of Node flags, as in ["--max-old-space-size=512"]';
  const flagText = 'a Node flag starting with -';
  return kind({
    schema: z.array(z.string(error(flagText)).check(z.regex(/^-[^\0]*$/, error(flagText))), error(expected)),
    expected,
    ts: 'string[]',
    json: { type: 'array', items: { type: 'string', pattern: '^-[^\\u0000]*$' } },
    fromText: commaList,
    arg: '<flag>',
    repeatable: true,
  });
}

/** A log destination: `"-"` for the standard stream, a file path, or null for off. */
export function logTarget(): Kind<string | null> {
  const expected = '"-", a file path, or null';
  return kind({
    schema: z.nullable(z.string(error(expected)).check(z.minLength(1, error(expected)), z.regex(NO_NUL, error(expected)))),
    expected,
    ts: '"-" | (string & {}) | null',
    resolvedTs: 'string | null',
    json: { type: ['string', 'null'], minLength: 1, pattern: NO_NUL_PATTERN },
    fromText: last,
    arg: '<path|->',
    resolvePaths: (value, base) => (value === null || value === '-' ? value : resolve(base, value)),
  });
}

/** Listening addresses: one bind string or a list; always a list once resolved. */
export function binds(): Kind<string | string[], string[]> {
  const one = `an address (${BIND_FORMS})`;
  const expected = `${one} or a list of them`;
  const check = (value: unknown, path: number[], issues: z.core.$RefinementCtx['issues']) => {
    if (typeof value !== 'string') {
      const detail = Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 65535 ? barePortHint(value as number) : undefined;
      issues.push({ code: 'custom', message: `expected ${path.length ? one : expected}`, input: value, path, ...(detail ? { params: { detail } } : {}) });
      return;
    }
    const parsed = parseBind(value);
    if (!parsed.ok) issues.push({ code: 'custom', message: `expected ${one}`, input: value, path, params: { detail: parsed.reason } });
  };
  return kind({
    schema: z.pipe(
      z.custom<string | string[]>().check(
        z.superRefine((value, ctx) => {
          if (!Array.isArray(value)) return check(value, [], ctx.issues);
          if (value.length === 0) ctx.issues.push({ code: 'custom', message: `expected ${expected}`, input: value });
          value.forEach((item, index) => check(item, [index], ctx.issues));
        }),
      ),
      z.transform((v: string | string[]) => (Array.isArray(v) ? v : [v])),
    ),
    expected,
    ts: 'string | string[]',
    resolvedTs: 'string[]',
    json: {
      anyOf: [
        { type: 'string', minLength: 1, pattern: NO_NUL_PATTERN },
        { type: 'array', items: { type: 'string', minLength: 1, pattern: NO_NUL_PATTERN }, minItems: 1 },
      ],
    },
    fromText: commaList,
    arg: '<address>',
    repeatable: true,
    resolvePaths: (value, base) =>
      value.map((b) => (b.startsWith('unix:') && !isAbsolute(b.slice(5)) ? `unix:${resolve(base, b.slice(5))}` : b)),
  });
}

/** Trusted peers: IP addresses and CIDR ranges (and "unix"), or "*" for any peer. */
export function peerList(): Kind<string[] | '*'> {
  const one = 'an IP address or CIDR range (or "unix")';
  const expected = `a list of IP addresses and CIDR ranges, or "*"`;
  return kind({
    schema: z.custom<string[] | '*'>().check(
      z.superRefine((value, ctx) => {
        if (value === '*') return;
        if (!Array.isArray(value)) return void ctx.issues.push({ code: 'custom', message: `expected ${expected}`, input: value });
        value.forEach((item, index) => {
          const problem = typeof item === 'string' ? peerEntryProblem(item) : `expected ${one}`;
          if (problem !== null) ctx.issues.push({ code: 'custom', message: `expected ${one}`, input: item, path: [index], params: { detail: problem } });
        });
      }),
    ),
    expected,
    ts: '"*" | string[]',
    json: { anyOf: [{ const: '*' }, { type: 'array', items: { type: 'string', minLength: 1 } }] },
    fromText: (texts) => {
      const items = commaList(texts);
      return items.length === 1 && items[0] === '*' ? '*' : items;
    },
    arg: '<address>',
    repeatable: true,
  });
}

/** One listening address (the forms of `bind`), or null for off. */
export function optionalBind(): Kind<string | null> {
  const expected = `an address (${BIND_FORMS}) or null`;
  return kind({
    schema: z.nullable(
      z.string(error(expected)).check(
        z.superRefine((value, ctx) => {
          const parsed = parseBind(value);
          if (!parsed.ok) ctx.issues.push({ code: 'custom', message: `expected ${expected}`, input: value, params: { detail: parsed.reason } });
        }),
      ),
    ),
    expected,
    ts: 'string | null',
    json: { type: ['string', 'null'], minLength: 1, pattern: NO_NUL_PATTERN },
    fromText: last,
    arg: '<address>',
    resolvePaths: (value, base) => (value !== null && value.startsWith('unix:') && !isAbsolute(value.slice(5)) ? `unix:${resolve(base, value.slice(5))}` : value),
  });
}

/** A count of workers: an integer from 1 to `max`, or `word` ("auto" for the usable CPUs, "all" for every worker). */
export function workerCount<const W extends string>(max: number, word: W): Kind<number | W> {
  const expected = `an integer from 1 to ${grouped(max)}, or "${word}"`;
  return kind({
    schema: z.union([z.int(error(expected)).check(z.minimum(1, error(expected)), z.maximum(max, error(expected))), z.literal(word, error(expected))], error(expected)),
    expected,
    ts: `number | "${word}"`,
    json: { anyOf: [{ type: 'integer', minimum: 1, maximum: max }, { const: word }] },
    fromText: (t) => (last(t).trim() === word ? word : readInteger(last(t))),
    arg: `<n|${word}>`,
  });
}

/** A memory size in MiB: an integer from 0 (off) to `max`, or "auto". */
export function mebibytes(max: number): Kind<number | 'auto'> {
  const expected = `a number of MiB from 0 to ${grouped(max)}, or "auto"`;
  return kind({
    schema: z.union([z.int(error(expected)).check(z.minimum(0, error(expected)), z.maximum(max, error(expected)), positiveZero()), z.literal('auto', error(expected))], error(expected)),
    expected,
    ts: 'number | "auto"',
    json: { anyOf: [{ type: 'integer', minimum: 0, maximum: max }, { const: 'auto' }] },
    fromText: (t) => (last(t).trim() === 'auto' ? 'auto' : readInteger(last(t))),
    arg: '<MiB|auto>',
  });
}

/** Environment variables: names to string values. Later layers add to earlier ones. */
export function stringRecord(): Kind<Record<string, string>> {
  const expected = 'an object of string values';
  // zod's record leaves a `__proto__` key out (keeping it off the prototype), unchecked: the variable would vanish without a word.
  const noProtoKey = z.custom<Record<string, string>>().check(
    z.superRefine((value, ctx) => {
      const own = value !== null && typeof value === 'object' ? Object.getOwnPropertyDescriptor(value, '__proto__') : undefined;
      if (own) ctx.issues.push({ code: 'custom', message: 'expected a variable name other than __proto__', input: own.value, path: ['__proto__'] });
    }),
  );
  return kind({
    schema: z.pipe(noProtoKey, z.record(z.string(), z.string(error('a string')), error(expected))),
    expected,
    textExpected: 'KEY=VALUE pairs separated by commas',
    ts: 'Record<string, string>',
    json: { type: 'object', additionalProperties: { type: 'string' } },
    fromText: (texts) => {
      // `A=1, B=2` is how a list is often typed: the space belongs to neither pair.
      const pairs = texts.flatMap((t) => t.split(',')).map((t) => t.trimStart()).filter((t) => t.trim() !== '');
      if (pairs.some((p) => !/^[^=\s]+=/.test(p))) return texts.join(',');
      return Object.fromEntries(pairs.map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)]));
    },
    arg: '<KEY=VALUE>',
    repeatable: true,
    merge: 'assign',
  });
}

/** An app module: `./src/app.ts` or `./src/app.ts#name`; relative to the config file's folder. */
export function appSpec(): Kind<string, string | null> {
  const expected = 'a module path, optionally with #export, as in "./src/app.ts#app"';
  return kind<string, string | null>({
    // Null is only the default (no app yet), not a value to write: the TypeScript and JSON types say a string.
    schema: z.string(error(expected)).check(z.minLength(1, error(expected))),
    expected,
    ts: 'string',
    resolvedTs: 'string | null',
    json: { type: 'string', minLength: 1 },
    fromText: last,
    arg: '<module[#export]>',
    resolvePaths: (value, base) => {
      if (value === null || !(value.startsWith('.') || isAbsolute(value))) return value;
      const hash = value.lastIndexOf('#');
      return hash > 0 ? resolve(base, value.slice(0, hash)) + value.slice(hash) : resolve(base, value);
    },
  });
}

/**
 * Presets beneath this layer: preset objects from `definePreset` (or preset modules'
 * factories, called with no options), or names: a shipped preset's, a package's, a
 * module's path (the only kind a JSON config can hold). Not a flag.
 */
export function presetList(): Kind<unknown, unknown[]> {
  const expected = 'a preset (made with definePreset) or a list of presets';
  return kind({
    schema: z.pipe(
      z.custom<unknown>((v) => v !== undefined && v !== null, error(expected)),
      z.transform((v: unknown) => (Array.isArray(v) ? v : [v])),
    ),
    expected,
    ts: 'PresetInput | PresetInput[]',
    resolvedTs: 'string[]',
    // `examples`: editors offer the shipped presets' names; any other name is still valid.
    json: {
      anyOf: [
        { type: 'string', minLength: 1, examples: [...PRESET_NAMES] },
        { type: 'array', items: { type: 'string', minLength: 1, examples: [...PRESET_NAMES] } },
      ],
    },
    merge: 'replace',
  });
}

/** File permission bits, as octal text (`"660"`, `"0660"`) or a number (`0o660`); resolved to the number. */
export function fileMode(): Kind<number | string | null, number | null> {
  const expected = 'permissions in octal, as in "660" or 0o660, or null';
  const bits = z.int(error(expected)).check(z.minimum(0, error(expected)), z.maximum(0o777, error(expected)), positiveZero());
  const octal = z.pipe(z.string(error(expected)).check(z.regex(/^0?[0-7]{3}$/, error(expected))), z.transform((text: string) => Number.parseInt(text, 8)));
  return kind({
    schema: z.nullable(z.union([bits, octal], error(expected))) as unknown as z.ZodMiniType<number | null, number | string | null>,
    expected,
    ts: 'string | number | null',
    resolvedTs: 'number | null',
    json: { anyOf: [{ type: 'string', pattern: '^0?[0-7]{3}$' }, { type: 'integer', minimum: 0, maximum: 0o777 }, { type: 'null' }] },
    fromText: last,
    arg: '<mode>',
  });
}

/** A group, by name or numeric id, or null. */
export function groupName(): Kind<string | number | null> {
  const expected = 'a group name or id, or null';
  // A gid is 32 bits, and (gid_t) -1 means "leave it": the editor's schema says so too.
  const maxGid = 2 ** 32 - 2;
  return kind({
    schema: z.nullable(
      z.union(
        [z.string(error(expected)).check(z.regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?$/, error(expected))), z.int(error(expected)).check(z.minimum(0, error(expected)), z.maximum(maxGid, error(expected)), positiveZero())],
        error(expected),
      ),
    ),
    expected,
    ts: 'string | number | null',
    json: { anyOf: [{ type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_.-]{0,31}\\$?$' }, { type: 'integer', minimum: 0, maximum: maxGid }, { type: 'null' }] },
    fromText: (t) => (/^\d+$/.test(last(t).trim()) ? Number(last(t)) : last(t)),
    arg: '<group>',
  });
}
