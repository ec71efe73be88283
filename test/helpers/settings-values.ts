/**
 * Values to throw at every setting, made from the settings table so that a new row is
 * covered without touching the tests, and what "the runtime can honour" means, read from
 * each kind's JSON Schema rather than restated. Shared by the in-process property tests
 * (test/config) and the ones through the real CLI (test/cli).
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import type { JsonSchema } from '../../src/config/kinds.ts';
import { describeValue } from '../../src/config/issues.ts';
import { OUTPUT_FILES } from '../../src/config/resolve.ts';
import { envName, flagName, RULES, type SettingName, SETTINGS, settingsWithCli } from '../../src/config/settings.ts';
import { type ConfigIssue, formatIssue } from '../../src/errors.ts';

// ---------------------------------------------------------------------------------------
// Runs and seeds

/** Runs per setting and property in CI; FUZZ_RUNS sets it for a deeper local pass. */
export const RUNS = Number(process.env.FUZZ_RUNS ?? 40);

/**
 * fast-check's parameters: a fixed seed by default, so CI is reproducible (FUZZ_SEED picks
 * another; a failure prints the seed and path to replay), `runs` runs, each bounded in time
 * so that a hang fails the run instead of the whole suite.
 */
export function fuzzParameters(runs: number, timeoutMs = 10_000): fc.Parameters<unknown> {
  return { seed: Number(process.env.FUZZ_SEED ?? 0x11), numRuns: Math.max(1, Math.round(runs)), timeout: timeoutMs };
}

// ---------------------------------------------------------------------------------------
// What the runtime can honour, from a kind's JSON Schema

/** The keywords `jsonSchemaProblem` understands; a kind using another one must teach it first. */
const KEYWORDS = new Set(['type', 'enum', 'const', 'anyOf', 'minimum', 'maximum', 'minLength', 'pattern', 'items', 'minItems', 'additionalProperties', 'examples']);

/** Whether `value` is a JSON value of one JSON Schema `type` (JSON has no NaN, Infinity or undefined). */
function isJsonType(type: string, value: unknown): boolean {
  switch (type) {
    case 'null':
      return value === null;
    case 'boolean':
      return typeof value === 'boolean';
    case 'string':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'array':
      return Array.isArray(value);
    case 'object':
      return value !== null && typeof value === 'object' && !Array.isArray(value);
    default:
      throw new Error(`jsonSchemaProblem does not know the type ${type}`);
  }
}

/**
 * Why `value` does not match `schema` (the subset of JSON Schema hostd's kinds use), or
 * null when it does. Written out rather than taken from a validator library, so that the
 * property depends on nothing but the table.
 */
export function jsonSchemaProblem(schema: JsonSchema, value: unknown, at = 'value'): string | null {
  for (const keyword of Object.keys(schema)) if (!KEYWORDS.has(keyword)) throw new Error(`jsonSchemaProblem does not know the keyword ${keyword}`);
  if (schema.anyOf) {
    const problems = (schema.anyOf as JsonSchema[]).map((branch) => jsonSchemaProblem(branch, value, at));
    if (problems.every((p) => p !== null)) return `${at} matches no branch of anyOf (${problems.join('; ')})`;
  }
  if ('const' in schema && schema.const !== value) return `${at} is not ${JSON.stringify(schema.const)}`;
  if (schema.enum && !(schema.enum as unknown[]).includes(value)) return `${at} is not one of ${JSON.stringify(schema.enum)}`;
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string];
    if (!types.some((type) => isJsonType(type, value))) return `${at} (${describeValue(value)}) is not of type ${types.join(' or ')}`;
  }
  if (typeof value === 'number') {
    if (typeof schema.minimum === 'number' && !(value >= schema.minimum)) return `${at} ${value} is below the minimum ${schema.minimum}`;
    if (typeof schema.maximum === 'number' && !(value <= schema.maximum)) return `${at} ${value} is above the maximum ${schema.maximum}`;
  }
  if (typeof value === 'string') {
    if (typeof schema.minLength === 'number' && [...value].length < schema.minLength) return `${at} is shorter than ${schema.minLength}`;
    if (typeof schema.pattern === 'string' && !new RegExp(schema.pattern, 'u').test(value)) return `${at} ${JSON.stringify(value)} does not match ${schema.pattern}`;
  }
  if (Array.isArray(value)) {
    if (typeof schema.minItems === 'number' && value.length < schema.minItems) return `${at} has fewer than ${schema.minItems} items`;
    if (schema.items) {
      for (const [index, item] of value.entries()) {
        const problem = jsonSchemaProblem(schema.items as JsonSchema, item, `${at}[${index}]`);
        if (problem) return problem;
      }
    }
  }
  if (isJsonType('object', value) && schema.additionalProperties && typeof schema.additionalProperties === 'object') {
    for (const [key, item] of Object.entries(value as object)) {
      const problem = jsonSchemaProblem(schema.additionalProperties as JsonSchema, item, `${at}[${JSON.stringify(key)}]`);
      if (problem) return problem;
    }
  }
  return null;
}

