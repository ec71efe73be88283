/**
 * `hostd check`'s app load, in a process of its own (started by app-check.ts, in a process
 * group of its own): it waits for what to load, loads it as a worker does (worker/app.ts)
 * and answers what it found. Its parent then kills its process group: whatever the app
 * started while loading (timers, servers, child processes) ends with it. If the parent
 * goes away first, this process kills its group itself.
 */
import { createServer, type IncomingMessage } from 'node:http';
import { moduleAsWritten, splitAppSpec } from '../config/app-spec.ts';
import { preloadLoader } from '../config/load.ts';
import { describeThrown } from '../config/user-error.ts';
import { HostdError } from '../errors.ts';
import { attachHost } from '../host.ts';
import { loadApp } from '../runtime/worker/app.ts';

/** What the parent sends: the app, where it is resolved from, and the config's `env`. */
export interface AppCheckRequest {
  readonly spec: string;
  readonly root: string;
  readonly env: Readonly<Record<string, string>>;
}

export type AppCheckAnswer = { readonly ok: true; readonly kind: string } | { readonly ok: false; readonly code: string; readonly message: string };

process.title = 'hostd check: app';
if (!process.connected) {
  process.stderr.write('hostd: this loads an app for `hostd check`; run `hostd check`\n');
  process.exit(2);
}
process.once('disconnect', () => {
  // The group this process leads (its parent started it detached), and only that group.
  try {
    process.kill(-process.pid, 'SIGKILL');
  } catch {
    process.exit(1);
  }
});
// The parent is still evaluating the config: the TypeScript loader loads meanwhile.
setImmediate(preloadLoader);
process.once('message', (request: AppCheckRequest) => {
  // A worker runs with the config's `env` set; an app may read it at import.
  Object.assign(process.env, request.env);
  const answer = (result: AppCheckAnswer) => process.connected && process.send!(result);
  // Something the app started while loading threw later (a timer, an event): in a worker that ends the process.
  process.on('uncaughtException', (error) => {
    const module = moduleAsWritten(splitAppSpec(request.spec).module, request.root);
    answer({ ok: false, code: 'HOSTD_ERR_APP_LOAD', message: `loading ${module} led to an uncaught ${describeThrown(error)}` });
  });
  // A factory gets what a worker's does: a server (never listening here; a factory must not listen) and worker 1.
  const context = { server: createServer(), worker: { id: 1, pid: process.pid, age: 1, generation: 1, booted_at: null } };
  // And `host` as in a worker, so that an app subscribing to its events (draining, shutdown) loads; a check never fires them.
  // A check serves no request, so nothing asks host.client(); it answers as for a direct peer if something does.
  const direct = (req: IncomingMessage | Request) => ({ address: req instanceof Request ? null : (req.socket.remoteAddress ?? null), port: req instanceof Request ? null : (req.socket.remotePort ?? null), proto: 'http' as const, verified: null });
  attachHost({ worker: Object.freeze({ id: 1, pid: process.pid, age: 1, generation: 1 }), allowAppControl: () => false, control: () => {}, requestObservers: () => {}, client: direct });
  loadApp(request.spec, request.root, context).then(
    ({ kind }) => {
      // Node writes its compile cache at a normal exit, and this process is killed once it answered:
      // written now, or `hostd check --warm` would leave the app's compiled code out of an image.
      (process.getBuiltinModule('node:module') as { flushCompileCache?: () => void }).flushCompileCache?.();
      answer({ ok: true, kind });
    },
    (error: unknown) =>
      answer(error instanceof HostdError ? { ok: false, code: error.code, message: error.message } : { ok: false, code: 'HOSTD_ERR_INTERNAL', message: String(error) }),
  );
});
