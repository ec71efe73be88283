/**
 * What follows the primary's lifecycle without taking part in its decisions: the pidfile,
 * the orphan reaper, systemd's notifications and watchdog, the development file watcher,
 * and the workers' readiness probes. Each subscribes to lifecycle events (Puma's plugins are the model); the
 * supervisor core knows none of them, and adding one does not touch it.
 */
import { dirname, sep } from 'node:path';
import { locateModule, splitAppSpec } from '../../config/app-spec.ts';
import type { ReloadPlan } from '../../config/reload-plan.ts';
import type { StopMode } from '../../config/stop-plan.ts';
import type { ResolvedConfig } from '../../config/types.ts';
import { printablePath } from '../../paths.ts';
import { counted } from '../../text.ts';
import type { ToWorker } from '../ipc.ts';
import type { ErrorLog } from '../log.ts';
import { type Reaper, startReaper } from '../targets/reaper.ts';
import { createNotifier, LISTEN_VARIABLES, monotonicUsec, type Notifier, watchdogInterval } from '../targets/systemd.ts';
import { removePidfile, writePidfile } from './pidfile.ts';
import type { CoreAnswer, CoreRequest, Lifecycle, PrimarySignal, Wait } from './events.ts';
import type { UpgradedFrom } from './upgrade.ts';
import { control } from './control.ts';
import { type Watcher, watchForChanges } from './watch.ts';

/**
 * One thing a control request waits for (the core's Wait, for the control socket): a reload's
 * generation as its config, an upgrade's limit as the seconds left from now (null: none).
 */
export type Waiting =
  | Exclude<Wait, { t: 'reload' | 'upgrade' }>
  | { readonly t: 'reload'; readonly own: boolean; readonly from: ResolvedConfig; readonly switched: boolean }
  | { readonly t: 'upgrade'; readonly own: boolean; readonly secondsLeft: number | null; readonly plan: ReloadPlan };

/** What an integration may see and do. */
export interface PrimaryView {
  /** The current generation's config. */
  readonly config: ResolvedConfig;
  readonly log: ErrorLog;
  /** The listening addresses, as URLs. */
  urls(): string[];
  /** The number of workers the primary keeps. */
  workers(): number;
  isWorker(pid: number): boolean;
  /** A watched file changed: the primary reloads. `file` is for the log line, printable (quoted if it holds control characters). */
  changed(file: string): void;
  /** Sends a message to every worker. */
  broadcast(message: ToWorker): void;
  /** Acts as if the primary received `signal` (the control socket's `stop`). */
  signal(signal: PrimarySignal): void;
  /** A request the core answers (the control socket's `reload`, `scale` and `upgrade`): its id, and its own outcome. */
  request(request: CoreRequest): { readonly id: number; readonly answer: Promise<CoreAnswer> };
  /** What request `id` waits for before its outcome, in order, as the core says now; null once it is answered. */
  waitsFor(id: number): Waiting[] | null;
  /** The stop under way (its mode: a second stop signal escalates it), or null. */
  stopMode(): StopMode | null;
  /** What `hostd status` shows: the primary, its generation, its workers. */
  status(): { generation: number } & Record<string, unknown>;
  /** The primary this one replaced in an upgrade, or null. */
  upgradedFrom(): UpgradedFrom | null;
  /** The pid of the new primary this one handed over to (it is stopping), or null. */
  upgradedTo(): number | null;
}

/** Follows lifecycle events; a throw at `listening` aborts the start. */
export interface Integration {
  on(event: Lifecycle, primary: PrimaryView): void;
  /** The current generation changed (`primary.config` is its config): at start, when a reload starts its new generation, when one fails back. */
  using?(primary: PrimaryView): void;
}

/** The pidfile: written once the sockets are bound, removed after `on_exit`. */
function pidfile(): Integration {
  let path: string | null = null;
  return {
    on(event, view) {
      const { config } = view;
      const from = view.upgradedFrom();
      // A new primary of an upgrade takes the file over once it serves: one that fails leaves the old one's.
      if (event === (from === null ? 'listening' : 'ready') && config.settings.pidfile !== null) {
        path = config.settings.pidfile;
        writePidfile(path, from?.pid ?? null);
      } else if (event === 'exited' && path !== null) {
        removePidfile(path);
      }
    },
  };
}

