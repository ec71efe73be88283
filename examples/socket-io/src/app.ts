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

  // Draining (a stop, or a reload retiring this worker): close the connections so clients
  // reconnect on their own, to a worker that stays. Not io.disconnectSockets(): its
  // "io server disconnect" tells a client the server wants it gone, and it does not come back.
  // This also answers a pending long poll now instead of at the next ping.
  host.on('draining', () => {
    io.engine.close();
  });

  return (req: IncomingMessage, res: ServerResponse) => {
    res.setHeader('content-type', 'text/plain');
    res.end(`socket.io example: worker ${worker.id}\n`);
  };
};

export default create;
