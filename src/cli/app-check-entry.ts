/**
 * The entry of `hostd check`'s app process (dist/app-check.js): Node's compile cache first,
 * then app-check-child.ts, whose code and the app's are then compiled from the cache.
 */
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { enableCompileCache } from '../compile-cache.ts';

enableCompileCache(dirname(fileURLToPath(import.meta.url)));
await import('./app-check-child.ts');
