/**
 * Loads the app a worker serves: a Node request listener, an object with `fetch`, or a
 * factory (sync or async, given the worker's server and identity) of either. TypeScript apps go through the config
 * loader; JavaScript apps are imported by Node itself.
 *
 * This is the one place that decides what an app export is, and what to write instead
 * when it is not one: a worker loads its app with it, and `hostd check` loads the app
 * with it too (in a process of its own, cli/app-check.ts), so both say the same thing.
 */
import { readFileSync } from 'node:fs';
import type { RequestListener } from 'node:http';
import { Server } from 'node:net';
import { dirname, join, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { locateModule, moduleAsWritten, splitAppSpec } from '../../config/app-spec.ts';
import { describeValue } from '../../config/issues.ts';
import { importModule, type ModuleExports } from '../../config/load.ts';
import { didYouMean } from '../../config/suggest.ts';
import { describeLoadError, describeThrown } from '../../config/user-error.ts';
import { HostdError } from '../../errors.ts';
import type { App, AppContext, FetchApp } from '../../hooks/contexts.ts';
import { displayPath, HOSTD_CODE_DIR, printablePath, shortPath } from '../../paths.ts';
import { quote } from '../../text.ts';
import { userStack } from '../log.ts';

const EXPECTED = 'a request listener (req, res) => ..., an object with fetch(request), or a factory ({ server, worker }) => either';

/** What an app turned out to be, in a few words (`hostd check` shows it). */
export type AppKind = 'a request listener' | 'a fetch app' | 'a factory of a request listener' | 'a factory of a fetch app';

/**
 * An app that cannot be served. `message` is one line and says what to write instead;
 * `detail` is the user's stack when user code threw (a worker logs it, `check` does not).
 */
export class AppError extends HostdError {
  constructor(
    code: 'HOSTD_ERR_APP_LOAD' | 'HOSTD_ERR_APP_INVALID',
    message: string,
    readonly detail: string | null = null,
    options?: ErrorOptions,
  ) {
    super(code, message, options);
    this.name = 'AppError';
  }
}

export function isFetchApp(value: unknown): value is FetchApp {
  return value !== null && typeof value === 'object' && typeof (value as { fetch?: unknown }).fetch === 'function';
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Could be served: a listener, a fetch app, or a factory of one. */
function isAppLike(value: unknown): boolean {
  return typeof value === 'function' || isFetchApp(value);
}

/** Fastify keeps its state under `Symbol(fastify.state)` on the instance. */
function isFastify(value: object): boolean {
  return Object.getOwnPropertySymbols(value).some((symbol) => symbol.description === 'fastify.state');
}

function isKoa(value: object): boolean {
  const v = value as { callback?: unknown; use?: unknown; middleware?: unknown };
  return typeof v.callback === 'function' && typeof v.use === 'function' && Array.isArray(v.middleware);
}

/**
 * A framework object that is not an app itself, and what to `export` (or `return`, from a
 * factory) instead: the recipes of docs/settings.md (`app`).
 */
function frameworkFix(value: unknown, verb: 'export' | 'return'): string | null {
  if (value === null || typeof value !== 'object') return null;
  if (value instanceof Server) return `a server, not an app: ${verb} the request listener you gave createServer() (hostd binds the sockets itself)`;
  if (isFastify(value)) {
    return `a Fastify instance, not a request listener: ${verb === 'export' ? 'export a factory that awaits' : 'await'} app.ready() and ${verb === 'export' ? 'returns' : 'return'} (req, res) => app.server.emit('request', req, res) (see \`app\` in hostd's docs/settings.md)`;
  }
  if (isKoa(value)) return `a Koa app, not a request listener: ${verb} app.callback()`;
  return null;
}

/** `a, b and c`. */
function listed(names: readonly string[]): string {
  const shown = names.slice(0, 5).map((name) => (/^[\p{L}\p{N}_$]+$/u.test(name) ? name : JSON.stringify(name)));
  const more = names.length > 5 ? ` and ${names.length - 5} more` : '';
  return shown.length > 1 && !more ? `${shown.slice(0, -1).join(', ')} and ${shown.at(-1)}` : `${shown.join(', ')}${more}`;
}

/** Node runs a `.cjs` file, or a `.js` file outside a `"type": "module"` package, as CommonJS. */
function isCommonJs(file: string): boolean {
  if (/\.c[jt]s$/.test(file)) return true;
  if (!file.endsWith('.js')) return false;
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    try {
      return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { type?: unknown }).type !== 'module';
    } catch {
      if (dirname(dir) === dir) return true;
    }
  }
}

