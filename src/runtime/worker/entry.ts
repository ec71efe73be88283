/**
 * A worker process's entry (dist/worker.js): Node's compile cache first, then the worker
 * (main.ts), whose code is then compiled from the cache.
 */
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { enableCompileCache } from '../../compile-cache.ts';

enableCompileCache(dirname(fileURLToPath(import.meta.url)));
await import('./main.ts');
