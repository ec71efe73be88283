import type { IncomingMessage, ServerResponse } from 'node:http';

/** A plain Node request listener: hostd needs nothing more. */
export default function app(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://localhost');
  switch (url.pathname) {
    case '/':
      res.setHeader('content-type', 'text/plain; charset=utf-8');
      res.end(`${process.env.GREETING ?? 'hello'} from worker pid ${process.pid}\n`);
      return;
    case '/slow': {
      // A request that takes a while: watch it finish during a graceful stop or reload.
      const ms = Number(url.searchParams.get('ms') ?? 1000);
      setTimeout(() => res.end(`done after ${ms} ms\n`), ms);
      return;
    }
    case '/echo':
      res.setHeader('content-type', req.headers['content-type'] ?? 'application/octet-stream');
      req.pipe(res);
      return;
    default:
      res.statusCode = 404;
      res.end('not found\n');
  }
}
