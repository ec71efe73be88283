// node:cluster's primary as every baseline runs it: `workers` workers, "listening PORT" once
// all have bound, and a SIGTERM that ends the workers first and exits once they have (so
// "SIGTERM to exit" compares the same work as a host's stop).
import cluster from 'node:cluster';

export function runPrimary(workers) {
  for (let i = 0; i < workers; i++) cluster.fork();
  let ready = 0;
  cluster.on('listening', (_worker, address) => {
    if (++ready === workers) console.log(`listening ${address.port}`);
  });
  process.on('SIGTERM', () => {
    const alive = Object.values(cluster.workers ?? {});
    let left = alive.length;
    if (left === 0) process.exit(0);
    cluster.on('exit', () => --left === 0 && process.exit(0));
    for (const worker of alive) worker?.kill();
  });
}
