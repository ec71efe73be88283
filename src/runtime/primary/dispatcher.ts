/**
 * Hands each accepted connection to a worker, round-robin over the workers the supervisor
 * routes to. A connection that arrives while no worker can take it waits here, paused, as
 * it would in the kernel's backlog, up to `backlog` of them.
 */
import type { ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import type { ToWorker } from '../ipc.ts';
import type { ErrorLog } from '../log.ts';

const CONN: ToWorker = { t: 'conn' };

export class Dispatcher {
  private routes: readonly ChildProcess[] = [];
  private next = 0;
  private readonly waiting: Socket[] = [];
  /** The most connections that may wait for a worker (the current generation's `backlog`). */
  backlog = 2048;

  constructor(private readonly log: ErrorLog) {}

  /** A connection from a listener. */
  readonly dispatch = (socket: Socket): void => {
    const routes = this.routes;
    for (let tries = 0; tries < routes.length; tries++) {
      const child = routes[this.next++ % routes.length]!;
      if (child.connected) return this.send(child, socket);
    }
    if (this.waiting.length >= this.backlog) socket.destroy();
    else this.waiting.push(socket);
  };

  /** The workers that take connections from now on; connections waiting go to them. */
  setRoutes(children: readonly ChildProcess[]): void {
    this.routes = children;
    if (children.length > 0) for (const socket of this.waiting.splice(0)) this.dispatch(socket);
  }

  /** Sends every waiting connection to `child` (a worker that drains them), or closes them. */
  handOver(child: ChildProcess | null): void {
    for (const socket of this.waiting.splice(0)) {
      if (child?.connected) this.send(child, socket);
      else socket.destroy();
    }
  }

  private send(child: ChildProcess, socket: Socket): void {
    // Detached from the listener, so child_process does not track it for server.close().
    (socket as unknown as { server: unknown }).server = null;
    child.send(CONN, socket, (error) => {
      if (!error) return;
      this.log.warn(`a connection could not be handed to a worker (pid ${child.pid}): ${error.message}`);
      socket.destroy();
    });
  }
}
