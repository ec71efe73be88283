import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { native } from '../../src/runtime/native.ts';
import { hostd as hostdCommand } from '../helpers/cli.ts';
import { project } from '../helpers/project.ts';
import { startHostd, waitUntil } from '../helpers/run.ts';

const helper = native();

/**
 * A Unix datagram socket standing in for systemd's notify socket, bound with hostd's native
 * helper (Node cannot bind one); collects what it receives, polled every 10 ms.
 */
function notifySocket(abstract = false): { address: string; messages: string[] } {
  if (helper === null) throw new Error("hostd's native helper is not built (dist/native/hostd.node): no C compiler or Node headers?");
  const name = `hostd-notify-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const address = abstract ? `@${name}` : join(tmpdir(), `${name}.sock`);
  const fd = helper.bindDatagram(address);
  const messages: string[] = [];
  const timer = setInterval(() => {
    for (let message = helper.receiveDatagram(fd); message !== null; message = helper.receiveDatagram(fd)) messages.push(message);
  }, 10);
  closers.push(() => {
    clearInterval(timer);
    helper.closeFd(fd);
  });
  return { address, messages };
}
const closers: (() => void)[] = [];
afterEach(() => {
  for (const close of closers.splice(0)) close();
});

/** The app reports what a worker's environment holds of systemd's variables. */
const APP = `export default (req, res) => res.end(JSON.stringify({
  NOTIFY_SOCKET: process.env.NOTIFY_SOCKET ?? null, LISTEN_FDS: process.env.LISTEN_FDS ?? null,
  LISTEN_PID: process.env.LISTEN_PID ?? null, WATCHDOG_USEC: process.env.WATCHDOG_USEC ?? null }));
`;

const CONFIG = "import systemd from 'hostd/presets/systemd';\nexport default { extends: [systemd()], app: './app.mjs', bind: '127.0.0.1:0' };\n";

const index = (messages: string[], pattern: RegExp) => messages.findIndex((m) => pattern.test(m));

describe('hostd/presets/systemd: sd_notify', () => {
  it.each([false, true])('tells systemd READY, RELOADING, STOPPING and pings the watchdog (abstract socket: %s)', async (abstract) => {
    const notify = notifySocket(abstract);
    const dir = project({ 'app.mjs': APP, 'hostd.config.ts': CONFIG });
    const hostd = startHostd(dir, [], { env: { NOTIFY_SOCKET: notify.address, WATCHDOG_USEC: '400000' } });
    const url = await hostd.ready();
    await waitUntil(() => index(notify.messages, /^READY=1\nSTATUS=serving http:\/\/127\.0\.0\.1:\d+ with 1 worker\nMAINPID=\d+$/) >= 0, `READY=1 in ${JSON.stringify(notify.messages)}`);
    expect(notify.messages.find((m) => m.startsWith('READY=1'))).toContain(`MAINPID=${hostd.pid}`);
    await waitUntil(() => notify.messages.filter((m) => m === 'WATCHDOG=1').length >= 3, 'three watchdog pings (every 200 ms)');

    // Workers never see systemd's variables.
    expect(JSON.parse(await (await fetch(`${url}/`)).text())).toEqual({ NOTIFY_SOCKET: null, LISTEN_FDS: null, LISTEN_PID: null, WATCHDOG_USEC: null });

    hostd.signal('SIGHUP');
    await waitUntil(() => notify.messages.filter((m) => m.startsWith('READY=1')).length === 2, 'READY=1 after the reload', 15_000);
    const reloading = index(notify.messages, /^RELOADING=1\nMONOTONIC_USEC=\d+\nSTATUS=reloading$/);
    expect(reloading).toBeGreaterThan(index(notify.messages, /^READY=1/));
    expect(notify.messages.findLastIndex((m) => m.startsWith('READY=1'))).toBeGreaterThan(reloading);
    const usec = Number(/MONOTONIC_USEC=(\d+)/.exec(notify.messages[reloading]!)![1]);
    expect(Math.abs(usec - Number(process.hrtime.bigint() / 1000n))).toBeLessThan(60_000_000);

    expect((await hostd.stop()).code).toBe(0);
    expect(notify.messages).toContain('STOPPING=1\nSTATUS=stopping');
  });

  it('sends nothing and says why when NOTIFY_SOCKET is not set', async () => {
    const dir = project({ 'app.mjs': APP, 'hostd.config.ts': CONFIG });
    const hostd = startHostd(dir, ['--loglevel', 'debug']);
    await hostd.ready();
    expect(hostd.output).toMatch(/sd_notify: NOTIFY_SOCKET is not set/);
  });
});

describe('hostd/presets/systemd: socket activation', () => {
  it('listens on the socket systemd passes (LISTEN_FDS), and keeps LISTEN_* from the workers', async () => {
    // The parent holds the listening socket, as systemd does, and passes it as fd 3.
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const fd = (server as unknown as { _handle: { fd: number } })._handle.fd;
    const dir = project({ 'app.mjs': APP, 'hostd.config.ts': CONFIG.replace(", bind: '127.0.0.1:0'", '') });
    // LISTEN_PID must be hostd's own pid: set it in a shell that then execs hostd (same pid), as systemd does after fork.
    const hostd = startHostd(dir, [], { fds: [fd], prefix: ['sh', '-c', 'LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" "$@"'] });
    await hostd.ready();
    server.close();
    expect(hostd.output).toContain(`Listening at: http://127.0.0.1:${port}`);
    const body = JSON.parse(await (await fetch(`http://127.0.0.1:${port}/`)).text());
    expect(body).toMatchObject({ LISTEN_FDS: null, LISTEN_PID: null });
    // A new primary would not find systemd's sockets (LISTEN_PID names this one): an upgrade is refused, saying what to do.
    const upgrade = await hostdCommand(['upgrade'], { cwd: dir });
    expect(upgrade.code).toBe(1);
    expect(upgrade.stderr).toContain('systemd started hostd by socket activation: restart the service instead');
    expect(JSON.parse(await (await fetch(`http://127.0.0.1:${port}/`)).text())).toMatchObject({ LISTEN_FDS: null });
    expect((await hostd.stop()).code).toBe(0);
  });
});
