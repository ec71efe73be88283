/**
 * Loads user modules: the config file (through a ModuleGraph), and the app. This is the
 * only module that knows the loader library (jiti). The config's module graph uses two
 * of its public functions: `transform` (TypeScript and ESM to CommonJS-style code that
 * awaits its imports, cached on disk by hostd, so babel is not even loaded when nothing changed)
 * and `esmResolve` (package resolution with import conditions). The app is imported by
 * jiti itself, with its module cache, so a module imported from two places is one instance.
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { types } from 'node:util';
import { runInThisContext } from 'node:vm';
import { HostdError } from '../errors.ts';
import { displayPath, HOSTD_CODE_DIR } from '../paths.ts';
import { escapeControls } from '../text.ts';
import type { ModuleGraph } from './modules.ts';
import type { ConfigEnv } from './types.ts';
import { forgetSourceMap, keepSourceMap } from './source-maps.ts';
import { cachedTransform, storeTransform } from './transform-cache.ts';
import { loadError, ModuleLoadError } from './user-error.ts';

interface Jiti {
  import(id: string): Promise<unknown>;
  transform(options: { source: string; filename: string; ts: boolean; async: boolean; interopDefault: true }): string;
  esmResolve(id: string, options: { parentURL: string; try: true }): string | URL | undefined;
}
type CreateJiti = (parent: string, options: { moduleCache: boolean; interopDefault: boolean; sourceMaps: boolean; fsCache?: false }) => Jiti;
let createJiti: CreateJiti | undefined;

/**
 * `fresh`: no module cache, so that every import evaluates the module again. An app is
 * loaded once per worker and keeps the cache, so a module imported from two places is one instance.
 * `sourceMaps`: transformed code ends with its inline source map (and is cached apart from code without).
 */
function jitiFor(parent: string, fresh = true, sourceMaps = false, fsCache = true): Jiti {
  preloadLoader();
  return createJiti!(parent, { moduleCache: !fresh, interopDefault: false, sourceMaps, ...(fsCache ? {} : { fsCache: false }) });
}

/** Loads the loader library now, for a process that has time to spare before it needs it (`hostd check`'s app load). */
export function preloadLoader(): void {
  // require(), not import: importing this CommonJS bundle from ESM makes Node lex all
  // 190 kB of it for export names, which costs ~12 ms of every `hostd check`.
  createJiti ??= (createRequire(import.meta.url)('jiti') as { createJiti: CreateJiti }).createJiti;
}

/** A module's exports; for CommonJS, `default` is `module.exports`. */
export type ModuleExports = Record<string, unknown>;

/** Exports from what the loader returns: an ES module namespace, transpiled ESM, or CommonJS `module.exports`. */
function asExports(value: unknown): ModuleExports {
  if (value !== null && typeof value === 'object') {
    const isNamespace = Object.prototype.toString.call(value) === '[object Module]';
    if (isNamespace || (value as { __esModule?: unknown }).__esModule) return value as ModuleExports;
  }
  return { default: value };
}

/** Imports `specifier` (relative to `parent`, or a package) with jiti: how a worker loads a TypeScript app. */
export async function importModule(specifier: string, parent: string, fresh = true): Promise<ModuleExports> {
  return asExports(await jitiFor(parent, fresh).import(specifier));
}

/**
 * The jiti instance of the module graphs: one per process, anchored at the first module it
 * transforms (the config file). With source maps, so that an error in a config is shown at
 * the column the user wrote (see source-maps.ts). Without jiti's own disk cache: hostd's
 * (transform-cache.ts) is in front of it, and jiti makes its cache folder only when the
 * instance is made, so once a release folder was switched under the primary (`chdir`), every
 * write to the new release's missing `node_modules/.cache/jiti` failed the reload.
 */
let graphJiti: Jiti | undefined;

/** The graph's jiti instance, made on first use. */
function graphJitiFor(file: string): Jiti {
  graphJiti ??= jitiFor(file, true, true, false);
  return graphJiti;
}

/**
 * How a module's text becomes code: `as-is` (CommonJS, run as Node would), or transpiled
 * with its imports awaited (`async`, for import) or required (`sync`, for require()).
 */
export type CompileMode = 'as-is' | 'async' | 'sync';

/**
 * A module's code as a function, called with what the module's code refers to: the
 * parameters of jiti's transform output, which are Node's CommonJS ones plus the
 * functions its imports and `import.meta.resolve` become.
 */
