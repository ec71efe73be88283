/**
 * Every error hostd reports, with a stable code and the exit code it ends the
 * process with. `docs/errors.md` is generated from this table; a test checks that
 * each code is documented and thrown with its own class.
 */
export const ERRORS = {
  HOSTD_ERR_USAGE: {
    exit: 2,
    doc: 'The command line could not be understood: an unknown command or option, a missing argument.',
  },
  HOSTD_ERR_CONFIG_NOT_FOUND: {
    exit: 1,
    doc: 'No config file was found (searching upward from the working directory to the project root), the file given with `--config` does not exist, or the config path is not a regular file (a folder, a device, a named pipe).',
  },
  HOSTD_ERR_CONFIG_AMBIGUOUS: {
    exit: 1,
    doc: 'One directory holds more than one `hostd.config.*` file. Keep one, or pick one with `--config`.',
  },
  HOSTD_ERR_CONFIG_LOAD: {
    exit: 1,
    doc: "The config module (or a module it imports, a preset, a hook reference) could not be loaded: a syntax error, a throw at the top level, a missing import. The message shows the user's file and line.",
  },
  HOSTD_ERR_CONFIG_TIMEOUT: {
    exit: 1,
    doc: 'The config file did not finish loading within `config_timeout` (30 s by default): a top-level await or the exported async function never settled. Raise the limit with `--config-timeout` or `HOSTD_CONFIG_TIMEOUT`.',
  },
  HOSTD_ERR_CONFIG_INVALID: {
    exit: 1,
    doc: 'The config was loaded but does not validate. Every problem is listed, one per line, as `SOURCE: key.path: what was expected, got what was found`.',
  },
  HOSTD_ERR_CONFIG_EXISTS: {
    exit: 1,
    doc: '`hostd init` would overwrite an existing config file; `hostd init --force` replaces it.',
  },
  HOSTD_ERR_APP_MISSING: {
    exit: 1,
    doc: '`hostd run` needs an app: set `app` in the config, `HOSTD_APP`, or pass it as `hostd run APP`.',
  },
  HOSTD_ERR_APP_LOAD: {
    exit: 3,
    doc: "The app module could not be imported (it threw, did not parse, exited), the app factory threw, or loading it did not finish within `boot_timeout`. A worker reports it with the app's own stack and hostd exits 3; `hostd check` reports it as a problem at `app` and exits 1.",
  },
  HOSTD_ERR_APP_INVALID: {
    exit: 3,
    doc: 'The app export is not a request listener `(req, res) => void`, an object with `fetch`, or a factory returning one of these, or the app calls `listen()` while it loads. The message says what to export instead (a Fastify instance, a Koa app, a CommonJS `{ app }`). Exit 3 from `hostd run`, 1 from `hostd check`.',
  },
  HOSTD_ERR_CHDIR: {
    exit: 1,
    doc: 'hostd cannot change to the folder `chdir` names (or, without it, the working directory it started in): it does not exist (a release folder removed, a symlink pointing nowhere), is not a folder, or cannot be searched. At the start hostd exits 1; at a reload the reload fails, naming the folder, and the old generation keeps serving.',
  },
  HOSTD_ERR_BIND: {
    exit: 1,
    doc: 'A listening socket could not be opened (address in use, permission denied, a bad `fd://N`).',
  },
  HOSTD_ERR_LOG: {
    exit: 1,
    doc: 'A log file (`errorlog`, `accesslog`) cannot be opened for appending: a missing folder, no permission. At start hostd exits 1; on a reload the new config is rejected and the old one keeps serving; on USR1 the old file stays open.',
  },
  HOSTD_ERR_PIDFILE: {
    exit: 1,
    doc: 'The `pidfile` names another running process (is hostd already running?), or cannot be written.',
  },
  HOSTD_ERR_HOOK_FAILED: {
    exit: 1,
    doc: 'A lifecycle hook threw or rejected. What happens next is the hook\'s policy (see docs/settings.md, "Hooks").',
  },
  HOSTD_ERR_HOOK_TIMEOUT: {
    exit: 1,
    doc: 'A lifecycle hook did not settle within `hook_timeout` seconds. Its `signal` was aborted; hostd moved on.',
  },
  HOSTD_ERR_WORKER_BOOT: {
    exit: 3,
    doc: 'Workers kept failing at boot (an error, or not ready within `boot_timeout`) before any became ready; the primary gave up. The message names the last cause.',
  },
  HOSTD_ERR_EXPORT: {
    exit: 1,
    doc: '`hostd export` cannot write deployment files for this config (for Kubernetes or Docker, no TCP port to expose, or one on loopback only; for a .socket unit, no address it can hold), or the `--out` folder does not exist or cannot be written.',
  },
  HOSTD_ERR_NOT_RUNNING: {
    exit: 1,
    doc: '`host.on()`, `host.reload()` or `host.stop()` was called outside a hostd worker. Check `host.running` or `host.capabilities` first.',
  },
  HOSTD_ERR_UNKNOWN_EVENT: {
    exit: 1,
    doc: "`host.on()` was given an event hostd does not have (it has `shutdown`, `reload` and `request`), or something other than a function.",
  },
  HOSTD_ERR_IPC_MESSAGE: {
    exit: 1,
    doc: "App code in a worker called `process.send` with a message hostd refuses: one posing as hostd's own (a `t` hostd uses), or one over 1 MiB. hostd's primary takes no messages from app code; use your own channel.",
  },
  HOSTD_ERR_APP_CONTROL: {
    exit: 1,
    doc: 'App code called `host.reload()` or `host.stop()` but the config does not set `allow_app_control: true`.',
  },
  HOSTD_ERR_INTERNAL: {
    exit: 1,
    doc: 'A bug in hostd itself. The message keeps the stack; please report it.',
  },
} as const satisfies Record<string, { exit: number; doc: string }>;

