/**
 * `dispatch`: which worker the primary hands a connection to. Kept-alive connections make the
 * load visible: each stays open on the worker that took it, and its first answer says which
 * (`/pid`). Under `least_busy` a new connection goes to the worker holding the fewest; under
 * `round_robin` the workers take them in turn whatever they hold.
 */
import { connect, type Socket } from 'node:net';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { appProject, recordingConfig } from '../helpers/apps.ts';
import { type Hostd, startHostd, waitUntil } from '../helpers/run.ts';

interface Held {
  readonly socket: Socket;
  readonly pid: number;
}

/** Opens a connection, asks `/pid` over it and keeps it open. */
function hold(port: number, sockets: Socket[]): Promise<Held> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write('GET /pid HTTP/1.1\r\nHost: x\r\n\r\n'));
    sockets.push(socket);
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      text += chunk;
      const body = /\r\n\r\n(\d+)$/.exec(text);
      if (body) resolve({ socket, pid: Number(body[1]) });
    });
    socket.on('error', reject);
  });
}

/** The primary's status over its control socket (what `hostd status --json` prints). */
function status(path: string): Promise<{ workers: { pid: number; connections: number; pending: number }[] }> {
  return new Promise((resolve, reject) => {
    const socket = connect(path, () => socket.write('{"command":"status"}\n'));
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('end', () => resolve(JSON.parse(text)));
    socket.on('error', reject);
  });
}

const count = (held: readonly Held[], pid: number) => held.filter((h) => h.pid === pid).length;

describe('dispatch', () => {
  let run: Hostd | undefined;
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.destroy();
    await run?.stop();
    run = undefined;
  });

  /**
   * Four connections held (two per worker), then the client closes the two on one worker:
   * which workers take the next two?
   */
  async function afterOneWorkerFreed(dispatch: string): Promise<{ freed: number; next: Held[] }> {
    const dir = appProject(recordingConfig(`workers: 2, keepalive: 120, headers_timeout: 125, dispatch: '${dispatch}', control_socket: './control.sock',`));
    run = startHostd(dir);
    const port = Number(new URL(await run.ready()).port);
    const control = join(dir, 'control.sock');
    await waitUntil(() => existsSync(control), 'the control socket');
    await waitUntil(async () => (await status(control)).workers.length === 2, 'two workers in the status');

    // Each connection once the primary knows every worker took the last one (its acknowledgement
    // travels apart from the answer the client already has): the choice then depends on counts alone.
    const taken = () => waitUntil(async () => (await status(control)).workers.every((w) => w.pending === 0), 'every connection taken');
    const first: Held[] = [];
    for (let i = 0; i < 4; i++) first.push(await taken().then(() => hold(port, sockets)));
    const pids = [...new Set(first.map((h) => h.pid))];
    expect(pids).toHaveLength(2);
    expect(pids.map((pid) => count(first, pid))).toEqual([2, 2]);

    const freed = pids[1]!;
    for (const h of first.filter((h) => h.pid === freed)) h.socket.destroy();
    // The primary learns of the closes (least_busy: from the worker at once; round_robin: with its next heartbeat).
    const held = async () => Object.fromEntries((await status(control)).workers.map((w) => [w.pid, w.connections]));
    const expected = Object.fromEntries(pids.map((pid) => [pid, pid === freed ? 0 : 2]));
    await waitUntil(async () => JSON.stringify(await held()) === JSON.stringify(expected), 'the status to show 2 and 0 connections', 10_000);

    const next = [await hold(port, sockets)];
    next.push(await taken().then(() => hold(port, sockets)));
    return { freed, next };
  }

  it('least_busy sends new connections to the worker holding the fewest', async () => {
    const { freed, next } = await afterOneWorkerFreed('least_busy');
    expect(count(next, freed)).toBe(2);
  });

  it('round_robin sends them in turn, whatever each worker holds', async () => {
    const { freed, next } = await afterOneWorkerFreed('round_robin');
    expect(count(next, freed)).toBe(1);
  });
});
