/**
 * The connections a worker holds, how it lets go of them when it stops, and how it lets go
 * of one whose client stopped reading (`send_timeout`).
 *
 * Draining without dropping a request: Node's `server.close()` answers a request in
 * flight with `Connection: keep-alive` and leaves the socket idling until
 * `keepAliveTimeout`, and closing an idle keep-alive socket at once races a client that
 * is about to reuse it. So a draining worker (1) answers every request with
 * `Connection: close` (the client will not reuse that socket), and (2) closes a socket
 * that is idle only once it has stayed idle for DRAIN_IDLE_MS: a client that keeps using
 * the connection sends its next request within that time and gets (1).
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

/** How long a socket must stay idle, while draining, before it is closed. */
export const DRAIN_IDLE_MS = 250;

/** What libuv says of a stream (TCP or pipe): `bytesWritten` counts what was handed to it, `writeQueueSize` what it still holds. */
interface StreamHandle {
  readonly bytesWritten: number;
  readonly writeQueueSize: number;
  /** A TCP handle's; a pipe has none. */
  readonly reset?: unknown;
}

interface HttpSocket extends Socket {
  /** Node's response in progress on this socket, if any (http-terminator and others rely on it too). */
  _httpMessage?: { headersSent: boolean; shouldKeepAlive: boolean } | null;
  /** Under a TLS socket, the TCP (or pipe) socket it runs on; null on a plain one. */
  _parent?: Socket | null;
  _handle?: StreamHandle | null;
}

/** A connection seen waiting on its client: what the kernel had taken of it then, and since when. */
interface Stall {
  sent: number;
  since: number;
}

export class Connections {
  /** Sockets handed over by the primary; the worker is done when all are closed. */
  private readonly raw = new Set<Socket>();
  /** The sockets HTTP runs on (the TLS socket over a raw one for HTTPS). */
  private readonly http = new Set<HttpSocket>();
  private waiters: (() => void)[] = [];
  /** Connections whose response waited on the client at the last sweep (weak: a closed one needs no cleanup). */
  private readonly stalls = new WeakMap<Socket, Stall>();

  /** @param onClose called as each socket from the primary closes (`dispatch: least_busy` counts them). */
  constructor(private readonly onClose: (() => void) | null = null) {}

  /** Tracks a socket from the primary. */
  add(socket: Socket): void {
    this.raw.add(socket);
    socket.once('close', () => {
      this.raw.delete(socket);
      this.onClose?.();
      if (this.raw.size === 0) for (const wake of this.waiters.splice(0)) wake();
    });
  }

  /** Tracks the socket HTTP parses on (call from the server's connection event). */
  addHttp(socket: Socket): void {
    this.http.add(socket);
    socket.once('close', () => this.http.delete(socket));
  }

  get size(): number {
    return this.raw.size;
  }

  /** Requests being answered now: connections with a response under way (read at a heartbeat, so requests pay nothing for it). */
  inFlight(): number {
    let n = 0;
    for (const socket of this.http) if (socket._httpMessage) n++;
    return n;
  }

  private allClosed(): Promise<void> {
    return this.raw.size === 0 ? Promise.resolve() : new Promise((resolve) => this.waiters.push(resolve));
  }

  /**
   * Lets every connection finish (see the file comment); after `deadlineMs` the rest are
   * destroyed. Resolves with how many had to be destroyed.
   */
  async drain(server: Server, deadlineMs: number): Promise<number> {
    server.keepAliveTimeout = DRAIN_IDLE_MS;
    // Node destroys a socket whose idle timer fires unless the server listens for 'timeout'.
    // Its timers run before it reads sockets in each turn of the event loop, so after a long
    // turn (a busy app, a loaded machine) the timer can fire while a request already waits
    // unread in the kernel: closing then fails a request the client had sent. Look again
    // after this turn's reads, and close only a socket that still received nothing.
    server.on('timeout', (socket: Socket) => {
      const read = socket.bytesRead;
      setImmediate(() => {
        if (socket.destroyed) return;
        if ((socket as HttpSocket)._httpMessage || socket.bytesRead !== read) socket.setTimeout(DRAIN_IDLE_MS);
        else socket.destroy();
      });
    });
    for (const socket of this.http) {
      const response = socket._httpMessage;
      if (response) {
        if (!response.headersSent) response.shouldKeepAlive = false;
      } else {
        // Node's HTTP server destroys a socket whose timeout fires while no request is on it.
        socket.setTimeout(DRAIN_IDLE_MS);
      }
    }
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<'expired'>((resolve) => (timer = setTimeout(() => resolve('expired'), deadlineMs)));
    const outcome = await Promise.race([this.allClosed(), expired]);
    clearTimeout(timer);
    if (outcome !== 'expired') return 0;
    const forced = this.raw.size;
    this.destroyAll();
    return forced;
  }

  /**
   * `send_timeout`: closes each connection whose response has waited on its client, the kernel
   * taking no byte of it, for `timeoutMs` since the first sweep that saw it so; returns how
   * many. Called every quarter of the limit, so a connection goes between the limit and a
   * quarter past it, and a response that flows costs nothing but this sweep.
   */
  cutStalled(now: number, timeoutMs: number): number {
    let cut = 0;
    for (const socket of this.http) {
      // Data the app wrote that the socket could not hand to the kernel yet (including a write in flight).
      if (socket.writableLength === 0) {
        this.stalls.delete(socket);
        continue;
      }
      const raw = (socket._parent ?? socket) as HttpSocket;
      const handle = raw._handle;
      if (!handle) continue;
      // What the kernel took: it takes more only as the client reads (within one big write, too).
      const sent = handle.bytesWritten - handle.writeQueueSize;
      const stall = this.stalls.get(socket);
      if (stall === undefined) {
        this.stalls.set(socket, { sent, since: now });
      } else if (stall.sent !== sent) {
        stall.sent = sent;
        stall.since = now;
      } else if (now - stall.since >= timeoutMs) {
        this.stalls.delete(socket);
        // A reset frees the kernel's buffer now; a close would keep trying to deliver it for minutes.
        if (typeof handle.reset === 'function') raw.resetAndDestroy();
        socket.destroy();
        cut++;
      }
    }
    return cut;
  }

  destroyAll(): void {
    for (const socket of this.http) socket.destroy();
    for (const socket of this.raw) socket.destroy();
  }
}

/**
 * How long closes gather before they are reported: a message per closed connection cost about
 * 5% of connection-per-request throughput; the primary's count lags by at most this, which
 * only makes a worker look busier than it is for that long.
 */
export const CLOSE_REPORT_MS = 10;

/**
 * A counter of closed connections that reports at most once per `CLOSE_REPORT_MS`: under load
 * many closes share one message to the primary.
 */
export function batchedCloses(report: (closed: number) => void, delayMs = CLOSE_REPORT_MS): () => void {
  let closed = 0;
  const flush = () => {
    const n = closed;
    closed = 0;
    report(n);
  };
  return () => {
    if (closed++ === 0) setTimeout(flush, delayMs).unref();
  };
}
