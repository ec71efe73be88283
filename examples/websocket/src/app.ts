import type { IncomingMessage, ServerResponse } from 'node:http';
import { host, type AppFactory } from 'hostd';
import { WebSocketServer, type WebSocket } from 'ws';

/**
 * A WebSocket server on the worker's own http.Server: every text message is echoed back as
 * `echo: TEXT`; a message starting with `/all ` goes to every client of this worker as
 * `all: TEXT`. Plain HTTP still answers on the same port.
 */
const create: AppFactory = ({ server, worker }) => {
  const wss = new WebSocketServer({ server });

  wss.on('connection', (socket: WebSocket) => {
    socket.send(`hello from worker ${worker.id}, generation ${worker.generation}`);
    socket.on('message', (data) => {
      const text = String(data);
      if (text.startsWith('/all ')) {
        for (const client of wss.clients) client.send(`all: ${text.slice(5)}`);
      } else {
        socket.send(`echo: ${text}`);
      }
    });
  });

  // A stop or a reload: this worker takes no new connections. Say goodbye with 1001 ("going
  // away"), and clients reconnect at once, to a worker of the new generation on a reload.
  host.on('draining', ({ reason }) => {
    for (const client of wss.clients) client.close(1001, `going away (${reason})`);
  });

  return (req: IncomingMessage, res: ServerResponse) => {
    res.setHeader('content-type', 'text/plain');
    res.end(`WebSocket example: connect to ws://${req.headers.host ?? '127.0.0.1:8000'}/ (worker ${worker.id})\n`);
  };
};

export default create;
