/**
 * `hostd status`, `hostd reload`, `hostd stop`, `hostd scale`: one request to the running
 * primary over its control socket (runtime/primary/control.ts). Exit codes: 0 done, 1 not
 * running or the action failed (with the reason), 2 usage.
 */
import { lstatSync, unlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { resolve } from 'node:path';
import { findConfigFile } from '../../config/discover.ts';
import { type ConfigInputs, resolveConfig } from '../../config/resolve.ts';
import { ConfigInvalidError } from '../../errors.ts';
import { controlSocketPath, judgeFailure, type SocketFailure } from '../../runtime/control-path.ts';
import type { ControlAnswer, ControlRequest } from '../../runtime/primary/control.ts';
import { out, table } from '../output.ts';
import { reportError } from '../report.ts';

/** The primary's answer, or what connecting found instead. */
type Asked = { readonly answer: ControlAnswer } | SocketFailure;

/** Sends one request and reads the one-line answer. */
function ask(path: string, request: ControlRequest): Promise<Asked> {
  return new Promise((resolve) => {
    const socket = connect(path);
    let text = '';
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${JSON.stringify(request)}\n`));
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => resolve(judgeFailure(path, error.code)));
    socket.on('close', () => {
      try {
        resolve({ answer: JSON.parse(text) as ControlAnswer });
      } catch {
        // Accepted, then closed with nothing said: a primary out of descriptors does that.
        resolve({ state: 'unsure', why: 'it closed the connection without answering' });
      }
    });
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** "not running": nothing is bound to the socket any more; the file a primary that died left is removed. */
function notRunning(path: string, json: boolean): number {
  if (lstatSync(path, { throwIfNoEntry: false })?.isSocket()) {
    try {
      unlinkSync(path);
    } catch {}
  }
  if (json) out.json({ ok: false, error: 'not running', control_socket: path });
  else out.error(`hostd: not running (nothing answers on ${path})`);
  return 1;
}

/** A primary is there but did not answer: its socket stays, and the command fails saying why. */
function noAnswer(path: string, why: string, json: boolean): number {
  const error = `the primary at ${path} did not answer: ${why}; try again`;
  if (json) out.json({ ok: false, error, control_socket: path });
  else out.error(`hostd: ${error}`);
  return 1;
}

const MiB = (bytes: number) => `${Math.round(bytes / 2 ** 20)} MiB`;

function printStatus(answer: Record<string, unknown>): void {
  const workers = answer.workers as Record<string, number | string | null>[];
  out.line(`hostd ${answer.version} (pid ${answer.pid}), generation ${answer.generation}, up ${answer.uptime_seconds} s`);
  out.line(`config   ${answer.config_file ?? 'none'}`);
  out.line(`binds    ${(answer.binds as string[]).join(', ')}`);
  out.line(`control  ${answer.control_socket}`);
  out.line(`workers  ${workers.length} (target ${answer.workers_target})`);
  for (const line of table([
      ['id', 'pid', 'gen', 'state', 'age', 'requests', 'in flight', 'conns', 'rss', 'heap', 'heartbeat'],
      ...workers.map((w) => [
        String(w.id),
        String(w.pid),
        String(w.generation),
        String(w.state),
        `${w.age_seconds} s`,
        String(w.requests),
        String(w.in_flight),
        String(w.connections),
        MiB(Number(w.rss_bytes)),
        MiB(Number(w.heap_used_bytes)),
        `${w.last_heartbeat_seconds_ago} s ago`,
      ]),
    ]))
    out.line(line);
}

export async function controlCommand(inputs: ConfigInputs, request: ControlRequest, json: boolean): Promise<number> {
  let path: string | null;
  try {
    const config = await resolveConfig(inputs);
    path = controlSocketPath(config.settings.control_socket, config.file, inputs.cwd);
  } catch (error) {
    // A config on disk that no longer resolves (an edit before a reload) still names the file
    // the primary was started from, and so its default socket: the primary will say what is wrong.
    if (!(error instanceof ConfigInvalidError)) return reportError(error, json);
    const file = inputs.configFile !== undefined ? resolve(inputs.cwd, inputs.configFile) : findConfigFile(inputs.cwd);
    path = controlSocketPath('auto', file, inputs.cwd);
  }
  if (path === null) {
    out.error('hostd: control_socket is null in this config: no command can reach the primary');
    return 1;
  }
  const asked = await ask(path, request);
  if (!('answer' in asked)) return asked.state === 'stale' ? notRunning(path, json) : noAnswer(path, asked.why, json);
  const { answer } = asked;
  if (!answer.ok) {
    if (json) out.json(answer);
    else out.error(`hostd: ${request.command} failed: ${answer.error}`);
    return 1;
  }
  if (request.command === 'stop') {
    // The primary answered and stops now: done when it is gone.
    const pid = Number(answer.pid);
    while (alive(pid)) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  if (json) out.json(answer);
  else if (request.command === 'status') printStatus(answer);
  else if (request.command === 'reload') out.line(`reloaded: generation ${answer.generation} serves`);
  else if (request.command === 'stop') out.line(`stopped (pid ${answer.pid})`);
  else out.line(`workers: ${answer.was} → ${answer.workers}`);
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
