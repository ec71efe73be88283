/**
 * Loads the app a worker serves: a Node request listener, an object with `fetch`, or a
 * factory (sync or async, given the worker's server and identity) of either. TypeScript apps go through the config
 * loader; JavaScript apps are imported by Node itself.
 */
import type { RequestListener } from 'node:http';
import { pathToFileURL } from 'node:url';
import { locateModule, splitAppSpec } from '../../config/app-spec.ts';
import { describeValue } from '../../config/issues.ts';
import { importModule, type ModuleExports } from '../../config/load.ts';
import { didYouMean } from '../../config/suggest.ts';
import { describeLoadError } from '../../config/user-error.ts';
import { HostdError } from '../../errors.ts';
import type { App, AppContext, FetchApp } from '../../hooks/contexts.ts';
import { displayPath, shortPath } from '../../paths.ts';
import { quote } from '../../text.ts';
import { userStack } from '../log.ts';

const EXPECTED = 'a request listener (req, res) => ..., an object with fetch(request), or a factory ({ server, worker }) => either';

export function isFetchApp(value: unknown): value is FetchApp {
  return value !== null && typeof value === 'object' && typeof (value as { fetch?: unknown }).fetch === 'function';
}

/** Imports the module `app` names and returns its export, unadapted. */
async function importApp(spec: string, root: string): Promise<{ value: unknown; what: string }> {
  const { module, exportName } = splitAppSpec(spec);
  const file = locateModule(module, root);
  if (file === null) throw new HostdError('HOSTD_ERR_APP_LOAD', `cannot find the app module ${quote(shortPath(module))}`);
  let exports: ModuleExports;
  try {
    exports = /\.[cm]?ts$/.test(file) ? await importModule(file, file, false) : ((await import(pathToFileURL(file).href)) as ModuleExports);
  } catch (error) {
    throw new HostdError('HOSTD_ERR_APP_LOAD', `cannot load the app: ${describeLoadError(error, file)}`, { cause: error });
  }
  const what = `${displayPath(file)}#${exportName}`;
  if (!(exportName in exports) || exports[exportName] === undefined) {
    const names = Object.keys(exports).filter((k) => k !== '__esModule');
    throw new HostdError('HOSTD_ERR_APP_INVALID', `${displayPath(file)} has no export ${JSON.stringify(exportName)}${didYouMean(exportName, names)}`);
  }
  return { value: exports[exportName], what };
}

/**
 * Turns an export into an app. A function taking two or more parameters is a listener
 * (Express's `app` takes three); one taking none or one is a factory, called once here
 * with `context`.
 */
export async function resolveApp(value: unknown, what: string, context: AppContext): Promise<App> {
  if (isFetchApp(value)) return value;
  if (typeof value !== 'function') throw new HostdError('HOSTD_ERR_APP_INVALID', `${what} is ${describeValue(value)}; expected ${EXPECTED}`);
  if (value.length >= 2) return value as RequestListener;
  let made: unknown;
  try {
    made = await (value as (context: AppContext) => unknown)(context);
  } catch (error) {
    throw new HostdError('HOSTD_ERR_APP_LOAD', `the app factory ${what} threw: ${userStack(error)}`, { cause: error });
  }
  if (isFetchApp(made) || typeof made === 'function') return made as App;
  throw new HostdError('HOSTD_ERR_APP_INVALID', `the app factory ${what} returned ${describeValue(made)}; expected ${EXPECTED}`);
}

export async function loadApp(spec: string, root: string, context: AppContext): Promise<App> {
  const { value, what } = await importApp(spec, root);
  return resolveApp(value, what, context);
}
