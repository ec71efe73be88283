// node:cluster's round-robin with 2 workers serving the dispatch scenario's handler: the baseline.
import cluster from 'node:cluster';
import { createServer } from 'node:http';
import handler from './app.mjs';

if (cluster.isPrimary) {
  for (let i = 0; i < 2; i++) cluster.fork();
  let ready = 0;
  cluster.on('listening', (_worker, address) => {
    if (++ready === 2) console.log(`listening ${address.port}`);
  });
  process.on('SIGTERM', () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill();
    process.exit(0);
  });
} else {
  createServer(handler).listen(0, '127.0.0.1');
}
