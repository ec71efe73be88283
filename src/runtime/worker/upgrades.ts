/**
 * Upgraded connections (WebSockets) in the access log. An upgrade is not a request the
 * pipeline sees: Node hands it to the app's own `'upgrade'` listener (ws, socket.io), so
 * neither the request hooks nor `host.on('request')` run for it. What the app answers is
 * written straight to the socket; its first write carries the status line, 101 when the
 * upgrade is accepted (or the 4xx of a refused handshake), and that is the access-log line.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AccessRecord } from '../access-log.ts';

const STATUS_LINE = /^HTTP\/1\.[01] (\d{3})/;

/**
 * Logs each upgrade the app answers. Only when the app listens for upgrades itself: with a
 * listener of hostd's alone, Node would stop treating an upgrade request as a request, and
 * an app without one would never see it.
 */
export function logUpgrades(http: Server, accessLog: (record: AccessRecord) => void): void {
  if (http.listenerCount('upgrade') === 0) return;
  http.prependListener('upgrade', (req: IncomingMessage, socket: Duplex) => {
    const startedAt = Date.now();
    const started = performance.now();
    const write = socket.write;
    // The first write only: then the socket's own method again.
    socket.write = function (this: Duplex, chunk: unknown, ...rest: unknown[]): boolean {
      delete (socket as { write?: unknown }).write;
      const head = typeof chunk === 'string' ? chunk.slice(0, 16) : Buffer.isBuffer(chunk) ? chunk.toString('latin1', 0, 16) : '';
      const status = STATUS_LINE.exec(head);
      if (status !== null) {
        // The access-log format reads a status and response headers: a handshake's are on the wire, not in an object.
        const res = { statusCode: Number(status[1]), getHeader: () => undefined } as unknown as ServerResponse;
        accessLog({ req, res, startedAt, durationMs: performance.now() - started, bytes: undefined });
      }
      return (write as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
    } as Duplex['write'];
  });
}
