/**
 * The control socket: `hostd status`, `hostd reload`, `hostd stop` and `hostd scale` talk to
 * the primary over a unix socket only its owner can use (mode 0600, in an owner-only folder).
 * One request per connection, a line of JSON; one answer, a line of JSON, which says how long
 * a wait the command has after it (a stop's plan). A reload, an upgrade, or a scale queued
 * behind the start, a reload or an upgrade, that asks for progress gets lines before its
 * answer, each saying how long its outcome may still take and why: what it waits for is the
 * supervisor core's to say (`waitsFor`), and each wait is counted by its plan (the start and
 * reload plans, from the settings of the generation known at that moment; an upgrade's
 * limit, which the core set when it began). Requests become
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
import type { CoreRequest } from './events.ts';
import type { Integration, PrimaryView, Waiting } from './integrations.ts';

/** The most a request may hold; a command is a few dozen bytes. */
export const MAX_REQUEST_BYTES = 64 * 1024;
/** A client that sends no whole request within this is answered and let go. */
const REQUEST_TIMEOUT_MS = 5000;

/**
 * `progress`: the outcome of a reload or an upgrade, or of a scale that waits for the start, a
 * reload or an upgrade, is preceded by ControlProgress lines (a CLI of an older hostd sends none). `expires`: when
 * the command stops waiting for an answer (ms since the epoch); a request read later is
 * refused, not carried out behind the back of a command that said it got no answer (a
 * primary resumed after SIGSTOP reads what queued meanwhile).
 */
export type ControlRequest = ({ command: 'status' } | { command: 'reload' } | { command: 'upgrade' } | { command: 'stop'; fast?: boolean } | { command: 'scale'; n: number; relative: boolean }) & { expires?: number; progress?: boolean };

export type ControlAnswer = { ok: true; [key: string]: unknown } | { ok: false; error: string };

/**
 * A line before the answer: the longest the answer may still take from now (null: no bound),
 * and how that was derived; `behind`, while the command is queued behind the start, a reload
 * or an upgrade under way (it runs once that is over).
 */
export interface ControlProgress {
  readonly deadline_seconds: number | null;
  readonly waiting_for: string;
  readonly behind?: 'start' | 'reload' | 'upgrade';
}

/** What a waiter's command is (the control request's name). */
type WaiterKind = 'reload' | 'scale' | 'upgrade';

/**
 * A command that asked for progress and waits for its outcome from the core (request `id`);
 * `told`: what its last progress line was counted from, so a line goes out when that changes.
 */
interface Waiter {
  readonly kind: WaiterKind;
  readonly id: number;
  told: string | null;
  tell(progress: ControlProgress): void;
}

/** One wait in a progress line: what it is, the longest it may take (null: no bound), how that was counted. */
interface Term {
  readonly what: string;
  readonly seconds: number | null;
  readonly how: string;
}

