/**
 * The control socket: `hostd status`, `hostd reload`, `hostd stop` and `hostd scale` talk to
 * the primary over a unix socket only its owner can use (mode 0600, in an owner-only folder).
 * One request per connection, a line of JSON; one answer, a line of JSON, which says how long
 * a wait the command has after it (a stop's plan). A reload, or a scale that waits for the
 * start or a reload to end, that asks for progress gets lines before its answer, each saying
 * how long its outcome may still take and why (the start and reload plans, from the settings
 * of the generation known at that moment). Requests become
 * the events the signals produce (HUP, TERM/INT, TTIN/TTOU), so a command does what a signal
 * does. Everything that arrives is untrusted: a malformed, oversized or missing request is
 * answered with an error and the connection closed; nothing here can stop the primary.
 *
 * The commands find this primary from its config file's location alone (they do not evaluate
 * the file, which may no longer parse): the default socket is named from it, and a record
 * beside it says where the socket is when the config names another (control-path.ts).
 */
import { lstatSync, renameSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { explainReloadPlan, type NextGeneration, type PreviousGeneration, type ReloadPlan, reloadPlan, startPlan } from '../../config/reload-plan.ts';
import { configShape, explainPlan, type StopMode, stopPlan } from '../../config/stop-plan.ts';
import type { ResolvedConfig } from '../../config/types.ts';
import { controlFolder, controlRecordPath, MAX_SOCKET_PATH_BYTES, controlSocketPath, prepareControlFolder, probeSocket, processState, readControlRecord, removeControlRecord, writeControlRecord } from '../control-path.ts';
import { judgePeer, peerCheckUnavailable } from './control-peer.ts';
import { BACKOFF_MAX_MS } from './core/slots.ts';
import { upgradeLimitSeconds } from './upgrade.ts';
import type { Integration, PrimaryView } from './integrations.ts';

/** The most a request may hold; a command is a few dozen bytes. */
export const MAX_REQUEST_BYTES = 64 * 1024;
/** A client that sends no whole request within this is answered and let go. */
const REQUEST_TIMEOUT_MS = 5000;

/**
 * `progress`: the outcome of a reload, or of a scale that waits for a start or a reload, is
 * preceded by ControlProgress lines (a CLI of an older hostd sends none). `expires`: when
 * the command stops waiting for an answer (ms since the epoch); a request read later is
 * refused, not carried out behind the back of a command that said it got no answer (a
 * primary resumed after SIGSTOP reads what queued meanwhile).
 */
export type ControlRequest = ({ command: 'status' } | { command: 'reload' } | { command: 'upgrade' } | { command: 'stop'; fast?: boolean } | { command: 'scale'; n: number; relative: boolean }) & { expires?: number; progress?: boolean };

export type ControlAnswer = { ok: true; [key: string]: unknown } | { ok: false; error: string };

/** A line before the answer: the longest the answer may still take from now (null: no bound), and how that was derived. */
export interface ControlProgress {
  readonly deadline_seconds: number | null;
  readonly waiting_for: string;
}

/**
 * A reload or a scale whose command asked for progress and waits for its outcome: `behind`
 * is what the core finishes first (the start, or a reload under way; a scale is answered at
 * once otherwise).
 */
interface Waiter {
  readonly kind: 'reload' | 'scale';
  behind: 'start' | 'reload' | null;
  tell(progress: ControlProgress): void;
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
  if (r.progress !== undefined && typeof r.progress !== 'boolean') return false;
  if (r.command === 'status' || r.command === 'reload' || r.command === 'upgrade') return true;
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
  /** Until `ready`, a reload or a scale waits for the start to end. */
  let starting = true;
  /** The config serving when the reload under way began, or null when none is; `switched`: its new generation has started. */
  let reloadingFrom: ResolvedConfig | null = null;
  let switched = false;
  /** Reloads and scales told how long their outcome may take, until answered. */
  const awaiting = new Set<Waiter>();

  /** How long a waiter's outcome may still take from now, and why: what it waits behind, then its own reload. */
  const progressOf = (waiter: Waiter): ControlProgress => {
    const { config } = primary;
    const next = nextGeneration(config, primary.workers());
    const running = reloadPlan(next, previousGeneration(reloadingFrom ?? config), switched ? 'switch' : 'start');
    const terms: { readonly what: string; readonly plan: ReloadPlan }[] = [];
    if (waiter.behind === 'start') {
      const plan = startPlan({ settings: config.settings, workers: primary.workers(), hooks: { pre_fork: config.hooks.pre_fork.length, when_ready: config.hooks.when_ready.length } }, BACKOFF_MAX_MS / 1000);
      terms.push({ what: 'the start under way', plan });
    }
    if (waiter.behind === 'reload') terms.push({ what: 'the reload under way', plan: running });
    if (waiter.kind === 'reload') {
      if (waiter.behind !== null) terms.push({ what: 'then this reload', plan: reloadPlan(next, previousGeneration(config)) });
      else terms.push({ what: switched ? 'the rest of the reload once its new generation starts' : 'a reload', plan: running });
    }
    const total = terms.reduce<number | null>((sum, { plan }) => (sum === null || plan.total === null ? null : sum + plan.total), 0);
    const waiting_for = terms.map(({ what, plan }) => `${what}: ${explainReloadPlan(plan)}`).join('; ');
    return { deadline_seconds: total, waiting_for: waiter.kind === 'scale' ? `${waiting_for}; then the scale` : waiting_for };
  };

  const handle = (request: ControlRequest, reply: (answer: ControlAnswer) => void): void => {
    switch (request.command) {
      case 'status':
        return reply({ ok: true, ...primary.status(), control_socket: path });
      case 'reload':
        return void primary.request({ t: 'reload' }).then(reply);
      case 'upgrade':
        return void primary.request({ t: 'upgrade' }).then(reply);
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
    let waiter: Waiter | null = null;
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
      if (request.progress === true && request.command === 'upgrade') {
        const limit = upgradeLimitSeconds(primary.config, primary.workers());
        socket.write(`${JSON.stringify({ deadline_seconds: limit, waiting_for: 'a new primary to start and serve (loading the config, on_starting, its workers booting with their retries, when_ready)' } satisfies ControlProgress)}\n`);
      }
      if (request.progress === true && (request.command === 'reload' || request.command === 'scale')) {
        const behind = starting ? 'start' : reloadingFrom !== null ? 'reload' : null;
        // A scale with nothing to wait for is answered at once: no progress to tell.
        if (request.command === 'reload' || behind !== null) {
          waiter = { kind: request.command, behind, tell: (progress) => answered || void socket.write(`${JSON.stringify(progress)}\n`) };
          awaiting.add(waiter);
          waiter.tell(progressOf(waiter));
        }
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
    // Without a config file, the name is the folder's as hostd was given it (root), not the real path a release symlink leads to.
    const { file, root } = primary.config;
    const at = controlRecordPath(file, root);
    const otherwise = socket === null ? '' : `; the commands reach this primary with HOSTD_CONTROL_SOCKET=${socket}`;
    const problem = prepareControlFolder(controlFolder());
    if (problem !== null) return primary.log.warn(`control socket: no record of this primary for the commands (${problem})${otherwise}`);
    const existing = readControlRecord(at, file);
    const predecessor = primary.upgradedFrom()?.pid;
    if (existing.found === 'record' && existing.record.pid !== process.pid && existing.record.pid !== predecessor && (processState(existing.record.pid) === 'running' || processState(existing.record.pid) === 'stopped')) {
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
    const { settings, file, root } = primary.config;
    path = controlSocketPath(settings.control_socket, file, root);
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
    if (primary.upgradedFrom() !== null && stats?.isSocket()) {
      // The primary this one replaces answers there until this one serves: listen aside, and take the path then.
      return listenAside(path, settings.allow_app_control);
    }
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
    const at = path;
    listenOn(at, settings.allow_app_control, () => leaveRecord(at));
  };

  /** Listens on `at` (owner-only), then calls `listening`. */
  const listenOn = (at: string, allowAppControl: boolean, listening: () => void): void => {
    const created = createServer(serve);
    created.on('error', (error) => primary.log.warn(`control socket: ${error.message}`));
    // Created owner-only: under this umask the socket never exists with wider permissions.
    const previous = process.umask(0o177);
    try {
      created.listen(at, listening);
    } finally {
      process.umask(previous);
    }
    created.unref();
    server = created;
    const unguarded = allowAppControl ? null : peerCheckUnavailable();
    if (unguarded !== null) primary.log.warn(`control socket: ${unguarded}`);
    primary.log.debug(`control socket at ${at} (in ${dirname(at)})`);
  };

  /** Where a new primary of an upgrade listens until it serves; renamed onto the socket's path then. */
  let aside: string | null = null;
  const listenAside = (at: string, allowAppControl: boolean): void => {
    // In the same folder (a rename cannot cross file systems), and short enough for a unix socket's path.
    aside = Buffer.byteLength(`${at}.${process.pid}`) <= MAX_SOCKET_PATH_BYTES ? `${at}.${process.pid}` : join(dirname(at), `.${process.pid}`);
    listenOn(aside, allowAppControl, () => {});
  };
  /** The new primary serves: commands reach it from now on (the old primary's socket goes with the path's old file). */
  const takePath = (): void => {
    if (aside === null || path === null) return;
    try {
      renameSync(aside, path);
      leaveRecord(path);
    } catch (error) {
      primary.log.warn(`control socket: cannot take ${path} from the primary this one replaced (${(error as Error).message}); the commands reach this one with HOSTD_CONTROL_SOCKET=${aside}`);
    }
    aside = null;
  };

  return {
    on(event, view) {
      primary = view;
      if (event === 'listening') {
        start().catch((error: Error) => primary.log.warn(`control socket: ${error.message}`));
      } else if (event === 'ready') {
        takePath();
        starting = false;
        // What waited for the start goes on now: a scale is answered, a reload begins.
        for (const waiter of awaiting) {
          if (waiter.behind !== 'start') continue;
          waiter.behind = null;
          if (waiter.kind === 'reload') waiter.tell(progressOf(waiter));
        }
      } else if (event === 'reloading') {
        reloadingFrom = primary.config;
        switched = false;
        // The reloads that waited behind another begin now: their own plan, from now.
        for (const waiter of awaiting) {
          if (waiter.kind !== 'reload' || waiter.behind !== 'reload') continue;
          waiter.behind = null;
          waiter.tell(progressOf(waiter));
        }
      } else if (event === 'reloaded' || event === 'reload_failed') {
        reloadingFrom = null;
        switched = false;
        for (const waiter of awaiting) if (waiter.kind === 'scale' && waiter.behind === 'reload') waiter.behind = null;
      } else if (event === 'exited') {
        // Handed over: the path is the new primary's socket now (closing ours would remove its file).
        if (primary.upgradedTo() !== null) return;
        server?.close();
        // A new primary that never served listened aside: the path is still the old one's.
        if (path !== null && aside === null) {
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
      switched = true;
      for (const waiter of awaiting) waiter.tell(progressOf(waiter));
    },
  };
}