/** Where user code called: the first frame outside Node, hostd and node_modules (`app.js:7`). */
function callSite(stack: string | undefined): string | null {
  for (const line of (stack ?? '').split('\n').slice(1)) {
    const match = /(?:^at |\()(?:file:\/\/)?((?:\/|[A-Za-z]:\\)[^():]+):(\d+):\d+\)?$/.exec(line.trim());
    if (!match) continue;
    const file = match[1]!;
    if (file.startsWith(HOSTD_CODE_DIR + sep) || /[\\/]node_modules[\\/]/.test(file)) continue;
    return `${displayPath(file)}:${match[2]}`;
  }
  return null;
}

/**
 * While the app loads, `listen()` binds nothing and fails the load instead: hostd binds the
 * sockets, and an app that starts its own server at import would take its port in the first
 * worker and fail in the next (EADDRINUSE), or, under `hostd check`, take it for nothing.
 */
function guardListen(onListen: (site: string | null) => void): () => void {
  const original = Server.prototype.listen;
  Server.prototype.listen = function listen(this: Server) {
    onListen(callSite(new Error().stack));
    return this;
  } as typeof Server.prototype.listen;
  return () => {
    Server.prototype.listen = original;
  };
}

/** Imports the app's module `file`; `module` is how the user wrote it. */
async function importApp(file: string, module: string): Promise<ModuleExports> {
  try {
    return /\.[cm]?ts$/.test(file) ? await importModule(file, file, false) : ((await import(pathToFileURL(file).href)) as ModuleExports);
  } catch (error) {
    const [first, ...rest] = describeLoadError(error, file).split('\n');
    throw new AppError('HOSTD_ERR_APP_LOAD', `importing ${printablePath(module)} failed: ${first}`, rest.join('\n') || null, { cause: error });
  }
}

/** How `file` exports its app, in its own module system. */
function exportHint(file: string): string {
  return isCommonJs(file) ? 'module.exports = app' : 'export default app';
}

/**
 * The export `name` of a module, or what to write instead. A CommonJS module's
 * `module.exports = { app }` is read as `#app` whether or not Node found the name itself.
 */
function pickExport(exports: ModuleExports, name: string, module: string, file: string): unknown {
  const fallback = exports.default;
  if (name in exports && exports[name] !== undefined) {
    const value = exports[name];
    if (name !== 'default' || !isPlainObject(value) || isFetchApp(value) || !isCommonJs(file)) return value;
    // module.exports = { ... }: no default export, as a user of CommonJS sees it.
    const names = Object.keys(value).filter((key) => key !== '__esModule');
    if (names.length === 0) throw new AppError('HOSTD_ERR_APP_INVALID', `${printablePath(module)} exports nothing: export the app (${exportHint(file)})`);
    throw noDefault(module, file, names, value);
  }
  if (name !== 'default' && isPlainObject(fallback) && Object.hasOwn(fallback, name) && fallback[name] !== undefined) return fallback[name];
  const names = [...new Set([...Object.keys(exports), ...(isPlainObject(fallback) ? Object.keys(fallback) : [])])].filter((key) => key !== 'default' && key !== '__esModule');
  if (name === 'default') {
    if (names.length === 0) throw new AppError('HOSTD_ERR_APP_INVALID', `${printablePath(module)} exports nothing: export the app (${exportHint(file)})`);
    throw noDefault(module, file, names, { ...(isPlainObject(fallback) ? fallback : {}), ...exports });
  }
  throw new AppError('HOSTD_ERR_APP_INVALID', `${printablePath(module)} has no export ${JSON.stringify(name)}${didYouMean(name, names)}`);
}

