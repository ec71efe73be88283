/**
 * `hostd check` loads the app as a worker would, in a child process with a deadline: an
 * app can hang at import, start servers or timers, or exit, and none of that may hang or
 * end `check` itself. The child starts before the config is resolved, by the bin before the
 * CLI even loads (app-check-spawn.ts), so that its Node start-up overlaps the CLI's and the
 * config's; it is told what to load once the config is known.
 */
import type { ChildProcess } from 'node:child_process';
import { appSpecAsWritten } from '../config/app-spec.ts';
import { HOSTD_CODE_DIR, printablePath } from '../paths.ts';
import type { AppCheckAnswer, AppCheckRequest } from './app-check-child.ts';
import { spawnAppCheck, takeEarlyAppCheck } from './app-check-spawn.ts';
/** The end of the child's stderr kept, to say why it exited while loading. */
const STDERR_KEPT = 4096;
/** A slow load is said to be slow once, after this long, so a long deadline does not look like a hang. */
const SLOW_NOTE_MS = 10_000;

export interface AppLoadRequest extends AppCheckRequest {
  /** The deadline, in seconds; 0 = none. */
  readonly seconds: number;
  /** Called once if the load is still going after 10 s. */
  readonly onSlow?: (elapsedSeconds: number) => void;
}

/** What the load found: the app's kind, or an error code and a one-line message saying what to do. */
export type AppLoadResult = { readonly ok: true; readonly kind: string } | { readonly ok: false; readonly code: string; readonly message: string };

export class AppLoad {
  private readonly child: ChildProcess;
  private stderr = '';
  private done = false;

  /** Takes the child the bin started, or starts one now; it waits for `check()`. */
  constructor() {
    this.child = takeEarlyAppCheck() ?? spawnAppCheck(HOSTD_CODE_DIR);
    this.child.stderr!.setEncoding('utf8').on('data', (text: string) => (this.stderr = (this.stderr + text).slice(-STDERR_KEPT)));
  }

  /** Loads `request.spec` in the child; the child is gone when this settles. */
  check(request: AppLoadRequest): Promise<AppLoadResult> {
    const { seconds, onSlow, ...sent } = request;
    const shown = printablePath(appSpecAsWritten(request.spec, request.root));
    const child = this.child;
    child.ref();
    return new Promise<AppLoadResult>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null || !child.connected) {
        const said = lastLine(this.stderr);
        void this.cancel();
        resolve({ ok: false, code: 'HOSTD_ERR_INTERNAL', message: `the process to load the app in ended before it was asked${said ? `: ${said}` : ''}` });
        return;
      }
      const timers: NodeJS.Timeout[] = [];
      const finish = (result: AppLoadResult) => {
        if (this.done) return;
        for (const timer of timers) clearTimeout(timer);
        void this.cancel().then(() => resolve(result));
      };
      child.once('message', (answer: AppCheckAnswer) => finish(answer));
      child.once('exit', (code, signal) => {
        const said = lastLine(this.stderr);
        const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
        finish({ ok: false, code: 'HOSTD_ERR_APP_LOAD', message: `loading ${shown} ended the process: it ${how}${said ? ` after printing "${said}"` : ''}` });
      });
      child.once('error', (error) => finish({ ok: false, code: 'HOSTD_ERR_INTERNAL', message: `cannot start a process to load the app: ${error.message}` }));
      if (seconds > 0) {
        timers.push(
          setTimeout(
            () =>
              finish({
                ok: false,
                code: 'HOSTD_ERR_APP_LOAD',
                message: `${shown} did not finish loading within boot_timeout (${seconds} s), so a worker would not boot either: a top-level await or the app factory never settled (raise --boot-timeout if it is only slow, or skip this with --no-app)`,
              }),
            seconds * 1000,
          ),
        );
      }
      if (onSlow && (seconds === 0 || seconds * 1000 > SLOW_NOTE_MS)) timers.push(setTimeout(() => onSlow(SLOW_NOTE_MS / 1000), SLOW_NOTE_MS));
      child.send(sent satisfies AppCheckRequest);
    });
  }

  /**
   * Ends the child and everything it started (its process group); resolves once the child
   * is gone, so that what the app held (a port, a lock) is free when `check` returns.
   */
  cancel(): Promise<void> {
    const child = this.child;
    const gone = child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise<void>((resolve) => child.once('exit', () => resolve()));
    if (!this.done) {
      this.done = true;
      child.ref();
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // Gone already.
        }
      }
      child.stderr?.destroy();
      child.removeAllListeners('message');
    }
    return gone;
  }
}

/** The last line a process printed, safe to show in one line. */
function lastLine(text: string): string {
  const line = text.trimEnd().split('\n').at(-1)?.trim() ?? '';
  // eslint-disable-next-line no-control-regex
  return line.replace(/[\x00-\x1f\x7f]/g, '').slice(0, 200);
}
