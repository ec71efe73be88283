/**
 * `backlog`: connections accepted while no worker can take them wait in the primary, up to
 * `backlog` of them; the primary closes the rest at once rather than hold them unanswered.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { project } from '../helpers/project.ts';
import { type Hostd, startHostd, waitUntil } from '../helpers/run.ts';

/** A worker that is not ready until the test creates `go`. */
const APP = `import { existsSync } from 'node:fs';
export default async () => {
  while (!existsSync(new URL('./go', import.meta.url))) await new Promise((resolve) => setTimeout(resolve, 20));
  return (req, res) => res.end('hello');
};
`;

/** Sends a request on a new connection; resolves with the body, or 'closed' if the connection ended without an answer. */
function request(port: number): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    const socket = connect(port, '127.0.0.1', () => socket.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('error', () => {});
    socket.on('close', () => resolve(/\r\n\r\n(.*)$/s.exec(text)?.[1] ?? 'closed'));
  });
}

describe('backlog', () => {
  let run: Hostd | undefined;
  afterEach(async () => {
    await run?.stop();
    run = undefined;
  });

  it('holds that many connections for a worker that is not ready yet, and closes the rest at once', async () => {
    const dir = project({ 'app.mjs': APP, 'hostd.config.ts': "export default { app: './app.mjs', bind: '127.0.0.1:0', workers: 1, backlog: 2 };\n" });
    run = startHostd(dir);
    const port = Number(new URL(await run.url()).port);
    const outcomes: string[] = [];
    const requests = Array.from({ length: 5 }, () => request(port).then((outcome) => outcomes.push(outcome)));
    // The three past the backlog end without waiting for the worker.
    await waitUntil(() => outcomes.length === 3, 'three connections closed by the primary');
    expect(outcomes).toEqual(['closed', 'closed', 'closed']);
    expect(existsSync(join(dir, 'go'))).toBe(false);
    writeFileSync(join(dir, 'go'), '');
    await Promise.all(requests);
    expect(outcomes.slice(3)).toEqual(['hello', 'hello']);
  });
});