function noDefault(module: string, file: string, names: readonly string[], values: Record<string, unknown>): AppError {
  const app = names.find((key) => isAppLike(values[key]));
  const fix = app === undefined ? `export the app (${exportHint(file)})` : `write ${JSON.stringify(`${module}#${app}`)}`;
  return new AppError('HOSTD_ERR_APP_INVALID', `${printablePath(module)} exports no default; it exports ${listed(names)}: ${fix}`);
}

/**
 * Why `value` is not an app, with the fix: `subject` is `./app.mjs#default is` for an
 * export, `the app factory ./app.mjs#default returned` for what a factory made.
 */
function notAnApp(value: unknown, subject: string, verb: 'export' | 'return', module: string): AppError {
  const fix = frameworkFix(value, verb);
  if (fix !== null) return new AppError('HOSTD_ERR_APP_INVALID', `${subject} ${fix}`);
  if (verb === 'export' && isPlainObject(value)) {
    const apps = Object.keys(value).filter((key) => isAppLike(value[key]));
    if (apps.length > 0) return new AppError('HOSTD_ERR_APP_INVALID', `${subject} an object holding ${listed(apps)}, not an app: write ${JSON.stringify(`${module}#${apps[0]}`)}`);
  }
  return new AppError('HOSTD_ERR_APP_INVALID', `${subject} ${describeValue(value)}; expected ${EXPECTED}`);
}

/**
 * Turns an export into an app. A function taking two or more parameters is a listener
 * (Express's `app` takes three); one taking none or one is a factory, called once here
 * with `context`.
 */
async function resolveApp(value: unknown, module: string, exportName: string, context: AppContext): Promise<{ app: App; kind: AppKind }> {
  const what = `${printablePath(module)}#${exportName}`;
  if (isFetchApp(value)) return { app: value, kind: 'a fetch app' };
  if (typeof value !== 'function') throw notAnApp(value, `${what} is`, 'export', module);
  if (value.length >= 2) return { app: value as RequestListener, kind: 'a request listener' };
  let made: unknown;
  try {
    made = await (value as (context: AppContext) => unknown)(context);
  } catch (error) {
    throw new AppError('HOSTD_ERR_APP_LOAD', `the app factory ${what} threw ${describeThrown(error)}`, userStack(error), { cause: error });
  }
  if (isFetchApp(made)) return { app: made, kind: 'a factory of a fetch app' };
  if (typeof made === 'function') return { app: made as RequestListener, kind: 'a factory of a request listener' };
  throw notAnApp(made, `the app factory ${what} returned`, 'return', module);
}

/**
 * Loads the app `spec` names (`./src/app.ts#name`), relative to `root`: imports it, checks
 * what it exports, calls a factory with `context`. Throws an AppError saying what to write instead.
 */
export async function loadApp(spec: string, root: string, context: AppContext): Promise<{ app: App; kind: AppKind }> {
  const { module: path, exportName } = splitAppSpec(spec);
  // Messages name the module as the config has it, and a fix is what to write there.
  const module = moduleAsWritten(path, root);
  const file = locateModule(path, root);
  if (file === null) throw new AppError('HOSTD_ERR_APP_LOAD', `cannot find the app module ${quote(shortPath(module))}`);
  let phase: 'import' | 'factory' = 'import';
  let listened: (site: string | null) => void = () => {};
  const listening = new Promise<never>((_, reject) => {
    listened = (site) => {
      const at = site ? ` (listen() at ${site})` : '';
      const message =
        phase === 'import'
          ? `${printablePath(module)} starts its own server when imported${at}: hostd binds the sockets; remove the listen call and export the app (${exportHint(file)})`
          : `the app factory ${printablePath(module)}#${exportName} starts its own server${at}: hostd binds the sockets; remove the listen call and return the app`;
      reject(new AppError('HOSTD_ERR_APP_INVALID', message));
    };
  });
  const restore = guardListen((site) => listened(site));
  try {
    return await Promise.race([
      listening,
      (async () => {
        const value = pickExport(await importApp(file, module), exportName, module, file);
        phase = 'factory';
        return resolveApp(value, module, exportName, context);
      })(),
    ]);
  } finally {
    restore();
  }
}