/**
 * Why an accepted input (the value in a file, or what a flag's text reads as) is one the
 * JSON Schema refuses, or null: an editor must not flag what hostd accepts. Presets are the
 * exception: TypeScript configs give preset objects, which JSON cannot (it names modules).
 */
export function inputProblem(name: SettingName, input: unknown): string | null {
  if (input === undefined || name === 'extends') return null;
  return jsonSchemaProblem(SETTINGS[name].kind.json, input, 'input');
}

/** Whether a schema (or one of its anyOf branches) types a value as a non-integer `number`: in hostd, seconds. */
function allowsFractions(schema: JsonSchema): boolean {
  return schema.type === 'number' || ((schema.anyOf as JsonSchema[] | undefined) ?? []).some(allowsFractions);
}

/** Node keeps a timer (and an HTTP timeout) in a signed 32-bit number of milliseconds. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Why the runtime could not honour a resolved value of `name`, or null. The value must fit
 * the row's JSON Schema (types, bounds, patterns); a number the schema lets be fractional is
 * a duration in seconds, which the runtime turns into milliseconds for Node's timers and
 * HTTP timeouts: a whole number of them (to the precision of a double: 1.001 s is
 * 1000.9999999999999 ms), within a timer's 32 bits. It must also survive print-config's JSON.
 */
export function runtimeProblem(name: SettingName, value: unknown): string | null {
  const schema = SETTINGS[name].kind.json;
  const problem = jsonSchemaProblem(schema, value);
  if (problem) return problem;
  if (typeof value === 'number' && allowsFractions(schema)) {
    const ms = value * 1000;
    if (Math.abs(ms - Math.round(ms)) > 1e-6) return `${value} s is not a whole number of milliseconds`;
    if (Math.round(ms) > MAX_TIMER_MS) return `${value} s is past Node's longest timer (2^31 - 1 ms)`;
  }
  const json = JSON.stringify(value);
  if (json === undefined || !sameValue(JSON.parse(json), value)) return `${describeValue(value)} does not survive print-config's JSON (${json})`;
  return null;
}

/** Deep equality that tells -0 from 0 and own keys from inherited ones, as JSON would lose them. */
export function sameValue(a: unknown, b: unknown): boolean {
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) return Object.is(a, b);
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((key) => Object.hasOwn(b, key) && sameValue((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]));
}

// ---------------------------------------------------------------------------------------
// Problems: the one-line form

/** Where a delivered value came from, as problems name it. */
export interface Delivered {
  readonly name: SettingName;
  /** `hostd.config.json`, `HOSTD_TIMEOUT`, `--timeout`. */
  readonly source: string;
  /** What the setting's schema saw: the value in the file, or what the flag or variable text reads as. */
  readonly input: unknown;
  readonly fromText: boolean;
}

/** Settings that a cross-setting rule ties `name` to: a rule's problem names them all. */
function partners(name: SettingName): string[] {
  return RULES.filter((rule) => rule.keys.includes(name)).flatMap((rule) => rule.keys);
}

