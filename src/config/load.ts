/**
 * Loads user modules: the config file, presets named in JSON, hook references. This is
 * the only module that knows the loader library (jiti): it gives TypeScript and
 * JavaScript, ESM and CommonJS, top-level await, and shares module instances (such as
 * `hostd` itself) with the process that loads them.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { extname } from 'node:path';
import { HostdError } from '../errors.ts';
import { displayPath } from '../paths.ts';
import type { ConfigEnv } from './types.ts';
import { loadError } from './user-error.ts';

interface Jiti {
  import(id: string): Promise<unknown>;
  evalModule(source: string, options: { filename: string; ext: string; async: true; forceTranspile: true }): Promise<unknown>;
}
type CreateJiti = (parent: string, options: { moduleCache: boolean; interopDefault: boolean }) => Jiti;
let createJiti: CreateJiti | undefined;

/**
 * `fresh`: no module cache, so a reload (SIGHUP) re-reads the config and the TypeScript
 * modules it imports. An app is loaded once per worker and keeps the cache, so a module
 * imported from two places is one instance.
 */
function jitiFor(parent: string, fresh = true): Jiti {
  // require(), not import: importing this CommonJS bundle from ESM makes Node lex all
  // 190 kB of it for export names, which costs ~12 ms of every `hostd check`.
  createJiti ??= (createRequire(import.meta.url)('jiti') as { createJiti: CreateJiti }).createJiti;
  return createJiti(parent, { moduleCache: !fresh, interopDefault: false });
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

/** Imports `specifier` (relative to `parent`, or a package) as the config would; `fresh` re-evaluates it. */
export async function importModule(specifier: string, parent: string, fresh = true): Promise<ModuleExports> {
  return asExports(await jitiFor(parent, fresh).import(specifier));
}

/** Reads a JSON config, reporting a syntax error with its line and column. */
function readJsonConfig(file: string, cwd: string): unknown {
  const text = readFileSync(file, 'utf8');
  try {
    return JSON.parse(text);
  } catch (error) {
    const message = (error as Error).message;
    const position = /position (\d+)/.exec(message);
    let at = '';
    if (position) {
      const before = text.slice(0, Number(position[1]));
      const line = before.split('\n').length;
      at = `:${line}:${before.length - before.lastIndexOf('\n')}`;
    }
    throw new HostdError('HOSTD_ERR_CONFIG_LOAD', `${displayPath(file, cwd)}${at}: invalid JSON: ${message.replace(/ in JSON at position \d+.*$/, '')}`);
  }
}

/**
 * Evaluates a config file afresh and returns what its default export stands for: the
 * object itself, or the result of calling the exported (sync or async) function with
 * `env`. Every problem is a HostdError naming the user's file and line.
 */
export async function loadConfigFile(file: string, env: ConfigEnv, cwd = process.cwd()): Promise<unknown> {
  if (extname(file) === '.json') return readJsonConfig(file, cwd);

  let source: string;
  try {
    source = readFileSync(file, 'utf8');
  } catch (error) {
    throw new HostdError('HOSTD_ERR_CONFIG_NOT_FOUND', `cannot read ${displayPath(file, cwd)}: ${(error as Error).message}`, { cause: error });
  }
  let exports: ModuleExports;
  try {
    // Always transpiled (never Node's own import), so that a reload sees the file as it is now.
    exports = asExports(await jitiFor(file).evalModule(source, { filename: file, ext: extname(file), async: true, forceTranspile: true }));
  } catch (error) {
    throw loadError(error, file, cwd);
  }
  if (!('default' in exports) || exports.default === undefined) {
    throw new HostdError('HOSTD_ERR_CONFIG_LOAD', `${displayPath(file, cwd)} has no default export; write \`export default defineConfig({ ... })\``);
  }
  try {
    const value = exports.default;
    return await (typeof value === 'function' ? (value as (env: ConfigEnv) => unknown)(env) : value);
  } catch (error) {
    throw loadError(error, file, cwd);
  }
}