/** What a progress line is counted from: a new line when it changes (not when the seconds left go down). */
const waitKey = (waits: readonly Waiting[]): string =>
  waits.map((w) => (w.t === 'reload' ? `reload:${w.own}:${w.switched}` : w.t === 'start' ? 'start' : `${w.t}:${w.own}`)).join(',');

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
  /** Reloads, scales and upgrades told how long their outcome may take, until answered. */
  const awaiting = new Set<Waiter>();

  /** One wait as a term of the progress line, counted by its plan from now. */
  const termOf = (wait: Waiting): Term => {
    const { config } = primary;
    const plan = (what: string, counted: ReloadPlan): Term => ({ what, seconds: counted.total, how: explainReloadPlan(counted) });
    const next = nextGeneration(config, primary.workers());
    switch (wait.t) {
      case 'start': {
        const hooks = { pre_fork: config.hooks.pre_fork.length, when_ready: config.hooks.when_ready.length };
        return plan('the start under way', startPlan({ settings: config.settings, workers: primary.workers(), hooks }, BACKOFF_MAX_MS / 1000));
      }
      case 'reload': {
        const counted = reloadPlan(next, previousGeneration(wait.from), wait.switched ? 'switch' : 'start');
        return plan(!wait.own ? 'the reload under way' : wait.switched ? 'the rest of the reload once its new generation starts' : 'a reload', counted);
      }
      case 'queued_reload':
        return plan(wait.own ? 'then this reload' : 'then a reload asked for before it', reloadPlan(next, previousGeneration(config)));
      case 'upgrade': {
        const left = wait.secondsLeft === null ? 'no bound' : `at most ${Math.ceil(wait.secondsLeft)} s more`;
        const what = wait.own ? 'a new primary to start and serve' : 'the upgrade under way';
        return { what, seconds: wait.secondsLeft, how: `${left} (its limit from its start: ${explainReloadPlan(wait.plan)})` };
      }
    }
  };

  /** How long a command's outcome may still take from now, and why; null when nothing is waited for. */
  const progressOf = (kind: WaiterKind, waits: readonly Waiting[]): ControlProgress | null => {
    if (waits.length === 0) return null;
    const terms = waits.map(termOf);
    const deadline_seconds = terms.reduce<number | null>((sum, { seconds }) => (sum === null || seconds === null ? null : sum + seconds), 0);
    const waiting_for = terms.map(({ what, how }) => `${what}: ${how}`).join('; ');
    const first = waits[0]!;
    const queued = first.t === 'start' || !first.own;
    return {
      deadline_seconds,
      waiting_for: kind === 'scale' ? `${waiting_for}; then the scale` : waiting_for,
      ...(queued ? { behind: first.t === 'queued_reload' ? 'reload' : first.t } : {}),
    };
  };

  /** Asks the core what the waiter's command waits for now, and tells it when that changed. */
  const update = (waiter: Waiter): void => {
    // Progress is news, not the answer: a failure to tell it is logged, and never reaches the primary's uncaughtException.
    try {
      const waits = primary.waitsFor(waiter.id);
      if (waits === null) return;
      const key = waitKey(waits);
      if (key === waiter.told) return;
      waiter.told = key;
      const progress = progressOf(waiter.kind, waits);
      if (progress !== null) waiter.tell(progress);
    } catch (error) {
      primary.log.error(`control socket: telling a ${waiter.kind} what it waits for failed (please report it): ${(error as Error).stack ?? String(error)}`);
    }
  };

  /** Carries out a request; for one the core answers, returns its id (what `waitsFor` asks about). */
  const handle = (request: ControlRequest, reply: (answer: ControlAnswer) => void): number | null => {
    const ask = (core: CoreRequest): number => {
      const { id, answer } = primary.request(core);
      void answer.then(reply);
      return id;
    };
    switch (request.command) {
      case 'status':
        reply({ ok: true, ...primary.status(), control_socket: path });
        return null;
      case 'reload':
        return ask({ t: 'reload' });
      case 'upgrade':
        return ask({ t: 'upgrade' });
      case 'stop': {
        // The plan of the stop this request leads to, counted from now: the command waits this long for the exit.
        const { settings, hooks } = primary.config;
        const mode = stopModeAfter(primary.stopMode(), request.fast === true);
        const plan = stopPlan(settings, configShape(hooks), mode);
        reply({ ok: true, pid: process.pid, mode, deadline_seconds: plan.total, plan: explainPlan(plan) });
        primary.signal(request.fast ? 'SIGINT' : 'SIGTERM');
        return null;
      }
      case 'scale':
        return ask({ t: 'scale', n: request.n, relative: request.relative });
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
      let id: number | null;
      try {
        id = handle(request, reply);
      } catch (error) {
        return reply({ ok: false, error: (error as Error).message });
      }
      // Its answer comes later (a then): what it waits for meanwhile goes out first. A scale answered at once has none.
      if (request.progress === true && id !== null && (request.command === 'reload' || request.command === 'scale' || request.command === 'upgrade')) {
        waiter = { kind: request.command, id, told: null, tell: (progress) => answered || void socket.write(`${JSON.stringify(progress)}\n`) };
        awaiting.add(waiter);
        update(waiter);
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
      // The start or a reload ended, a reload began: what each command waits for is the core's to say.
      for (const waiter of awaiting) update(waiter);
    },
    using(view) {
      primary = view;
      // A reload's new generation starts: what is left of it is now known from its own settings.
      for (const waiter of awaiting) update(waiter);
    },
  };
}
