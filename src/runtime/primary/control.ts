/**
 * The control socket: `hostd status`, `hostd reload`, `hostd stop` and `hostd scale` talk to
 * the primary over a unix socket only its owner can use (mode 0600, in an owner-only folder).
 * One request per connection, a line of JSON; one answer, a line of JSON, which says how long
 * a wait the command has after it (a stop's plan). A reload that asks for progress gets
 * lines before its answer, each saying how long its outcome may still take and why (the
 * reload plan, from the settings of the generation known at that moment). Requests become
 * the events the signals produce (HUP, TERM/INT, TTIN/TTOU), so a command does what a signal
 * does. Everything that arrives is untrusted: a malformed, oversized or missing request is
 * answered with an error and the connection closed; nothing here can stop the primary.
 *
 * The commands find this primary from its config file's location alone (they do not evaluate
 * the file, which may no longer parse): the default socket is named from it, and a record
 * beside it says where the socket is when the config names another (control-path.ts).
 */
import { lstatSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { explainReloadPlan, type NextGeneration, type PreviousGeneration, reloadPlan } from '../../config/reload-plan.ts';
import { configShape, explainPlan, type StopMode, stopPlan } from '../../config/stop-plan.ts';
import type { ResolvedConfig } from '../../config/types.ts';
import { controlFolder, controlRecordPath, controlSocketPath, prepareControlFolder, probeSocket, processState, readControlRecord, removeControlRecord, writeControlRecord } from '../control-path.ts';
import { judgePeer, peerCheckUnavailable } from './control-peer.ts';
import type { Integration, PrimaryView } from './integrations.ts';

/** The most a request may hold; a command is a few dozen bytes. */
export const MAX_REQUEST_BYTES = 64 * 1024;
/** A client that sends no whole request within this is answered and let go. */
const REQUEST_TIMEOUT_MS = 5000;

/**
 * `progress`: the reload's outcome is preceded by ControlProgress lines (a CLI of an older
 * hostd sends none). `expires`: when the command stops waiting for an answer (ms since the
 * epoch); a request read later is refused, not carried out behind the back of a command
 * that said it got no answer (a primary resumed after SIGSTOP reads what queued meanwhile).
 */
export type ControlRequest = ({ command: 'status' } | { command: 'reload'; progress?: boolean } | { command: 'stop'; fast?: boolean } | { command: 'scale'; n: number; relative: boolean }) & { expires?: number };

export type ControlAnswer = { ok: true; [key: string]: unknown } | { ok: false; error: string };

/** A line before the answer: the longest the answer may still take from now (null: no bound), and how that was derived. */
export interface ControlProgress {
  readonly deadline_seconds: number | null;
  readonly waiting_for: string;
}

/** The stop a stop request leads to: the one asked for, or, during a stop, what a second stop signal makes of it. */
function stopModeAfter(current: StopMode | null, fast: boolean): StopMode {
  if (current === null) return fast ? 'fast' : 'graceful';
  return current === 'graceful' ? 'escalated' : current;
}

/** A config as the reload plan sees the generation it starts. */
function nextGeneration(config: ResolvedConfig, workers: number): NextGeneration {
  return { settings: config.settings, workers, hooks: { on_reload: config.hooks.on_reload.length, pre_fork: config.hooks.pre_fork.length } };
}

/** A config as the reload plan sees the generation it replaces: how its workers stop. */
function previousGeneration(config: ResolvedConfig): PreviousGeneration {
  return { settings: config.settings, shape: configShape(config.hooks) };
}

function isRequest(value: unknown): value is ControlRequest {
  if (value === null || typeof value !== 'object') return false;
  const r = value as Record<string, unknown>;
  if (r.expires !== undefined && !Number.isSafeInteger(r.expires)) return false;
  if (r.command === 'status') return true;
  if (r.command === 'reload') return r.progress === undefined || typeof r.progress === 'boolean';
  if (r.command === 'stop') return r.fast === undefined || typeof r.fast === 'boolean';
  if (r.command === 'scale') return Number.isSafeInteger(r.n) && typeof r.relative === 'boolean';
  return false;
}

export function control(): Integration {
  let primary!: PrimaryView;
  let server: Server | null = null;
  let path: string | null = null;
  /** The record this primary left for the commands (removed at exit), and the config it names. */
  let record: { readonly path: string; readonly config: string | null } | null = null;
  /** The config serving when the reload under way began, or null when none is. */
  let reloadingFrom: ResolvedConfig | null = null;
  /** Reload requests that asked for progress, until answered; `queued`: sent while another reload was under way. */
  const awaiting = new Set<{ queued: boolean; tell: (progress: ControlProgress) => void }>();

  /** How long a reload may take from now: from its start, or from the switch to the new generation; `then` more behind it. */
  const reloadProgress = (from: 'start' | 'switch', queued: boolean): ControlProgress => {
    const next = nextGeneration(primary.config, primary.workers());
    const previous = previousGeneration(reloadingFrom ?? primary.config);
    const plan = reloadPlan(next, previous, from);
    const own = reloadPlan(next, previousGeneration(primary.config));
    const total = plan.total === null || own.total === null ? null : plan.total + (queued ? own.total : 0);
    const waiting_for = queued
      ? `the reload under way (${explainReloadPlan(plan)}), then this one (${explainReloadPlan(own)})`
      : from === 'switch'
        ? `the rest of the reload once its new generation starts: ${explainReloadPlan(plan)}`
        : `a reload: ${explainReloadPlan(plan)}`;
    return { deadline_seconds: total, waiting_for };
  };

  const handle = (request: ControlRequest, reply: (answer: ControlAnswer) => void): void => {
    switch (request.command) {
      case 'status':
        return reply({ ok: true, ...primary.status(), control_socket: path });
      case 'reload':
        return void primary.request({ t: 'reload' }).then(reply);
      case 'stop': {
        // The plan of the stop this request leads to, counted from now: the command waits this long for the exit.
        const { settings, hooks } = primary.config;
        const mode = stopModeAfter(primary.stopMode(), request.fast === true);
        const plan = stopPlan(settings, configShape(hooks), mode);
        reply({ ok: true, pid: process.pid, mode, deadline_seconds: plan.total, plan: explainPlan(plan) });
        return primary.signal(request.fast ? 'SIGINT' : 'SIGTERM');
      }
      case 'scale':
        return void primary.request({ t: 'scale', n: request.n, relative: request.relative }).then(reply);
    }
  };

  const serve = (socket: Socket): void => {
    let text = '';
    let answered = false;
    let waiter: { queued: boolean; tell: (progress: ControlProgress) => void } | null = null;
    const reply = (answer: ControlAnswer) => {
      if (answered) return;
      answered = true;
      if (waiter !== null) awaiting.delete(waiter);
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
      if (request.expires !== undefined && Date.now() > request.expires) {
        const late = `refused: this ${request.command} request was read ${((Date.now() - request.expires) / 1000).toFixed(1)} s after its command stopped waiting for the answer`;
        primary.log.warn(`control socket: ${late}`);
        return reply({ ok: false, error: late });
      }
      if (request.command === 'reload' && request.progress === true) {
        waiter = { queued: reloadingFrom !== null, tell: (progress) => answered || void socket.write(`${JSON.stringify(progress)}\n`) };
        awaiting.add(waiter);
        waiter.tell(reloadProgress('start', waiter.queued));
      }
      try {
        handle(request, reply);
      } catch (error) {
        reply({ ok: false, error: (error as Error).message });
      }
    });
  };

  /**
   * Leaves the record the commands find this primary by (its socket, or null when it has
   * none); a record a live primary started from the same config left stays, with a warning.
   */
  const leaveRecord = (socket: string | null): void => {
    const { file } = primary.config;
    const at = controlRecordPath(file, process.cwd());
    const otherwise = socket === null ? '' : `; the commands reach this primary with HOSTD_CONTROL_SOCKET=${socket}`;
    const problem = prepareControlFolder(controlFolder());
    if (problem !== null) return primary.log.warn(`control socket: no record of this primary for the commands (${problem})${otherwise}`);
    const existing = readControlRecord(at, file);
    if (existing.found === 'record' && existing.record.pid !== process.pid && (processState(existing.record.pid) === 'running' || processState(existing.record.pid) === 'stopped')) {
      return primary.log.warn(`control socket: ${at} records another primary started from this config (pid ${existing.record.pid}); the commands reach that one${otherwise}`);
    }
    try {
      writeControlRecord(at, { pid: process.pid, socket, config: file });
      record = { path: at, config: file };
    } catch (error) {
      primary.log.warn(`control socket: no record of this primary for the commands (${(error as Error).message})${otherwise}`);
    }
  };

  const start = async (): Promise<void> => {
    const { settings, file } = primary.config;
    path = controlSocketPath(settings.control_socket, file, process.cwd());
    // No socket: the record says so, for the commands to tell the user rather than "not running".
    if (path === null) return leaveRecord(null);
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
    const at = path;
    // Created owner-only: under this umask the socket never exists with wider permissions.
    const previous = process.umask(0o177);
    try {
      listening.listen(at, () => leaveRecord(at));
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
      } else if (event === 'reloading') {
        reloadingFrom = primary.config;
        // A reload that waited behind another begins now: its own plan, from now.
        for (const waiter of awaiting) {
          if (!waiter.queued) continue;
          waiter.queued = false;
          waiter.tell(reloadProgress('start', false));
        }
      } else if (event === 'reloaded' || event === 'reload_failed') {
        reloadingFrom = null;
      } else if (event === 'exited') {
        server?.close();
        if (path !== null) {
          try {
            unlinkSync(path);
          } catch {}
        }
        if (record !== null) removeControlRecord(record.path, record.config, process.pid);
      }
    },
    using(view) {
      primary = view;
      // The reload's new generation starts: what is left of it is now known from its own settings.
      if (reloadingFrom === null || view.config === reloadingFrom) return;
      for (const waiter of awaiting) waiter.tell(reloadProgress('switch', waiter.queued));
    },
  };
}
