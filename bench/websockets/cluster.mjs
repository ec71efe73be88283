// The same ws echo server under node:cluster with 2 workers: the baseline.
import cluster from 'node:cluster';
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';
import { runPrimary } from '../targets/cluster-primary.mjs';

if (cluster.isPrimary) {
  runPrimary(2);
} else {
  const server = createServer((req, res) => res.end('ok\n'));
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws) => ws.on('message', (data, binary) => ws.send(data, { binary })));
  server.listen(0, '127.0.0.1');
}
