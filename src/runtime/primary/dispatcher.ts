/**
 * Hands each accepted connection to a worker the supervisor routes to: in turn, or the one
 * holding the fewest open connections (`dispatch: least_busy`), or with `sticky_sessions`
 * by client address to a worker slot. A connection that arrives while no worker can take it
 * waits here, paused, as it would in the kernel's backlog, up to `backlog` of them.
 *
 * A connection is the primary's until its worker has it. Node writes one handle at a time
 * over a worker's channel and queues the next until the worker acknowledges the last; a
 * worker that dies in between (SIGKILL, a crash, the OOM killer) would leave the written
 * one and the queued ones open and unanswered for good (Node closes neither once the
 * channel is gone). So the primary's copy of a handle is closed when the worker acknowledges
 * it, and whatever the worker never acknowledged goes to another worker: a worker's death
 * loses no connection it had not taken yet. Connections are bare libuv handles (listeners.ts),
 * as node:cluster sends them; the worker wraps each in its net.Socket.
 */
import type { ChildProcess } from 'node:child_process';
import type { ToWorker } from '../ipc.ts';
import { type Histogram, histogram, observe } from '../metrics/histogram.ts';
import { MAX_PROXY_HEADER_BYTES, parseProxyHeader } from '../proxy/proxy-protocol.ts';
import type { Trusts } from '../proxy/trusted.ts';
import type { ErrorLog } from '../log.ts';
import type { AcceptedHandle } from './listeners.ts';

const CONN: ToWorker = { t: 'conn' };
const PEEKING = Symbol('hostd.peeking');

/**
 * Upper bounds (seconds) of `hostd_connection_queue_seconds`: from 100 µs (a worker takes a
 * connection within a turn of its event loop when idle) to 10 s (every worker blocked).
 */
export const QUEUE_BUCKETS: readonly number[] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** When the primary accepted a connection (performance.now()), kept on its handle until a worker takes it. */
const ACCEPTED = Symbol('hostd.accepted');
/** The client address sticky sessions hash, once known (a PROXY header's, peeked). */
const CLIENT = Symbol('hostd.client');
type Timed = AcceptedHandle & { [ACCEPTED]?: number; [CLIENT]?: string | undefined };

/** Sticky sessions behind PROXY protocol: whose headers to read, within how long, and how (the native helper's MSG_PEEK). */
export interface ProxyClients {
  readonly trusts: Trusts;
  readonly limitMs: number;
  /** The bytes waiting on `fd` copied into `into` and left there: how many, 0 at end of stream, -1 when none are there yet. */
  readonly peekInto: (fd: number, into: Buffer) => number;
}

/** Where the primary looks at the headers it peeks: one Buffer, reused (the parse copies what it keeps). */
const peekWindow = Buffer.allocUnsafeSlow(MAX_PROXY_HEADER_BYTES);

/** Waits between looks at a connection whose PROXY header has not all arrived: 1 ms doubling to 50 ms. */
const PEEK_WAIT_MAX_MS = 50;
// A bare handle is never closed by child_process (only a net.Socket is detached and closed), keepOpen or not; said anyway.
const SEND_OPTIONS = { keepOpen: true };

/** Handles the primary closed: a closed one is never sent again. */
const closedHandles = new WeakSet<AcceptedHandle>();

/** Closes the primary's copy of a connection: its descriptor only, once (the worker's copy, if any, stays open). */
function close(handle: AcceptedHandle): void {
  if (closedHandles.has(handle)) return;
  closedHandles.add(handle);
  handle.close();
}

/** A TCP connection's client address; undefined for a unix socket's, or once it is gone. */
function peerAddress(handle: AcceptedHandle): string | undefined {
  const out: { address?: string } = {};
  return handle.getpeername?.(out) === 0 ? out.address : undefined;
}

/** What a worker's channel says of the handle it was sent last (Node's internal messages). */
function handleReply(message: unknown): 'ack' | 'nack' | null {
  const cmd = (message as { cmd?: unknown } | null)?.cmd;
  return cmd === 'NODE_HANDLE_ACK' ? 'ack' : cmd === 'NODE_HANDLE_NACK' ? 'nack' : null;
}

/** A worker taking connections, and its slot (its id). */
export interface Route {
  readonly child: ChildProcess;
  readonly slot: number;
}

/**
 * A client address as a number: FNV-1a over its text, so that every primary maps an
 * address alike. An IPv4 client of a dual-stack listener (`::ffff:1.2.3.4`) is its IPv4 address.
 */
