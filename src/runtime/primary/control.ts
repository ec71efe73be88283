/**
 * The control socket: `hostd status`, `hostd reload`, `hostd stop` and `hostd scale` talk to
 * the primary over a unix socket only its owner can use (mode 0600, in an owner-only folder).
 * One request per connection, a line of JSON; one answer, a line of JSON. Requests become the
 * events the signals produce (HUP, TERM/INT, TTIN/TTOU), so a command does what a signal
 * does. Everything that arrives is untrusted: a malformed, oversized or missing request is
 * answered with an error and the connection closed; nothing here can stop the primary.
 */
import { lstatSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { controlFolder, controlSocketPath, prepareControlFolder, probeSocket } from '../control-path.ts';
import { judgePeer, peerCheckUnavailable } from './control-peer.ts';
import type { Integration, PrimaryView } from './integrations.ts';

/** The most a request may hold; a command is a few dozen bytes. */
export const MAX_REQUEST_BYTES = 64 * 1024;
/** A client that sends no whole request within this is answered and let go. */
const REQUEST_TIMEOUT_MS = 5000;

export type ControlRequest = { command: 'status' } | { command: 'reload' } | { command: 'stop'; fast?: boolean } | { command: 'scale'; n: number; relative: boolean };

export type ControlAnswer = { ok: true; [key: string]: unknown } | { ok: false; error: string };


function isRequest(value: unknown): value is ControlRequest {
  if (value === null || typeof value !== 'object') return false;
  const r = value as Record<string, unknown>;
  if (r.command === 'status' || r.command === 'reload') return true;
  if (r.command === 'stop') return r.fast === undefined || typeof r.fast === 'boolean';
  if (r.command === 'scale') return Number.isSafeInteger(r.n) && typeof r.relative === 'boolean';
  return false;
}

export function control(): Integration {
  let primary!: PrimaryView;
  let server: Server | null = null;
  let path: string | null = null;

  const handle = (request: ControlRequest, reply: (answer: ControlAnswer) => void): void => {
    switch (request.command) {
      case 'status':
        return reply({ ok: true, ...primary.status(), control_socket: path });
      case 'reload':
        return void primary.request({ t: 'reload' }).then(reply);
      case 'stop':
        reply({ ok: true, pid: process.pid });
        return primary.signal(request.fast ? 'SIGINT' : 'SIGTERM');
      case 'scale':
        return void primary.request({ t: 'scale', n: request.n, relative: request.relative }).then(reply);
    }
  };

  const serve = (socket: Socket): void => {
    let text = '';
    let answered = false;
    const reply = (answer: ControlAnswer) => {
      if (answered) return;
      answered = true;
      socket.end(`${JSON.stringify(answer)}\n`);
    };
    socket.setEncoding('utf8');
    socket.on('error', () => {});
    // The workers run as the same user, so the socket's mode does not keep them out: their ancestry does.
    const verdict = primary.config.settings.allow_app_control ? null : judgePeer(socket);
    if (verdict !== null) {
      primary.log.warn(`control socket: ${verdict}`);
      return reply({ ok: false, error: verdict });
    }
    socket.setTimeout(REQUEST_TIMEOUT_MS, () => reply({ ok: false, error: `no request within ${REQUEST_TIMEOUT_MS / 1000} s` }));
    socket.on('data', (chunk: string) => {
      if (answered) return;
      text += chunk;
      if (text.length > MAX_REQUEST_BYTES) return reply({ ok: false, error: `a request is at most ${MAX_REQUEST_BYTES} bytes` });
      const end = text.indexOf('\n');
      if (end < 0) return;
      socket.setTimeout(0);
      let request: unknown;
      try {
        request = JSON.parse(text.slice(0, end));
      } catch {
        return reply({ ok: false, error: 'a request is one line of JSON' });
      }
      if (!isRequest(request)) return reply({ ok: false, error: 'unknown request: expected {"command": "status" | "reload" | "stop" | "scale", ...}' });
      try {
        handle(request, reply);
      } catch (error) {
        reply({ ok: false, error: (error as Error).message });
      }
    });
  };

  const start = async (): Promise<void> => {
    const { settings, file } = primary.config;
    path = controlSocketPath(settings.control_socket, file, process.cwd());
    if (path === null) return;
    if (settings.control_socket === 'auto') {
      const problem = prepareControlFolder(controlFolder());
      if (problem !== null) {
        primary.log.warn(`control socket: not listening (${problem}); hostd status and the other commands cannot reach this primary`);
        path = null;
        return;
      }
    }
    const stats = lstatSync(path, { throwIfNoEntry: false });
    if (stats !== undefined) {
      // Only a socket nobody will answer again is replaced: a live primary whose queue is full now keeps its own.
      const found = stats.isSocket() ? await probeSocket(path) : null;
      if (found?.state !== 'stale') {
        const why = found === null ? 'something else is there' : found.state === 'answers' ? 'another hostd answers there' : `a process holds it, though ${found.why}`;
        primary.log.warn(`control socket: not listening on ${path}: ${why}`);
        path = null;
        return;
      }
      unlinkSync(path);
    }
    const listening = createServer(serve);
    listening.on('error', (error) => primary.log.warn(`control socket: ${error.message}`));
    // Created owner-only: under this umask the socket never exists with wider permissions.
    const previous = process.umask(0o177);
    try {
      listening.listen(path);
    } finally {
      process.umask(previous);
    }
    listening.unref();
    server = listening;
    const unguarded = settings.allow_app_control ? null : peerCheckUnavailable();
    if (unguarded !== null) primary.log.warn(`control socket: ${unguarded}`);
    primary.log.debug(`control socket at ${path} (in ${dirname(path)})`);
  };

  return {
    on(event, view) {
      primary = view;
      if (event === 'listening') {
        start().catch((error: Error) => primary.log.warn(`control socket: ${error.message}`));
      } else if (event === 'exited') {
        server?.close();
        if (path !== null) {
          try {
            unlinkSync(path);
          } catch {}
        }
      }
    },
  };
}
