/**
 * Holding hostd at one point of its lifecycle to look at it from outside, and timing the
 * calls of a stop. `GATE_MODULE` is a module for test projects (`gate.mjs`, importable from
 * the config and from the app) that writes to the same `hooks.log` as RECORD_MODULE:
 *
 * - `await gate(name)` records `NAME waiting`, waits (bounded) until the test calls
 *   `release(dir, name)`, and records `NAME released`: a hook or handler that gates holds
 *   its process there while the test probes it.
 * - `hang(name)` is a hook or handler that never settles and records
 *   `NAME start <ms> aborted=<bool> pid=<pid>` and, when its signal aborts, `NAME aborted <ms>`: how
 *   long hostd gave it is in the record.
 */
import { writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';

export const GATE_MODULE = `import { appendFileSync, existsSync } from 'node:fs';

export const rec = (line) => appendFileSync(new URL('./hooks.log', import.meta.url), line + '\\n');

export async function gate(name) {
  rec(name + ' waiting');
  const file = new URL('./release-' + name, import.meta.url);
  const until = Date.now() + 20_000;
  while (!existsSync(file) && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 10));
  rec(name + (existsSync(file) ? ' released' : ' gave up'));
}

export const hang = (name) => ({ signal }) => {
  rec(name + ' start ' + Date.now() + ' aborted=' + signal.aborted + ' pid=' + process.pid);
  signal.addEventListener('abort', () => rec(name + ' aborted ' + Date.now()));
  return new Promise(() => {});
};

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
`;

/** Lets `gate(name)` in the project at `dir` go on. */
export function release(dir: string, name: string): void {
  writeFileSync(join(dir, `release-${name}`), '');
}

/**
 * GET `path` on a connection of its own (no keep-alive, so the primary hands over a new
 * connection each time): the body, or `error CODE` if the connection failed or took longer
 * than `timeoutMs`.
 */
export function probe(url: string, path = '/pid', timeoutMs = 5000): Promise<string> {
  return new Promise((resolve) => {
    const req = get(`${url}${path}`, { agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve(body));
      res.on('error', (error: NodeJS.ErrnoException) => resolve(`error ${error.code ?? error.message}`));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    req.on('error', (error: NodeJS.ErrnoException) => resolve(`error ${error.code ?? error.message}`));
  });
}

/** The number in the first record matching `pattern` (its first group): a time in ms, from GATE_MODULE's records. */
export function at(lines: readonly string[], pattern: RegExp): number {
  for (const line of lines) {
    const match = pattern.exec(line);
    if (match) return Number(match[1]);
  }
  throw new Error(`no record matching ${pattern} in:\n${lines.join('\n')}`);
}