/** The key a problem's path starts with: `bind` for `bind[1]`, `env` for `env.PORT`. */
const keyOf = (path: string) => path.split(/[.[]/)[0] ?? '';

/**
 * Messages not of the `expected ..., got ...` form, each the documented one for its case:
 * a rule between settings (naming both), an app module that is not there, a preset that
 * cannot be loaded, a setting a file may not set, a file hostd cannot write where it is named.
 */
function isOwnForm(message: string, d: Delivered): boolean {
  const named = partners(d.name).filter((key) => message.includes(key));
  return (
    (named.includes(d.name) && named.length >= 2) ||
    (d.name === 'app' && message.startsWith('cannot find the app module ')) ||
    (d.name === 'extends' && /^(cannot load the preset: |preset cycle: |unknown key|".*" is not a preset hostd ships |preset \S+: )/.test(message)) ||
    (SETTINGS[d.name].file === false && !d.fromText && message.startsWith('cannot be set in a config file')) ||
    ((OUTPUT_FILES as readonly string[]).includes(d.name) && / (does not exist|is not a folder|is a folder; name a file in it)$/.test(message))
  );
}

/**
 * Checks the problems reported for one delivered value: each is one line of the form
 * `SOURCE: key.path: expected ..., got ...` (a flag or variable: `SOURCE: expected ...`),
 * from the source the value came from, about the key it was given for (or a setting a
 * rule ties it to), the top-level value shown as found; no line twice, no stack.
 */
export function expectWellFormedProblems(issues: readonly ConfigIssue[], message: string, d: Delivered): void {
  const lines = issues.map(formatIssue);
  const context = `${d.source}, ${d.name} = ${describeValue(d.input)}:\n${message}`;
  expect(message, context).toBe(lines.join('\n'));
  expect(lines.length, context).toBeGreaterThan(0);
  expect(new Set(lines).size, `a problem reported twice: ${context}`).toBe(lines.length);
  expect(message, `a stack: ${context}`).not.toMatch(/^\s+at |internal error/m);
  for (const issue of issues) {
    const line = formatIssue(issue);
    expect(line, `one line per problem: ${context}`).not.toMatch(/[\n\r]/);
    // A preset given inline (TypeScript) reports its own problems under its own name.
    const fromPreset = d.name === 'extends' && issue.source.startsWith('preset ');
    expect(issue.source === d.source || fromPreset, `a problem from another source: ${line} (${context})`).toBe(true);
    if (!d.fromText && !fromPreset) expect([d.name, ...partners(d.name)], `a problem about another key: ${line} (${context})`).toContain(keyOf(issue.path));
    if (!/^expected .+, got .+/.test(issue.message)) {
      expect(isOwnForm(issue.message, d), `not in the documented form: ${line} (${context})`).toBe(true);
    } else if (issue.path === (d.fromText ? '' : d.name) && issue.source === d.source) {
      // The value itself is shown as found (items of a list or record are shown on their own lines).
      expect(issue.message, line).toContain(`, got ${describeValue(d.input)}`);
    }
  }
  const named = issues.some((issue) => issue.source === d.source && (d.fromText || keyOf(issue.path) === d.name || issue.message.includes(d.name)));
  expect(named, `no problem names ${d.name} from ${d.source}: ${context}`).toBe(true);
}

// ---------------------------------------------------------------------------------------
// Values

/** An object with these own properties, `__proto__` included as a key (as JSON.parse makes it), not a prototype. */
export function ownObject(entries: readonly (readonly [string, unknown])[]): Record<string, unknown> {
  const object: Record<string, unknown> = {};
  for (const [key, value] of entries) Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
  return object;
}

/** Keys that are special somewhere in JavaScript, or in a message. */
const ODD_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', '', ' ', 'a b', 'a\nb', 'a.b', '0', 'é', 'PATH', 'NODE_OPTIONS'];

/** Strings that look like numbers in forms a decimal reader must refuse, and other traps. */
const ODD_TEXTS = [
  '', ' ', '\t', '\n', '0', '-0', '+0', '00', '1', '+1', '-1', '01', '1.', '.5', '1.5', '0.001', '0.0005', '1.0005', '1e3', '1E-3', '1e400', '-1e400',
  '0x10', '0X1f', '0b1', '0o17', '017', '1_000', '1,000', '1 000', '١', '٣٠', '３０', '½', 'Infinity', '-Infinity', 'NaN', 'null', 'undefined',
  'true', 'false', 'auto', 'AUTO', ' auto ', 'yes', 'on', 'off', '__proto__', 'constructor', 'toString', '\u0000', 'a\u0000b', 'a\nb', '\u2028',
  '\u202e', '😀', 'e\u0301', '-', '--', '/', '.', './', '..', '#', '=', '==', 'A=', '=A', 'A=1,', ',', ',,', 'KEY=VALUE', '9'.repeat(400),
  '2147483647', '2147483648', '4294967295', '4294967296', '9007199254740993', '-2147483649',
];

/** Numbers at the edges of what JavaScript, JSON, Node's timers and 32-bit fields hold. */
const ODD_NUMBERS = [
  0, -0, 1, -1, 0.5, 0.1, 0.001, 0.0005, 1e-7, 1.001, 1.0005, 1 + 1e-10, NaN, Infinity, -Infinity, Number.MAX_VALUE, Number.MIN_VALUE,
  Number.EPSILON, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 2, -Number.MAX_SAFE_INTEGER, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32,
  2 ** 53, 1e21, 1e308, -1e308, 2147483.647, 2147483.648, 2147484, 0o777, 0o1000, 65535, 65536,
];

/** Every number a JSON Schema names as a bound or a constant, anyOf branches included. */
function schemaNumbers(schema: JsonSchema): number[] {
  const own = [schema.minimum, schema.maximum, schema.const].filter((n): n is number => typeof n === 'number');
  return [...own, ...((schema.anyOf as JsonSchema[] | undefined) ?? []).flatMap(schemaNumbers)];
}

/** Every string a JSON Schema names (enum members, constants). */
function schemaWords(schema: JsonSchema): string[] {
  const own = [...((schema.enum as unknown[] | undefined) ?? []), schema.const].filter((w): w is string => typeof w === 'string');
  return [...own, ...((schema.anyOf as JsonSchema[] | undefined) ?? []).flatMap(schemaWords)];
}

/** Objects whose keys JavaScript treats specially, each holding a string and a non-string. */
const PROTOTYPE_OBJECTS = ['__proto__', 'constructor', 'toString', 'hasOwnProperty'].flatMap((key) => [
  ownObject([[key, 'x']]),
  ownObject([[key, { A: '1' }]]),
  ownObject([['A', '1'], [key, 1]]),
]);

/** Numbers at and around a row's bounds: each bound, one off, a millisecond off, a fraction of one off, far past. */
function boundaryNumbers(name: SettingName): number[] {
  return [...new Set(schemaNumbers(SETTINGS[name].kind.json))].flatMap((b) => [
    b, b - 1, b + 1, b - 0.001, b + 0.001, b + 0.0005, b - 1e-9, b + 1e-9, b + 0.5, -b, b * 1000, b / 1000, b * 2 ** 32,
  ]);
}

/** A row's words and default, and small changes to them (case, spaces, a letter more or less). */
function nearWords(name: SettingName): string[] {
  const row = SETTINGS[name];
  const defaults = (Array.isArray(row.default) ? row.default : [row.default]).filter((d): d is string => typeof d === 'string');
  return [...schemaWords(row.kind.json), ...defaults].flatMap((w) => [w, w.toUpperCase(), ` ${w} `, `${w}x`, w.slice(0, -1), `${w},${w}`, `${w}\n`]);
}

/** Text forms of a number: decimal, fixed, exponent, hex, binary, octal, padded, grouped. */
function numberTexts(n: number): string[] {
  const forms = [String(n), n.toFixed(4), n.toExponential(), ` ${n} `, `+${n}`, n.toLocaleString('en-US')];
  if (Number.isSafeInteger(n) && n >= 0) forms.push(`0x${n.toString(16)}`, `0b${n.toString(2)}`, `0o${n.toString(8)}`, `0${n}`);
  return forms;
}

/**
 * Durations to the millisecond, across Node's timer range and a little past it: most are
 * accepted, and each must still be a whole number of milliseconds to the runtime.
 */
const milliseconds = fc.integer({ min: 0, max: 2 ** 31 + 1000 }).map((ms) => ms / 1000);

/** Any value, nested a little, with odd keys in its objects; a function or a bigint too (a TypeScript config can hold them). */
const anyValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom<unknown>(null, undefined, true, false, () => {}, 10n, ...ODD_NUMBERS, ...ODD_TEXTS),
    milliseconds,
    fc.double(),
    fc.integer(),
    fc.string({ unit: 'binary', maxLength: 12 }),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.array(fc.tuple(fc.oneof(fc.constantFrom(...ODD_KEYS), fc.string({ maxLength: 6 })), tie('value')), { maxLength: 3 }).map(ownObject),
  ),
})).value;

