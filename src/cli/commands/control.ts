/**
 * `hostd status`, `hostd reload`, `hostd stop`, `hostd scale`: one request to the running
 * primary over its control socket (runtime/primary/control.ts). Exit codes: 0 done, 1 not
 * running or the action failed (with the reason), 2 usage.
 *
 * The primary is found from the config file's location alone; the file is never evaluated,
 * so a config that no longer parses does not lock the commands out of the primary started
 * from it (`reload` then fails with the problems, and the old generation keeps serving). In
 * order: `--control-socket` or `HOSTD_CONTROL_SOCKET`; the record a running primary left
 * beside its default socket (where its socket is, or that it has none); the default socket.
 *
 * Every wait has a deadline, and a command that gives up says what it waited for: the
 * primary's first word within FIRST_WORD_SECONDS; a stop's exit within the stop plan the
 * primary answered with; the outcome of a reload or an upgrade, or of a scale behind the
 * start, a reload or an upgrade, within the plans its progress lines give; the last two plus
 * PLATFORM_MARGIN_SECONDS, the margin a platform's stop window keeps too. A command queued
 * behind something the primary does first says so on stderr, once, with what it waits for.
 */
import { lstatSync, realpathSync, unlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { CONFIG_FILE_NAMES, findConfigFile } from '../../config/discover.ts';
import { type ConfigInputs, settingBeforeFile } from '../../config/resolve.ts';
import { PLATFORM_MARGIN_SECONDS } from '../../config/stop-plan.ts';
import { withChdir } from '../../config/working-directory.ts';
import { displayPath } from '../../paths.ts';
import { deadlineTimer } from '../../timers.ts';
import { type ControlRecord, controlRecordPath, controlSocketPath, judgeFailure, processState, readControlRecord, type SocketFailure } from '../../runtime/control-path.ts';
import { peerPidOf } from '../../runtime/primary/control-peer.ts';
import type { ControlAnswer, ControlProgress, ControlRequest } from '../../runtime/primary/control.ts';
import { out, table } from '../output.ts';
import { reportError } from '../report.ts';

/**
 * How long after it was sent the primary still carries out a request (`expires`). It answers
 * at once from its event loop; this is for a loop busy for a while (a scrape merged, a config
 * evaluated at a reload), not for one that is stuck (SIGSTOP).
 */
const ANSWER_SECONDS = 10;
/** How long a command waits for the primary's first word (an answer, or a progress line): a request carried out just in time still has a second to be answered. */
const FIRST_WORD_SECONDS = ANSWER_SECONDS + 1;
/** An answer is a few kilobytes (status with many workers); more is not an answer. */
const MAX_ANSWER_BYTES = 4 * 2 ** 20;

/** Where the running primary should answer, found without evaluating the config. */
interface Target {
  readonly socket: string;
  /** Its pid, where a record says it. */
  readonly pid: number | null;
  /** The record that led here: it goes with the socket file when nothing answers there any more. */
  readonly record: string | null;
  /** For "not running" at the default socket: where a primary started from this config would have left a record. */
  readonly unrecorded: string | null;
}

/** A live primary's record, or null; a record left by a primary that is gone is removed, one that is not a record is reported and ignored. */
function liveRecord(path: string, configFile: string | null): ControlRecord | null {
  const reading = readControlRecord(path, configFile);
  if (reading.found === 'invalid') out.error(`hostd: ignoring ${path}: ${reading.why}`);
  if (reading.found !== 'record') return null;
  const state = processState(reading.record.pid);
  if (state === 'running' || state === 'stopped') return reading.record;
  try {
    unlinkSync(path);
  } catch {}
  return null;
}

/** Where a primary started from a folder would have left its record: the config it found there, and the record's path. */
interface Place {
  readonly cwd: string;
  readonly file: string | null;
  readonly recordPath: string;
}

/**
 * The places to look, in order: from the folder as named (`chdir`, else the working directory
 * as the shell named it), where a primary started from that name left its record, whatever
 * release the name leads to now; then from its real path, where a primary started without
 * the name left it (systemd's WorkingDirectory= gives the real path, and no `$PWD`). Where no
 * config file is found (the release it was in is gone), each name one may have had there.
 */
function places(inputs: ConfigInputs): Place[] {
  const named = withChdir(inputs);
  let real = named.cwd;
  try {
    real = realpathSync(named.cwd);
  } catch {}
  return [...new Set([named.cwd, real])].flatMap((cwd) => {
    const file = named.configFile !== undefined ? resolve(cwd, named.configFile) : findConfigFile(cwd);
    const files = file === null ? [null, ...CONFIG_FILE_NAMES.map((name) => join(cwd, name))] : [file];
    return files.map((each) => ({ cwd, file: each, recordPath: controlRecordPath(each, cwd, inputs.env) }));
  });
}

/** The target, or why no command can reach the primary (a config error is thrown). */
function locate(inputs: ConfigInputs): Target | { readonly off: string } {
  const candidates = places(inputs);
  let place = candidates[0]!;
  let record: ControlRecord | null = null;
  for (const candidate of candidates) {
    record = liveRecord(candidate.recordPath, candidate.file);
    if (record === null) continue;
    place = candidate;
    break;
  }
  const { cwd, file, recordPath } = place;
  const override = settingBeforeFile(inputs, 'control_socket');
  if (override !== undefined) {
    const socket = controlSocketPath(override.value as string | null, file, cwd, inputs.env);
    if (socket === null) return { off: `control_socket is null (${override.source}): no command can reach the primary` };
    return { socket, pid: record?.socket === socket ? record.pid : null, record: null, unrecorded: null };
  }
  const from = file === null ? `in ${displayPath(cwd, inputs.cwd)}` : `from ${displayPath(file, inputs.cwd)}`;
  if (record === null) return { socket: controlSocketPath('auto', file, cwd, inputs.env)!, pid: null, record: null, unrecorded: from };
  if (record.socket === null) {
    return { off: `the primary started ${from} (pid ${record.pid}) has control_socket: null: no command can reach it; signals do (kill -HUP ${record.pid} reloads, kill -TERM ${record.pid} stops)` };
  }
  return { socket: record.socket, pid: record.pid, record: recordPath, unrecorded: null };
}

/** The primary's answer; what connecting found instead; or a wait that passed its deadline (`said`: what was waited for). */
type Asked = { readonly answer: ControlAnswer } | SocketFailure | { readonly state: 'late'; readonly said: string; readonly pid: number | null };

/** What a command queued behind something the primary does first waits for, as the command says it. */
const BEHIND: Readonly<Record<NonNullable<ControlProgress['behind']>, string>> = {
  start: 'the start under way',
  reload: 'the reload under way',
  upgrade: 'the upgrade under way',
};

type Progress = { readonly deadline: number | null; readonly waitingFor: string; readonly behind: string | null };

/** One line from the primary, as untrusted input: an answer, a progress line, or nothing hostd sends. */
function parseLine(line: string): { readonly answer: ControlAnswer } | Progress | null {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
  const v = value as Record<string, unknown>;
  if (v.ok === true) return { answer: v as ControlAnswer };
  if (v.ok === false) return { answer: { ok: false, error: typeof v.error === 'string' ? v.error : 'the primary gave no reason' } };
  const deadline = v.deadline_seconds;
  if ((deadline === null || (typeof deadline === 'number' && Number.isFinite(deadline) && deadline >= 0)) && typeof v.waiting_for === 'string') {
    // Something this hostd does not name (a newer primary's) is not said.
    const behind = typeof v.behind === 'string' && Object.hasOwn(BEHIND, v.behind) ? BEHIND[v.behind as keyof typeof BEHIND] : null;
    return { deadline, waitingFor: v.waiting_for, behind };
  }
  return null;
}

/**
 * Sends one request and reads lines until the answer: within FIRST_WORD_SECONDS, or, after
 * a progress line, within the deadline it gives plus the margin.
 */
function ask(path: string, request: ControlRequest): Promise<Asked> {
  return new Promise((done) => {
    const socket = connect(path);
    let text = '';
    let answer: ControlAnswer | null = null;
    let timer: NodeJS.Timeout | undefined;
    /** What the command last said it is queued behind. */
    let queued: string | null = null;
    const finish = (asked: Asked) => {
      clearTimeout(timer);
      done(asked);
    };
    const expect = (seconds: number | null, said: string) => {
      clearTimeout(timer);
      if (seconds === null) return;
      // A deadline past what Node's timers hold is none.
      timer = deadlineTimer(seconds * 1000, () => {
        finish({ state: 'late', said, pid: peerPidOf(socket) });
        socket.destroy();
      });
    };
    expect(FIRST_WORD_SECONDS, `the primary at ${path} accepted the request but did not answer within ${FIRST_WORD_SECONDS} s (it refuses a request it reads more than ${ANSWER_SECONDS} s after it was sent: this one will not be carried out)`);
    const take = (line: string) => {
      const parsed = parseLine(line);
      if (parsed === null || answer !== null) return;
      if ('answer' in parsed) {
        answer = parsed.answer;
        finish({ answer });
        socket.destroy();
      } else {
        const seconds = parsed.deadline === null ? null : Math.ceil(parsed.deadline) + PLATFORM_MARGIN_SECONDS;
        if (parsed.behind !== null && parsed.behind !== queued) {
          out.error(`hostd: ${request.command}: waiting for ${parsed.behind} to finish (${seconds === null ? `no deadline: ${parsed.waitingFor}` : `the outcome within ${seconds} s at the latest`})`);
        } else if (seconds === null) {
          out.error(`hostd: ${request.command}: no deadline: waiting for ${parsed.waitingFor}`);
        }
        queued = parsed.behind;
        const look = request.command === 'reload' ? 'which generation each worker runs' : request.command === 'upgrade' ? 'which primary answers' : 'the worker target';
        expect(seconds, `no outcome within ${seconds} s, the longest it can take (${parsed.waitingFor}) with ${PLATFORM_MARGIN_SECONDS} s more; it may still be under way (hostd status shows ${look})`);
      }
    };
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${JSON.stringify({ ...request, expires: Date.now() + ANSWER_SECONDS * 1000 })}\n`));
    socket.on('data', (chunk: string) => {
      text += chunk;
      for (let end = text.indexOf('\n'); end >= 0; end = text.indexOf('\n')) {
        take(text.slice(0, end));
        text = text.slice(end + 1);
      }
      if (text.length > MAX_ANSWER_BYTES) {
        finish({ state: 'unsure', why: `it sent more than ${MAX_ANSWER_BYTES} bytes without an answer` });
        socket.destroy();
      }
    });
    socket.on('error', (error: NodeJS.ErrnoException) => finish(judgeFailure(path, error.code)));
    socket.on('close', () => {
      if (text !== '') take(text);
      // Accepted, then closed with nothing said: a primary out of descriptors does that.
      finish(answer === null ? { state: 'unsure', why: 'it closed the connection without answering' } : { answer });
    });
  });
}

/** What became of a pid that did not do what was asked in time, for the message. */
function pidState(pid: number | null): string {
  if (pid === null) return '';
  switch (processState(pid)) {
    case 'stopped':
      return `; pid ${pid} is stopped (SIGSTOP or SIGTSTP): kill -CONT ${pid} resumes it`;
    case 'running':
      return `; pid ${pid} is running, its event loop busy or blocked`;
    default:
      return `; pid ${pid} has exited`;
  }
}

/** "not running": nothing is bound to the socket any more; the file a primary that died left is removed, and its record. */
function notRunning(target: Target, json: boolean): number {
  if (lstatSync(target.socket, { throwIfNoEntry: false })?.isSocket()) {
    try {
      unlinkSync(target.socket);
    } catch {}
  }
  if (target.record !== null) {
    try {
      unlinkSync(target.record);
    } catch {}
  }
  if (json) out.json({ ok: false, error: 'not running', control_socket: target.socket });
  else out.error(`hostd: not running (nothing answers on ${target.socket}${target.unrecorded === null ? '' : `, and no primary started ${target.unrecorded} left a record of another socket`})`);
  return 1;
}

/** A command that failed, with why, in the command's format. */
function failed(error: string, path: string, json: boolean): number {
  if (json) out.json({ ok: false, error, control_socket: path });
  else out.error(`hostd: ${error}`);
  return 1;
}

/** A pause between two looks at a stopping primary. */
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits for the primary to be gone after it answered `stop`: no process, or a zombie (it
 * exited; its parent has not collected it), within the plan it answered with, plus the margin.
 * Returns why not, or null.
 */
async function waitForExit(answer: Record<string, unknown>): Promise<string | null> {
  const pid = answer.pid;
  if (!Number.isSafeInteger(pid) || (pid as number) < 2) return 'the primary answered without its pid: its exit cannot be waited for';
  const planned = typeof answer.deadline_seconds === 'number' && Number.isFinite(answer.deadline_seconds) ? answer.deadline_seconds : null;
  const plan = typeof answer.plan === 'string' ? answer.plan : 'not given';
  const mode = typeof answer.mode === 'string' ? `${answer.mode} ` : '';
  const seconds = planned === null ? null : Math.ceil(planned) + PLATFORM_MARGIN_SECONDS;
  if (seconds === null) out.error(`hostd: stop: waiting for pid ${pid} to exit; its ${mode}stop has no bound (${plan})`);
  const limit = seconds === null ? Infinity : performance.now() + seconds * 1000;
  for (;;) {
    const state = processState(pid as number);
    if (state === 'gone' || state === 'zombie') return null;
    if (performance.now() > limit) {
      return `stop: pid ${pid} has not exited within ${seconds} s, the longest its ${mode}stop can take (${plan}) with ${PLATFORM_MARGIN_SECONDS} s more${pidState(pid as number)}`;
    }
    await pause(50);
  }
}

const MiB = (bytes: unknown) => (typeof bytes === 'number' ? `${Math.round(bytes / 2 ** 20)} MiB` : 'not yet');

function printStatus(answer: Record<string, unknown>): void {
  const workers = (Array.isArray(answer.workers) ? answer.workers : []) as Record<string, unknown>[];
  const binds = Array.isArray(answer.binds) ? answer.binds.map(String) : [];
  out.line(`hostd ${String(answer.version)} (pid ${String(answer.pid)}), generation ${String(answer.generation)}, up ${String(answer.uptime_seconds)} s`);
  out.line(`config   ${String(answer.config_file ?? 'none')}`);
  out.line(`binds    ${binds.join(', ')}`);
  out.line(`control  ${String(answer.control_socket)}`);
  const from = answer.upgraded_from as { pid?: unknown; version?: unknown; at?: unknown } | null | undefined;
  if (from !== null && typeof from === 'object') out.line(`upgraded from pid ${String(from.pid)} (hostd ${String(from.version)}) at ${String(from.at)}`);
  out.line(`workers  ${workers.length} (target ${String(answer.workers_target)})`);
  for (const line of table([
    ['id', 'pid', 'gen', 'state', 'age', 'requests', 'in flight', 'conns', 'rss', 'heap', 'heartbeat'],
    ...workers.map((w) => [
      String(w.id),
      String(w.pid),
      String(w.generation),
      String(w.state),
      `${String(w.age_seconds)} s`,
      String(w.requests),
      String(w.in_flight),
      String(w.connections),
      MiB(w.rss_bytes),
      MiB(w.heap_used_bytes),
      `${String(w.last_heartbeat_seconds_ago)} s ago`,
    ]),
  ]))
    out.line(line);
}

export async function controlCommand(inputs: ConfigInputs, request: ControlRequest, json: boolean): Promise<number> {
  let target: ReturnType<typeof locate>;
  try {
    target = locate(inputs);
  } catch (error) {
    return reportError(error, json);
  }
  if ('off' in target) {
    out.error(`hostd: ${target.off}`);
    return 1;
  }
  // A reload's outcome, and a scale's during a start or a reload, may take minutes: the primary says how long, as it learns more.
  const asked = await ask(target.socket, { ...request, progress: true });
  if (!('answer' in asked)) {
    if (asked.state === 'stale') return notRunning(target, json);
    if (asked.state === 'late') return failed(`${request.command}: ${asked.said}${pidState(asked.pid ?? target.pid)}`, target.socket, json);
    return failed(`the primary at ${target.socket} did not answer: ${asked.why}; try again`, target.socket, json);
  }
  const { answer } = asked;
  if (!answer.ok) {
    if (json) out.json(answer);
    else out.error(`hostd: ${request.command} failed: ${answer.error}`);
    return 1;
  }
  if (request.command === 'stop') {
    const late = await waitForExit(answer);
    if (late !== null) return failed(late, target.socket, json);
  }
  if (json) out.json(answer);
  else if (request.command === 'status') printStatus(answer);
  else if (request.command === 'reload') out.line(`reloaded: generation ${String(answer.generation)} serves`);
  else if (request.command === 'upgrade') out.line(`upgraded: the new primary (pid ${String(answer.pid)}) serves; the old one stops`);
  else if (request.command === 'stop') out.line(`stopped (pid ${String(answer.pid)})`);
  else out.line(`workers: ${String(answer.was)} → ${String(answer.workers)}`);
  return 0;
}

/** `scale N`, `scale +N`, `scale -N`: the request, or null for anything else. */
export function scaleRequest(text: string): ControlRequest | null {
  const m = /^([+-]?)(\d{1,4})$/.exec(text.trim());
  if (m === null) return null;
  const n = Number(m[2]);
  if (m[1] === '') return n >= 1 ? { command: 'scale', n, relative: false } : null;
  return n >= 1 ? { command: 'scale', n: m[1] === '-' ? -n : n, relative: true } : null;
}
