/**
 * The app's own prom-client metrics, for a scrape of the primary's `metrics_bind`. hostd
 * uses the app's copy of prom-client, resolved from the app module's folder, and only if the
 * app already loaded it: an app that does not use prom-client costs nothing and installs
 * nothing more.
 */
import { createRequire } from 'node:module';
import { locateModule, splitAppSpec } from '../../config/app-spec.ts';

interface PromClient {
  readonly register?: { getMetricsAsJSON?: () => unknown };
}

/** The app's prom-client (null when the app did not load one), found once. */
let found: PromClient | null | undefined;

function promClient(app: string, root: string): PromClient | null {
  const file = locateModule(splitAppSpec(app).module, root);
  if (file === null) return null;
  const require = createRequire(file);
  let path: string;
  try {
    path = require.resolve('prom-client');
  } catch {
    return null;
  }
  // Loaded by the app (an ESM import of it lands here too): never load it ourselves.
  return require.cache[path] === undefined ? null : (require(path) as PromClient);
}

/** `register.getMetricsAsJSON()` of the app's prom-client, or null. */
export async function appMetrics(app: string | null, root: string | null): Promise<unknown[] | null> {
  if (app === null || root === null) return null;
  // Not remembered while absent: the app may load it later (lazily, on its first request).
  if (!found) found = promClient(app, root);
  const get = found?.register?.getMetricsAsJSON;
  if (typeof get !== 'function') return null;
  try {
    const metrics = await get.call(found!.register);
    return Array.isArray(metrics) ? metrics : null;
  } catch {
    return null;
  }
}
