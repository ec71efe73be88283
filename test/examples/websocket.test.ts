/**
 * examples/websocket with a real `ws` client: echo, broadcast to the worker's clients, and a
 * reload that closes the sockets with 1001 so the client reconnects to the new generation.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { REPO } from '../helpers/project.ts';
import { connectWs, type WsClient } from '../helpers/ws.ts';
import { type Hostd, startHostd, waitUntil } from '../helpers/run.ts';

const EXAMPLE = join(REPO, 'examples', 'websocket');


describe('examples/websocket', () => {
  let run: Hostd | undefined;
  const clients: WsClient[] = [];
  afterEach(async () => {
    for (const client of clients.splice(0)) client.socket.terminate();
    await run?.stop();
    run = undefined;
  });

  it('echoes, broadcasts to the clients of its worker, and sends them to the new generation on a reload', async () => {
    // One worker, so that both clients share it (a broadcast stays within a worker).
    run = startHostd(EXAMPLE, ['-b', '127.0.0.1:0', '-w', '1']);
    const url = await run.ready(30_000);
    const [a, b] = [await connectWs(url), await connectWs(url)];
    clients.push(a, b);
    expect(a.messages[0]).toBe('hello from worker 1, generation 1');

    a.socket.send('hi');
    await waitUntil(() => a.messages.includes('echo: hi'), 'the echo');
    expect(b.messages).not.toContain('echo: hi');
    b.socket.send('/all anyone there?');
    await waitUntil(() => a.messages.includes('all: anyone there?') && b.messages.includes('all: anyone there?'), 'the broadcast at both clients');
    expect(run.output).toMatch(/"GET \/ HTTP\/1\.1" 101 /);

    run.signal('SIGHUP');
    expect(await a.closed).toEqual({ code: 1001, reason: 'going away (reload)' });
    expect(await b.closed).toEqual({ code: 1001, reason: 'going away (reload)' });
    const again = await connectWs(url);
    clients.push(again);
    expect(again.messages[0]).toBe('hello from worker 1, generation 2');
    again.socket.send('back');
    await waitUntil(() => again.messages.includes('echo: back'), 'the echo after the reload');

    // A stop with a socket open ends at once: the app closes it on draining (graceful_timeout is 30 s).
    const started = Date.now();
    expect((await run.stop()).code).toBe(0);
    expect((await again.closed).code).toBe(1001);
    expect(Date.now() - started).toBeLessThan(20_000);
    run = undefined;
  });
});
