/**
 * The stack a blocked worker is stuck in. A worker whose event loop is blocked can say
 * nothing, so a thread beside it watches a counter the main thread moves on every turn of
 * its timer; when the counter stops for `lateMs`, the thread pauses the main thread through
 * the inspector (which interrupts running JavaScript, a busy loop included), records the
 * JavaScript stack to `stackFile`, and lets it run on. The primary, about to kill the worker
 * at `timeout`, reads that file. When the main thread moves again, the file is removed: a
 * stack from a stall it recovered from must not be taken for the next one's.
 *
 * The thread starts once the worker serves (not on the boot path), holds no event loop open
 * (unref), and the main thread's side costs one timer.
 */
import { createRequire } from 'node:module';
import type { Worker } from 'node:worker_threads';

// Loaded when the watchdog starts, once the worker serves: not on its boot path (~4 ms).
const require = createRequire(import.meta.url);

/** The thread's code, evaluated as CommonJS: it needs no file of its own in dist/. */
const THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
const { Session } = require('node:inspector');
const { unlinkSync, writeFileSync } = require('node:fs');
const { counter, stackFile, lateMs, everyMs } = workerData;
const beats = new Int32Array(counter);
let last = Atomics.load(beats, 0);
let since = Date.now();
let captured = false;
const session = new Session();
session.connectToMainThread();
// A paused frame names its script by id; enabling the debugger announces every script with its URL.
const scripts = new Map();
session.on('Debugger.scriptParsed', ({ params }) => scripts.set(params.scriptId, params.url));
const where = (f) => (f.url || scripts.get(f.location.scriptId) || 'unknown').replace(/^file:\\/\\//, '') + ':' + (f.location.lineNumber + 1) + ':' + (f.location.columnNumber + 1);
function capture() {
  session.post('Debugger.enable', (error) => {
    if (error) return;
    session.once('Debugger.paused', ({ params }) => {
      const lines = params.callFrames.map((f) => '    at ' + (f.functionName || '<anonymous>') + ' (' + where(f) + ')');
      session.post('Debugger.resume', () => session.post('Debugger.disable', () => scripts.clear()));
      try { writeFileSync(stackFile, lines.join('\\n'), { mode: 0o600 }); } catch {}
    });
    session.post('Debugger.pause');
  });
}
const timer = setInterval(() => {
  const now = Atomics.load(beats, 0);
  if (now !== last) {
    last = now;
    since = Date.now();
    if (captured) {
      captured = false;
      try { unlinkSync(stackFile); } catch {}
    }
    return;
  }
  if (!captured && Date.now() - since >= lateMs) {
    captured = true;
    capture();
  }
}, everyMs);
// Asked to stop: the session disconnects first (a thread ended with it connected says
// "Waiting for the debugger to disconnect..."), then nothing is left to keep the thread alive.
parentPort.once('message', () => {
  clearInterval(timer);
  session.disconnect();
  parentPort.close();
});
`;

/**
 * Starts watching this thread; `lateMs`: how long a still counter means stuck. Not under a
 * debugger (`--inspect`): its own session would pause what the developer is stepping
 * through, and Node would wait for that session to disconnect before the worker exits.
 */
export function startWatchdog(stackFile: string, lateMs: number): void {
  if ((require('node:inspector') as typeof import('node:inspector')).url() !== undefined) return;
  if (running !== null) return;
  const everyMs = Math.max(10, Math.floor(lateMs / 4));
  const counter = new SharedArrayBuffer(4);
  const beats = new Int32Array(counter);
  setInterval(() => Atomics.add(beats, 0, 1), everyMs).unref();
  const { Worker } = require('node:worker_threads') as typeof import('node:worker_threads');
  const thread = new Worker(THREAD, { eval: true, workerData: { counter, stackFile, lateMs, everyMs } });
  // A thread that cannot start costs the stack, not the worker.
  thread.on('error', () => {});
  thread.unref();
  running = thread;
}

let running: Worker | null = null;

/**
 * Ends the watchdog, as a stop begins: the thread disconnects its session and ends on its
 * own. Resolves once it has (or after `ms`): an exit that came first would end the thread
 * with its session connected, and Node would say "Waiting for the debugger to disconnect...".
 */
export function stopWatchdog(ms = 200): Promise<void> {
  const thread = running;
  running = null;
  if (thread === null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    thread.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    thread.postMessage('stop');
  });
}