import type { IncomingMessage, ServerResponse } from 'node:http';

export default function orders(_req: IncomingMessage, res: ServerResponse): void {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ orders: [] }));
}
