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
 * channel is gone). So handles are sent with `keepOpen`, the primary's copy is closed when
 * the worker acknowledges it, and whatever the worker never acknowledged goes to another
 * worker: a worker's death loses no connection it had not taken yet.
 */
import type { ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import type { ToWorker } from '../ipc.ts';
import type { ErrorLog } from '../log.ts';

const CONN: ToWorker = { t: 'conn' };
const SEND_OPTIONS = { keepOpen: true };

/** A socket with the libuv handle child_process sends (the net.Socket's own field). */
type Handed = Socket & { _handle: { close(): void } | null; server: unknown };

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
  private readonly waiting: Socket[] = [];
  /** Per worker, the connections sent and not yet acknowledged, oldest first (the order Node writes them in). */
  private readonly unacknowledged = new Map<ChildProcess, Socket[]>();
  /** Workers that exited: nothing more is sent to them, even before the supervisor stops routing to them. */
  private readonly gone = new WeakSet<ChildProcess>();
  /** The most connections that may wait for a worker (the current generation's `backlog`). */
  backlog = 2048;

  constructor(private readonly log: ErrorLog) {}

  /** Connections accepted and waiting for a worker. */
  get waitingCount(): number {
    return this.waiting.length;
  }

  /** A connection from a listener. */
  readonly dispatch = (socket: Socket): void => {
    const routes = this.routes;
    if (this.sticky && routes.length > 0 && socket.remoteAddress !== undefined) {
      const hash = addressHash(socket.remoteAddress);
      // The address's own slot; while that slot's worker is replaced, one of the others, by the same address.
      const own = this.bySlot.get((hash % this.slotCount) + 1);
      const child = own !== undefined && this.usable(own) ? own : routes[hash % routes.length]!;
      if (this.usable(child)) return this.send(child, socket);
    }
    if (this.leastBusy) {
      const child = this.leastBusyOf(routes);
      if (child !== null) return this.send(child, socket);
      // Every worker is still taking its last connection (its event loop is busy): this one
      // waits here for the first that takes it, as node:cluster's round-robin does (a blind
      // rotation queued it behind a blocked worker: 0.55× the throughput, bench/dispatch).
      if (routes.some((r) => this.usable(r))) return this.wait(socket);
    }
    for (let tries = 0; tries < routes.length; tries++) {
      const child = routes[this.next++ % routes.length]!;
      if (this.usable(child)) return this.send(child, socket);
    }
    this.wait(socket);
  };

  private wait(socket: Socket): void {
    if (this.waiting.length >= this.backlog) socket.destroy();
    else this.waiting.push(socket);
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
    if (children.length > 0) for (const socket of this.waiting.splice(0)) this.dispatch(socket);
  }

  /** Sends every waiting connection to `child` (a worker that drains them), or closes them. */
  handOver(child: ChildProcess | null): void {
    for (const socket of this.waiting.splice(0)) {
      if (child !== null && this.usable(child)) this.send(child, socket);
      else socket.destroy();
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
  track(child: ChildProcess): Socket[] {
    const sent: Socket[] = [];
    this.unacknowledged.set(child, sent);
    child.on('internalMessage', (message: unknown) => {
      const reply = handleReply(message);
      if (reply === null) return;
      const socket = sent.shift();
      if (socket === undefined) return;
      if (reply === 'ack') release(socket);
      // The handle did not arrive whole (Node's NACK): the worker does not have it.
      else this.notTaken(child, socket);
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
        for (const socket of sent.splice(0)) this.placeAgain(socket);
      }),
    );
    return sent;
  }

  private usable(child: ChildProcess): boolean {
    return child.connected && !this.gone.has(child);
  }

  private send(child: ChildProcess, socket: Socket): void {
    // Detached from the listener, so child_process does not track it for server.close().
    (socket as Handed).server = null;
    const sent = this.unacknowledged.get(child) ?? this.track(child);
    sent.push(socket);
    this.open.set(child, (this.open.get(child) ?? 0) + 1);
    child.send(CONN, socket, SEND_OPTIONS, (error) => {
      if (!error) return;
      // Not written (the channel closed, or the write failed): the socket is still whole here.
      const at = sent.indexOf(socket);
      if (at >= 0) sent.splice(at, 1);
      this.log.debug(`a connection could not be handed to a worker (pid ${child.pid}): ${error.message}; it goes to another`);
      this.notTaken(child, socket);
    });
  }

  /** A connection `child` was sent but does not have: it no longer counts there, and goes elsewhere. */
  private notTaken(child: ChildProcess, socket: Socket): void {
    this.closed(child, 1);
    this.placeAgain(socket);
  }

  /** A connection no worker took: to another worker, or waiting for one. */
  private placeAgain(socket: Socket): void {
    if ((socket as Handed)._handle === null || socket.destroyed) return;
    this.dispatch(socket);
  }
}

/**
 * Closes the primary's copy of a connection the worker now holds, as Node does for a handle
 * sent without `keepOpen`: the descriptor only (no shutdown, which would end the worker's
 * connection too), and no events on an object nobody uses any more.
 */
function release(socket: Socket): void {
  const handed = socket as Handed;
  const handle = handed._handle;
  handed._handle = null;
  handle?.close();
}