export type ModuleBody = (
  this: unknown,
  exports: unknown,
  require: (specifier: string) => unknown,
  module: { exports: unknown },
  __filename: string,
  __dirname: string,
  jitiImport: (specifier: string) => Promise<unknown>,
  jitiESMResolve: (specifier: string) => string,
) => unknown;

const PARAMETERS = 'exports, require, module, __filename, __dirname, jitiImport, jitiESMResolve';
const TRANSFORM_ERROR = 'exports.__JITI_ERROR__ = ';

/**
 * Compiles a module's text into its body, under its real file name so that stack traces
 * show the user's file, line and column. A syntax error throws a ModuleLoadError.
 */
export function compileModule(source: string, file: string, mode: CompileMode): ModuleBody {
  let code: string;
  if (mode === 'as-is') {
    forgetSourceMap(file);
    code = source.replace(/^#!/, '//');
  } else {
    code = keepSourceMap(file, transpile(source, file, mode === 'async'));
  }
  // The function's head has a line of its own, numbered 0, so the module's first line keeps its columns.
  const wrapped = `(${mode === 'async' ? 'async ' : ''}function (${PARAMETERS}) {\n${code}\n})`;
  try {
    return runInThisContext(wrapped, { filename: file, lineOffset: -1 }) as ModuleBody;
  } catch (error) {
    // Code run as is has not been parsed by babel yet, which says where the problem is.
    if (mode === 'as-is' && error instanceof SyntaxError) transpile(source, file, true);
    throw error;
  }
}

/** TypeScript and ES module syntax → CommonJS-style code, from hostd's cache (transform-cache.ts) or jiti's when the text is unchanged. */
function transpile(source: string, file: string, async: boolean): string {
  const mode = async ? 'async' : 'sync';
  const cached = cachedTransform(file, source, mode);
  if (cached !== undefined) return cached;
  const code = graphJitiFor(file).transform({ source, filename: file, ts: /\.[cm]?tsx?$/.test(file), async, interopDefault: true });
  if (!code.startsWith(TRANSFORM_ERROR)) storeTransform(file, source, mode, code);
  else {
    const { line, column, code: kind, message } = JSON.parse(code.slice(TRANSFORM_ERROR.length)) as { line: number; column: number; code?: string; message?: string };
    const problem = kind === 'ParseError' ? 'syntax error' : `cannot transpile (${kind ?? 'unknown error'})`;
    // Babel counts columns from 0; an editor, and every other position hostd shows, from 1.
    throw new ModuleLoadError({ file, line: line || undefined, column: line ? column + 1 : undefined }, `${problem}: ${(message ?? '').trim()}`);
  }
  return code;
}

/** The file a package specifier (`zod`, `hostd/presets/docker`, `#internal`) names for `parentFile`, with import conditions; undefined when none. */
export function resolvePackage(specifier: string, parentFile: string): string | undefined {
  const own = resolveOwnPackage(specifier, parentFile);
  if (own !== null) return own;
  const url = graphJitiFor(parentFile).esmResolve(specifier, { parentURL: pathToFileURL(parentFile).href, try: true });
  return url === undefined ? undefined : fileURLToPath(url);
}

/** This package's folder: hostd's code is in its dist/ (or src/ in development). */
const OWN_ROOT = dirname(HOSTD_CODE_DIR);
/** Conditions of an import, in the order Node tries them. */
const IMPORT_CONDITIONS = new Set(['node', 'import', 'default']);
let ownExports: Record<string, unknown> | undefined;

/**
 * `hostd` or `hostd/...` when, from `parentFile`, it names this very package (what nearly
 * every config imports): resolved by its own exports map, as Node would, without loading
 * jiti for it. Null for any other package or copy of hostd, which jiti resolves.
 */
function resolveOwnPackage(specifier: string, parentFile: string): string | null {
  if (specifier !== 'hostd' && !specifier.startsWith('hostd/')) return null;
  const root = packageFolder('hostd', dirname(parentFile));
  if (root === null || realpathSync(root) !== realpathSync(OWN_ROOT)) return null;
  ownExports ??= (JSON.parse(readFileSync(join(OWN_ROOT, 'package.json'), 'utf8')) as { exports: Record<string, unknown> }).exports;
  const subpath = `.${specifier.slice('hostd'.length)}`;
  let target: unknown = ownExports[subpath];
  if (target === undefined) {
    for (const [key, value] of Object.entries(ownExports)) {
      const star = key.indexOf('*');
      if (star < 0 || !subpath.startsWith(key.slice(0, star)) || !subpath.endsWith(key.slice(star + 1)) || subpath.length < key.length - 1) continue;
      const matched = subpath.slice(star, subpath.length - (key.length - star - 1));
      target = substitute(value, matched);
      break;
    }
  }
  while (target !== null && typeof target === 'object') target = Object.entries(target).find(([condition]) => IMPORT_CONDITIONS.has(condition))?.[1];
  if (typeof target !== 'string') return null;
  const file = join(OWN_ROOT, target);
  return existsSync(file) ? file : null;
}

/** An exports target with `*` replaced. */
function substitute(target: unknown, matched: string): unknown {
  if (typeof target === 'string') return target.replaceAll('*', matched);
  if (target !== null && typeof target === 'object') return Object.fromEntries(Object.entries(target).map(([k, v]) => [k, substitute(v, matched)]));
  return target;
}

/**
 * The folder of package `name` as seen from `dir`, as Node finds it: the enclosing package
 * itself when it is `name` (a self-reference), else `node_modules/name` in `dir` or above.
 */
function packageFolder(name: string, dir: string): string | null {
  for (let at = dir; basename(at) !== 'node_modules'; at = dirname(at)) {
    const manifest = join(at, 'package.json');
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === name) return at;
      } catch {
        // Not valid JSON: Node would fail on it too; jiti says so.
        return null;
      }
      break;
    }
    if (dirname(at) === at) break;
  }
  for (let at = dir; ; at = dirname(at)) {
    if (basename(at) !== 'node_modules' && existsSync(join(at, 'node_modules', name, 'package.json'))) return join(at, 'node_modules', name);
    if (dirname(at) === at) return null;
  }
}

