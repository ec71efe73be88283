// The WebSocket scenario's app for hostd: a ws echo server on the worker's server. With
// CLOSE=1 it closes every socket with 1001 when its worker starts draining; without, it
// ignores the drain and hostd destroys what is open at graceful_timeout.
import { WebSocketServer } from 'ws';
import { host } from 'hostd';

export default function create({ server }) {
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws) => ws.on('message', (data, binary) => ws.send(data, { binary })));
  if (process.env.CLOSE === '1') host.on('draining', () => wss.clients.forEach((ws) => ws.close(1001, 'going away')));
  return (req, res) => res.end('ok\n');
}
