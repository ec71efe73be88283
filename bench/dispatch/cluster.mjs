// node:cluster's round-robin with 2 workers serving the dispatch scenario's handler: the baseline.
import cluster from 'node:cluster';
import { createServer } from 'node:http';
import { runPrimary } from '../targets/cluster-primary.mjs';
import handler from './app.mjs';

if (cluster.isPrimary) runPrimary(2);
else createServer(handler).listen(0, '127.0.0.1');