export type ErrorCode = keyof typeof ERRORS;

/** Marks hostd's errors in every copy of hostd in a process (see HostdError's `instanceof`). */
const HOSTD_ERROR = Symbol.for('hostd.error');

/** An error hostd knows how to report: a stable `code`, a message a user can act on, an exit code. */
export class HostdError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: number;

  /**
   * `instanceof HostdError` holds for a HostdError of any copy of hostd in the process: a worker's
   * code is a bundle of its own (dist/worker-main.js), beside the `hostd` a config or an app imports.
   * A subclass is checked as usual.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this !== HostdError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return typeof value === 'object' && value !== null && (value as { [HOSTD_ERROR]?: unknown })[HOSTD_ERROR] === true;
  }

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HostdError';
    this.code = code;
    this.exitCode = ERRORS[code].exit;
  }
}
Object.defineProperty(HostdError.prototype, HOSTD_ERROR, { value: true });

/** One problem found in a config layer; many are reported at once. */
export interface ConfigIssue {
  /** Where the value came from: a file path, `preset NAME`, `HOSTD_WORKERS`, `--workers`. */
  readonly source: string;
  /** The key path inside that source, e.g. `bind[1]` or `env.PORT`; empty for the source as a whole. */
  readonly path: string;
  readonly message: string;
}

/** The config does not validate; `issues` lists every problem. */
export class ConfigInvalidError extends HostdError {
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[]) {
    super('HOSTD_ERR_CONFIG_INVALID', issues.map(formatIssue).join('\n'));
    this.issues = issues;
  }
}

/** `SOURCE: key.path: message` — the one-line form every config problem is shown in. */
export function formatIssue(issue: ConfigIssue): string {
  if (!issue.path) return `${issue.source}: ${issue.message}`;
  // An index right after a variable or flag reads as one name: `HOSTD_BIND[1]: ...`.
  return issue.path.startsWith('[') ? `${issue.source}${issue.path}: ${issue.message}` : `${issue.source}: ${issue.path}: ${issue.message}`;
}

export function isHostdError(error: unknown): error is HostdError {
  return error instanceof HostdError;
}