/**
 * Evaluates a config file through `graph` and returns what its default export stands for:
 * the object itself (a JSON file's content), or the result of calling the exported (sync or
 * async) function with `env`. Every problem is a HostdError naming the user's file and line.
 * The object comes boxed: resolving a promise with it would read its `then`, which on a
 * Proxy is user code running outside any try; its keys are read (and judged) one by one later.
 */
export async function loadConfigFile(file: string, env: ConfigEnv, cwd: string, graph: ModuleGraph): Promise<{ readonly config: unknown }> {
  let text: string;
  try {
    text = graph.source(file);
  } catch (error) {
    throw new HostdError('HOSTD_ERR_CONFIG_NOT_FOUND', `cannot read ${displayPath(file, cwd)}: ${escapeControls((error as Error).message)}`, { cause: error });
  }
  // An empty module exports an empty object, which would pass as a config of defaults alone.
  if (text.trim() === '') {
    const write = file.endsWith('.json') ? 'a JSON object of settings, as in `{ "app": "./src/app.ts" }`' : '`export default defineConfig({ ... })` (with `import { defineConfig } from \'hostd\'`)';
    throw new HostdError('HOSTD_ERR_CONFIG_LOAD', `${displayPath(file, cwd)} is empty; write ${write}`);
  }
  let value: unknown;
  try {
    const exports = await graph.import(file, file);
    value = 'default' in exports ? exports.default : undefined;
  } catch (error) {
    throw loadError(error, file, cwd, graph.sources);
  }
  if (value === undefined) {
    throw new HostdError('HOSTD_ERR_CONFIG_LOAD', `${displayPath(file, cwd)} has no default export; write \`export default defineConfig({ ... })\``);
  }
  try {
    const config = typeof value === 'function' ? (value as (env: ConfigEnv) => unknown)(env) : value;
    // Only a real promise is awaited, for the same reason.
    return { config: types.isPromise(config) ? await config : config };
  } catch (error) {
    throw loadError(error, file, cwd, graph.sources);
  }
}

/**
 * Loading a config that never settles (a top-level await, an exported async function)
 * would hang every command, and a reload for ever: past `seconds` it is an error naming
 * the file. The evaluation itself cannot be cancelled; the caller moves on (the CLI exits).
 */
export function withinConfigTimeout<T>(loading: Promise<T>, seconds: number, file: string): Promise<T> {
  if (seconds === 0) return loading;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new HostdError(
            'HOSTD_ERR_CONFIG_TIMEOUT',
            `${file} did not finish loading within config_timeout (${seconds} s): a top-level await or the exported function never settled (raise the limit with --config-timeout or HOSTD_CONFIG_TIMEOUT)`,
          ),
        ),
      seconds * 1000,
    );
  });
  return Promise.race([loading, late]).finally(() => clearTimeout(timer));
}