/** Reaps orphans (as PID 1 in a container, or as a subreaper) while the primary runs. */
function reaper(): Integration {
  let running: Reaper | null = null;
  return {
    on(event, primary) {
      if (event === 'listening') running = startReaper((pid) => primary.isWorker(pid), primary.log);
      else if (event === 'exiting') running?.stop();
    },
  };
}

/** sd_notify: READY, RELOADING, STOPPING, STATUS, and watchdog pings while the primary's event loop runs. */
function systemd(): Integration {
  let notifier: Notifier | null = null;
  let watchdog: NodeJS.Timeout | undefined;
  const status = (p: PrimaryView) => `serving ${p.urls().join(', ')} with ${counted(p.workers(), 'worker')}`;
  return {
    on(event, primary) {
      if (event === 'listening') {
        // Socket activation's variables are spent once the sockets are open (as sd_listen_fds(1) does).
        for (const name of LISTEN_VARIABLES) delete process.env[name];
        if (!primary.config.settings.sd_notify) return;
        notifier = createNotifier(primary.log);
        const interval = watchdogInterval();
        if (notifier !== null && interval !== null) {
          primary.log.debug(`sd_notify: watchdog ping every ${interval} ms`);
          watchdog = setInterval(() => notifier?.notify({ WATCHDOG: 1 }), interval);
        }
        return;
      }
      if (notifier === null) return;
      if (event === 'ready') notifier.notify({ READY: 1, STATUS: status(primary), MAINPID: process.pid });
      else if (event === 'reloading') notifier.notify({ RELOADING: 1, MONOTONIC_USEC: monotonicUsec(), STATUS: 'reloading' });
      else if (event === 'reloaded' || event === 'reload_failed') notifier.notify({ READY: 1, STATUS: status(primary) });
      else if (event === 'stopping') {
        const successor = primary.upgradedTo();
        // Handed over: this process (still the main one, so systemd takes it under NotifyAccess=main) names the new one; the service goes on.
        if (successor !== null) notifier.notify({ MAINPID: successor, STATUS: `upgraded: the new primary (pid ${successor}) serves` });
        else notifier.notify({ STOPPING: 1, STATUS: 'stopping' });
      }
      else if (event === 'exiting') clearInterval(watchdog);
    },
  };
}

/** `reload: true`: a change in the app's folder, the config or reload_extra_files reloads. */
function watcher(): Integration {
  let watching: Watcher | null = null;
  return {
    on(event, primary) {
      if (event !== 'ready' && event !== 'reloaded' && event !== 'stopping') return;
      watching?.close();
      watching = null;
      const { settings: s, file, root } = primary.config;
      if (event === 'stopping' || !s.reload) return;
      const paths = [...s.reload_extra_files];
      if (file) paths.push(file);
      const app = s.app === null ? null : locateModule(splitAppSpec(s.app).module, root);
      if (app !== null && !app.split(sep).includes('node_modules')) paths.push(dirname(app));
      const own = new Set([s.errorlog, s.accesslog, s.pidfile].filter((f): f is string => f !== null && f !== '-'));
      // The core logs the file as it is given; any file can appear in a watched folder, so it comes printable.
      watching = watchForChanges(paths, own, (changed) => primary.changed(printablePath(changed)), primary.log);
    },
  };
}

/** Readiness probes (answered in the workers): 503 from the start of `drain_delay` on. */
function probes(): Integration {
  return {
    on(event, primary) {
      if (event === 'draining') primary.broadcast({ t: 'unready' });
    },
  };
}

/** Every integration, in the order they hear an event (the pidfile first: its failure aborts the start). */
export function integrations(): Integration[] {
  return [pidfile(), reaper(), systemd(), watcher(), probes(), control()];
}
