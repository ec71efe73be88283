import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { host } from 'hostd';
import { JobQueue, simulateWork } from './jobs.ts';

// State lives outside the project (JOBS_DIR, else the system's temp folder), so running the
// example leaves nothing behind in the repository.
const stateDir = process.env.JOBS_DIR ?? join(tmpdir(), 'hostd-background-jobs');
const queue = new JobQueue(stateDir, host.worker?.id ?? 0, simulateWork);

if (host.running) {
  // Runs after this worker's in-flight requests are drained, before worker_exit, with
  // hook_timeout as its deadline: stop taking jobs, finish the current one, flush the rest.
  host.on('shutdown', () => queue.stop());
} else {
  // Not under hostd (a script, a test): stop on our own.
  process.once('SIGTERM', () => void queue.stop().then(() => process.exit(0)));
}

/** POST /jobs?id=X queues a job; GET / reports the queue. */
export default function app(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (req.method === 'POST' && url.pathname === '/jobs') {
    const id = url.searchParams.get('id');
    if (!id) {
      res.writeHead(400).end('id is required\n');
      return;
    }
    const accepted = queue.add(id);
    res.writeHead(accepted ? 202 : 503).end(accepted ? 'queued\n' : 'stopping; try again\n');
    return;
  }
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ worker: host.worker?.id ?? null, waiting: queue.length }));
}