/** Values for a row: its bounds and words and their neighbours, its default, and anything at all. */
export function valuesFor(name: SettingName): fc.Arbitrary<unknown> {
  const row = SETTINGS[name];
  const words = nearWords(name);
  const near = fc.constantFrom<unknown>(row.default, ...boundaryNumbers(name), ...words, ...ODD_NUMBERS, ...PROTOTYPE_OBJECTS, [], {}, [null]);
  const items = fc.oneof(fc.constantFrom<unknown>(...words, ...ODD_TEXTS), anyValue);
  return fc.oneof(
    { weight: 3, arbitrary: near },
    { weight: 3, arbitrary: anyValue },
    // Lists and records of plausible items: a list-valued or record-valued row reaches its item checks.
    { weight: 1, arbitrary: fc.array(items, { maxLength: 3 }) },
    { weight: 1, arbitrary: fc.array(fc.tuple(fc.oneof(fc.constantFrom(...ODD_KEYS), fc.string({ maxLength: 6 })), fc.oneof(fc.string({ maxLength: 6 }), items)), { maxLength: 3 }).map(ownObject) },
  );
}

/** Texts for a row's flag or variable: numbers around its bounds in every notation, its words, and odd text. */
export function textsFor(name: SettingName): fc.Arbitrary<string> {
  const numbers = [...boundaryNumbers(name), ...ODD_NUMBERS].flatMap(numberTexts);
  return fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...numbers) },
    { weight: 1, arbitrary: milliseconds.map((s) => s.toFixed(3)) },
    { weight: 2, arbitrary: fc.constantFrom(...nearWords(name), ...ODD_TEXTS) },
    { weight: 1, arbitrary: fc.double().map(String) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }) },
    { weight: 1, arbitrary: fc.array(fc.constantFrom(...nearWords(name), ...ODD_TEXTS, 'A=1'), { minLength: 1, maxLength: 3 }).map((parts) => parts.join(',')) },
  );
}

