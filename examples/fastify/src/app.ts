import Fastify from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * An app factory: hostd calls it once per worker and serves what it returns. Fastify
 * owns its (never listening) server; hostd hands it each request after `ready()`.
 */
export default async function createApp() {
  const app = Fastify();
  app.get('/', async () => ({ framework: 'fastify', pid: process.pid }));
  app.post('/echo', async (request) => ({ received: request.body }));
  await app.ready();
  return (req: IncomingMessage, res: ServerResponse) => {
    app.server.emit('request', req, res);
  };
}
