// The baseline: a bare node:cluster (round-robin) with N workers serving bench/app.mjs.
// Prints "listening PORT" once every worker has bound.
import cluster from 'node:cluster';
import { createServer } from 'node:http';
import handler from '../app.mjs';
import { runPrimary } from './cluster-primary.mjs';

if (cluster.isPrimary) runPrimary(Number(process.argv[2] ?? 2));
else createServer(handler).listen(0, '127.0.0.1');