export function addressHash(address: string): number {
  const text = address.startsWith('::ffff:') ? address.slice(7) : address;
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

export class Dispatcher {
  private routes: readonly ChildProcess[] = [];
  /** With sticky sessions: the routed worker of each slot, and how many slots there are. */
  private bySlot = new Map<number, ChildProcess>();
  private slotCount = 0;
  private next = 0;
  /** `sticky_sessions` of the current generation. */
  sticky = false;
  /** `dispatch: least_busy` of the current generation. */
  leastBusy = false;
  /** Per worker, the connections sent to it that it has not reported closed (counted under any `dispatch`; closes are reported under `least_busy` only). */
  private readonly open = new Map<ChildProcess, number>();
  private readonly waiting: AcceptedHandle[] = [];
  /** Per worker, the connections sent and not yet acknowledged, oldest first (the order Node writes them in). */
  private readonly unacknowledged = new Map<ChildProcess, AcceptedHandle[]>();
  /** Workers that exited: nothing more is sent to them, even before the supervisor stops routing to them. */
  private readonly gone = new WeakSet<ChildProcess>();
  /** The most connections that may wait for a worker (the current generation's `backlog`). */
  backlog = 2048;
  /** How long each connection waited, from the accept to a worker taking it. */
  readonly queued: Histogram = histogram(QUEUE_BUCKETS);
  /** With sticky sessions and proxy_protocol: the client each connection's PROXY header names is what is hashed. */
  proxyClients: ProxyClients | null = null;

  constructor(private readonly log: ErrorLog) {}

  /** Connections accepted and waiting for a worker. */
  get waitingCount(): number {
    return this.waiting.length;
  }

  /** A connection from a listener. */
  readonly dispatch = (connection: AcceptedHandle): void => {
    // The first dispatch is the accept; one placed again after a worker died keeps its time.
    (connection as Timed)[ACCEPTED] ??= performance.now();
    const routes = this.routes;
    const address = this.sticky && routes.length > 0 ? this.clientOf(connection) : undefined;
    // Its PROXY header is still on its way: it is dispatched once read.
    if (address === PEEKING) return;
    if (address !== undefined) {
      const hash = addressHash(address);
      // The address's own slot; while that slot's worker is replaced, one of the others, by the same address.
      const own = this.bySlot.get((hash % this.slotCount) + 1);
      const child = own !== undefined && this.usable(own) ? own : routes[hash % routes.length]!;
      if (this.usable(child)) return this.send(child, connection);
    }
    if (this.leastBusy) {
      const child = this.leastBusyOf(routes);
      if (child !== null) return this.send(child, connection);
      // Every worker is still taking its last connection (its event loop is busy): this one
      // waits here for the first that takes it, as node:cluster's round-robin does (a blind
      // rotation queued it behind a blocked worker: 0.55× the throughput, bench/dispatch).
      if (routes.some((r) => this.usable(r))) return this.wait(connection);
    }
    for (let tries = 0; tries < routes.length; tries++) {
      const child = routes[this.next++ % routes.length]!;
      if (this.usable(child)) return this.send(child, connection);
    }
    this.wait(connection);
  };

  /**
   * The address sticky sessions hash: the peer's, or behind PROXY protocol the client its
   * header names, peeked without taking it (the worker reads the header itself).
   */
  private clientOf(connection: Timed): string | undefined | typeof PEEKING {
    if (CLIENT in connection) return connection[CLIENT];
    const peer = peerAddress(connection);
    const proxy = this.proxyClients;
    if (proxy === null || connection.fd === undefined || !proxy.trusts(peer)) return (connection[CLIENT] = peer);
    this.peekClient(connection, peer, proxy, connection.fd);
    return PEEKING;
  }

  private peekClient(connection: Timed, peer: string | undefined, proxy: ProxyClients, fd: number): void {
    const started = performance.now();
    let wait = 0;
    const look = () => {
      if (closedHandles.has(connection)) return;
      let waiting: number;
      try {
        waiting = proxy.peekInto(fd, peekWindow);
      } catch {
        waiting = 0;
      }
      const parsed = waiting < 0 ? null : waiting === 0 ? { state: 'error' as const } : parseProxyHeader(peekWindow, waiting);
      if ((parsed === null || parsed.state === 'more') && performance.now() - started < proxy.limitMs) {
        wait = Math.min(PEEK_WAIT_MAX_MS, wait === 0 ? 1 : wait * 2);
        setTimeout(look, wait);
        return;
      }
      // No good header: the peer's address; the worker closes such a connection anyway.
      connection[CLIENT] = parsed?.state === 'done' && parsed.header.source !== null ? parsed.header.source.address : peer;
      this.dispatch(connection);
    };
    look();
  }

  private wait(connection: AcceptedHandle): void {
    if (this.waiting.length >= this.backlog) close(connection);
    else this.waiting.push(connection);
  }

  /**
   * `least_busy`: of the workers that have taken every connection sent to them (a worker
   * whose event loop is blocked takes none, so it gets none more), the one holding the fewest
   * open connections; among equals, in turn. Null when every worker still has one to take.
   */
  private leastBusyOf(routes: readonly ChildProcess[]): ChildProcess | null {
    const start = this.next++;
    let best: ChildProcess | null = null;
    let fewest = Infinity;
    for (let k = 0; k < routes.length; k++) {
      const child = routes[(start + k) % routes.length]!;
      const open = this.open.get(child) ?? 0;
      if (open < fewest && this.pendingCount(child) === 0 && this.usable(child)) {
        best = child;
        fewest = open;
      }
    }
    return best;
  }

  /** The workers that take connections from now on, of `slots` slots; connections waiting go to them. */
  setRoutes(routes: readonly Route[], slots: number): void {
    const children = routes.map((route) => route.child);
    this.routes = children;
    // The last routed worker of a slot wins: a replacement is routed after the worker it replaces.
    this.bySlot = new Map(routes.map((route) => [route.slot, route.child]));
    this.slotCount = Math.max(1, slots);
    if (children.length > 0) for (const connection of this.waiting.splice(0)) this.dispatch(connection);
  }

  /** Sends every waiting connection to `child` (a worker that drains them), or closes them. */
  handOver(child: ChildProcess | null): void {
    for (const connection of this.waiting.splice(0)) {
      if (child !== null && this.usable(child)) this.send(child, connection);
      else close(connection);
    }
  }

  /** A worker reports connections it closed (`dispatch: least_busy`). */
  closed(child: ChildProcess, n: number): void {
    const open = this.open.get(child);
    // More than it was sent is a worker's (or app code's) mistake: it counts as none open.
    if (open !== undefined) this.open.set(child, Math.max(0, open - n));
  }

  /** Connections sent to `child` that it has not taken yet (its event loop has not read them: busy, or just not yet). */
  pendingCount(child: ChildProcess): number {
    return this.unacknowledged.get(child)?.length ?? 0;
  }

  /** The connections `child` holds as the primary counts them: sent, less those it reported closed. */
  openCount(child: ChildProcess): number {
    return this.open.get(child) ?? 0;
  }

  /** Follows a new worker's channel: its acknowledgements, and its end. */
  track(child: ChildProcess): AcceptedHandle[] {
    const sent: AcceptedHandle[] = [];
    this.unacknowledged.set(child, sent);
    child.on('internalMessage', (message: unknown) => {
      const reply = handleReply(message);
      if (reply === null) return;
      const connection = sent.shift();
      if (connection === undefined) return;
      if (reply === 'ack') {
        observe(this.queued, (performance.now() - (connection as Timed)[ACCEPTED]!) / 1000);
        close(connection);
      }
      // The handle did not arrive whole (Node's NACK): the worker does not have it.
      else this.notTaken(child, connection);
      // least_busy: a worker that took its last connection is free for the next one waiting.
      if (this.leastBusy && sent.length === 0 && this.waiting.length > 0) this.dispatch(this.waiting.shift()!);
    });
    child.once('exit', () => this.gone.add(child));
    // 'close': exited and its channel read to the end, so every acknowledgement it sent has
    // been queued for emission; a turn later they have run, and what is left it never had.
    child.once('close', () =>
      setImmediate(() => {
        this.unacknowledged.delete(child);
        this.open.delete(child);
        for (const connection of sent.splice(0)) this.placeAgain(connection);
      }),
    );
    return sent;
  }

  private usable(child: ChildProcess): boolean {
    return child.connected && !this.gone.has(child);
  }

  private send(child: ChildProcess, connection: AcceptedHandle): void {
    const sent = this.unacknowledged.get(child) ?? this.track(child);
    sent.push(connection);
    this.open.set(child, (this.open.get(child) ?? 0) + 1);
    child.send(CONN, connection as Parameters<ChildProcess['send']>[1], SEND_OPTIONS, (error) => {
      if (!error) return;
      // Not written (the channel closed, or the write failed): the connection is still whole here.
      const at = sent.indexOf(connection);
      if (at >= 0) sent.splice(at, 1);
      this.log.debug(`a connection could not be handed to a worker (pid ${child.pid}): ${error.message}; it goes to another`);
      this.notTaken(child, connection);
    });
  }

  /** A connection `child` was sent but does not have: it no longer counts there, and goes elsewhere. */
  private notTaken(child: ChildProcess, connection: AcceptedHandle): void {
    this.closed(child, 1);
    this.placeAgain(connection);
  }

  /** A connection no worker took: to another worker, or waiting for one. */
  private placeAgain(connection: AcceptedHandle): void {
    if (!closedHandles.has(connection)) this.dispatch(connection);
  }
}