// ---------------------------------------------------------------------------------------
// Sources

/** How a value reaches hostd: in a config file (JSON, or TypeScript for what JSON cannot hold), a `HOSTD_*` variable, or flags. */
export type Delivery =
  | { readonly via: 'file'; readonly format: 'json' | 'ts'; readonly value: unknown }
  | { readonly via: 'env'; readonly text: string }
  | { readonly via: 'flag'; readonly texts: readonly string[] };

/** Whether JSON holds `value` exactly (no undefined, NaN, Infinity, -0, functions, bigints). */
export function isJsonable(value: unknown): boolean {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value) && !Object.is(value, -0);
  if (Array.isArray(value)) return value.every(isJsonable);
  if (typeof value === 'object') return Object.getPrototypeOf(value) === Object.prototype && Object.values(value).every(isJsonable);
  return false;
}

/** `value` as TypeScript source; keys as computed names, so `__proto__` is a key as in JSON, not the prototype. */
export function tsSource(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : String(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'function') return '() => {}';
  if (Array.isArray(value)) return `[${value.map(tsSource).join(', ')}]`;
  if (value !== null && typeof value === 'object') return `{ ${Object.entries(value).map(([k, v]) => `[${JSON.stringify(k)}]: ${tsSource(v)}`).join(', ')} }`;
  return JSON.stringify(value);
}

/** A config file's text setting `name` to `value`. */
export function configText(format: 'json' | 'ts', name: SettingName, value: unknown): string {
  return format === 'json' ? JSON.stringify({ [name]: value }) : `export default { ${JSON.stringify(name)}: ${tsSource(value)} };\n`;
}

/** Where a value can come from. */
export type Via = Delivery['via'];

/**
 * The sources that can carry a value of `name`: a file always (even for a setting a file may
 * not set, to see it refused), a variable and a flag where the row has them. On the real
 * command line a switch takes no text (it is --name or --no-name), so `realCommandLine`
 * leaves its flag out; in-process it may still be handed one.
 */
export function viasFor(name: SettingName, options: { realCommandLine?: boolean } = {}): Via[] {
  if (!settingsWithCli().includes(name)) return ['file'];
  return options.realCommandLine && SETTINGS[name].kind.arg === undefined ? ['file', 'env'] : ['file', 'env', 'flag'];
}

/** Values for `name` carried by one source: JSON or TypeScript files (TypeScript for what JSON cannot hold), variable text, flag texts. */
export function deliveriesVia(name: SettingName, via: Via): fc.Arbitrary<Delivery> {
  switch (via) {
    case 'file':
      return valuesFor(name).chain((value) =>
        (isJsonable(value) ? fc.constantFrom<'json' | 'ts'>('json', 'ts') : fc.constant<'ts'>('ts')).map((format): Delivery => ({ via, format, value })),
      );
    case 'env':
      return textsFor(name).map((text): Delivery => ({ via, text }));
    case 'flag':
      return fc.array(textsFor(name), { minLength: 1, maxLength: SETTINGS[name].kind.repeatable ? 3 : 2 }).map((texts): Delivery => ({ via, texts }));
  }
}

/** Values for `name` from every source it has. */
export function deliveriesFor(name: SettingName): fc.Arbitrary<Delivery> {
  return fc.oneof(...viasFor(name).map((via) => deliveriesVia(name, via)));
}

/** The source name problems give for a delivery, and what the setting's schema was handed. */
export function delivered(name: SettingName, d: Delivery, fileName: string): Delivered {
  if (d.via === 'file') return { name, source: fileName, input: d.value, fromText: false };
  const texts = d.via === 'env' ? [d.text] : d.texts;
  return { name, source: d.via === 'env' ? envName(name) : flagName(name), input: SETTINGS[name].kind.fromText!(texts), fromText: true };
}
