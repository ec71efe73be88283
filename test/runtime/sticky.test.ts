/**
 * `sticky_sessions`: the primary sends every connection from one client address to one
 * worker slot. Clients are told apart by the loopback address they connect from
 * (127.0.0.2, 127.0.0.3, ...: all of 127/8 is this host).
 */
import { get } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { addressHash } from '../../src/runtime/primary/dispatcher.ts';
import { appProject, recordingConfig } from '../helpers/apps.ts';
import { type Hostd, hooksLog, records, startHostd, waitUntil } from '../helpers/run.ts';

/** The pid of the worker that answers a connection of its own from `localAddress`. */
function pidFrom(url: string, localAddress: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = get(`${url}/pid`, { agent: false, localAddress, timeout: 10_000 }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk));
      res.on('end', () => resolve(Number(body)));
    });
    request.on('timeout', () => request.destroy(new Error(`no answer within 10 s from ${localAddress}`)));
    request.on('error', reject);
  });
}

const CLIENTS = Array.from({ length: 24 }, (_, i) => `127.0.0.${i + 2}`);

/** Which worker each client reaches, asked three times each on new connections; throws if a client reached two. */
async function workerOfEachClient(url: string): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  for (let round = 0; round < 3; round++) {
    for (const client of CLIENTS) {
      const pid = await pidFrom(url, client);
      const before = seen.get(client);
      if (before !== undefined && before !== pid) throw new Error(`${client} reached worker ${before}, then worker ${pid}`);
      seen.set(client, pid);
    }
  }
  return seen;
}

describe('sticky_sessions', () => {
  let run: Hostd | undefined;
  afterEach(async () => {
    await run?.stop();
    run = undefined;
  });

  it('sends each client address to one worker, and to the same slot after that worker is replaced', async () => {
    const dir = appProject(recordingConfig('workers: 3, sticky_sessions: true,'));
    run = startHostd(dir);
    const url = await run.ready();
    const before = await workerOfEachClient(url);
    // The addresses are shared out: more than one worker has some.
    expect(new Set(before.values()).size).toBeGreaterThan(1);

    const [victim] = [...before.values()];
    process.kill(victim!, 'SIGKILL');
    await waitUntil(() => records(hooksLog(dir)).filter((l) => l.startsWith('post_worker_init')).length === 4, 'the replacement to be ready');
    const after = await waitUntil(async () => {
      const map = await workerOfEachClient(url).catch(() => null);
      // Until the replacement takes its connections, its addresses go to the others.
      return map !== null && ![...map.values()].includes(victim!) && new Set(map.values()).size === new Set(before.values()).size ? map : null;
    }, 'every client to reach a worker again, the replacement included');

    const replacements = new Set<number>();
    for (const client of CLIENTS) {
      if (before.get(client) === victim) replacements.add(after.get(client)!);
      else expect(after.get(client), `${client} stays with its worker`).toBe(before.get(client));
    }
    // The victim's addresses all went to one worker, which no other address had: its replacement.
    expect(replacements.size).toBe(1);
    expect([...before.values()]).not.toContain([...replacements][0]);
  });

  it('is off by default: one client address reaches every worker in turn', async () => {
    const dir = appProject(recordingConfig('workers: 2,'));
    run = startHostd(dir);
    const url = await run.ready();
    const pids = new Set<number>();
    for (let i = 0; i < 6; i++) pids.add(await pidFrom(url, '127.0.0.2'));
    expect(pids.size).toBe(2);
  });
});

describe('addressHash', () => {
  it('reads an IPv4 client of a dual-stack listener as its IPv4 address, and spreads addresses', () => {
    expect(addressHash('::ffff:10.1.2.3')).toBe(addressHash('10.1.2.3'));
    const slots = new Set(CLIENTS.map((client) => addressHash(client) % 3));
    expect(slots.size).toBe(3);
  });
});
