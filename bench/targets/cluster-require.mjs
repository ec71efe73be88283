// bench/targets/cluster.mjs with node:http loaded by require() rather than imported: on Node 22
// and later an ES module import of node:http builds its facade, which loads undici (~25 ms of
// every process on Node 26); hostd's own code requires it, so this baseline shows what that is worth.
import cluster from 'node:cluster';
import { createRequire } from 'node:module';
import handler from '../app.mjs';
import { runPrimary } from './cluster-primary.mjs';

const { createServer } = createRequire(import.meta.url)('node:http');

if (cluster.isPrimary) runPrimary(Number(process.argv[2] ?? 2));
else createServer(handler).listen(0, '127.0.0.1');
