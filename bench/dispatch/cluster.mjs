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
  // Stops as a host does: the workers end first, and the primary exits once they have.
  process.on('SIGTERM', () => {
    const workers = Object.values(cluster.workers ?? {});
    let left = workers.length;
    if (left === 0) process.exit(0);
    cluster.on('exit', () => --left === 0 && process.exit(0));
    for (const worker of workers) worker?.kill();
  });
} else {
  createServer(handler).listen(0, '127.0.0.1');
}
