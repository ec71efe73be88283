import type { IncomingMessage, ServerResponse } from 'node:http';
import { host, type AppFactory } from 'hostd';
import { Server } from 'socket.io';

/**
 * socket.io on the worker's http.Server. A client that emits `echo` gets its message back
 * with the worker that answered; socket.io serves its own paths (/socket.io/), and the rest
 * goes to the plain handler below.
 */
const create: AppFactory = ({ server, worker }) => {
  const io = new Server(server);

  io.on('connection', (socket) => {
    socket.emit('hello', { worker: worker.id });
    socket.on('echo', (message: unknown, reply?: (answer: unknown) => void) => reply?.({ worker: worker.id, message }));
  });

  // Draining: tell clients to go now, so they reconnect to a worker that stays.
  host.on('draining', () => {
    io.disconnectSockets(true);
  });

  return (req: IncomingMessage, res: ServerResponse) => {
    // socket.io answers its own requests on the same server; everything else is ours.
    if (req.url?.startsWith('/socket.io/')) return;
    res.setHeader('content-type', 'text/plain');
    res.end(`socket.io example: worker ${worker.id}\n`);
  };
};

export default create;
