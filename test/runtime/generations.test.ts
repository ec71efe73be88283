/**
 * Generations are snapshots: every worker of a generation, crash replacements included,
 * runs the settings and the hook code the primary resolved for it, whatever is on disk
 * now. Only a reload starts a new generation.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NATIVE_TYPESCRIPT } from '../../src/config/native.ts';
import { project } from '../helpers/project.ts';
import { count, type Hostd, hooksLog, RECORD_MODULE, records, startHostd, waitForRecord, waitUntil, workerPids } from '../helpers/run.ts';

const app = (body: string) => `export default (req, res) => res.end('${body}');\n`;

/** A config whose post_fork records a marker from a local module, serving `appFile`. */
const config = (appFile: string) => `import { defineConfig } from 'hostd';
import { rec } from './record.ts';
import { MARKER } from './marker.ts';
export default defineConfig({
  app: '${appFile}',
  bind: '127.0.0.1:0',
  workers: 1,
  post_fork: ({ worker }) => rec(\`post_fork \${worker.id} gen=\${worker.generation} marker=\${MARKER}\`),
});
`;

function generationProject(): string {
  return project({
    'record.ts': RECORD_MODULE,
    'app.mjs': app('A'),
    'appB.mjs': app('B'),
    'marker.ts': "export const MARKER: string = 'v1';\n",
    'hostd.config.ts': config('./app.mjs'),
  });
}

async function body(url: string): Promise<string> {
  return (await fetch(url)).text();
}

/** Kills the only worker with SIGKILL and waits until its replacement serves. */
async function killWorker(hostd: Hostd, dir: string, url: string, forks: number): Promise<void> {
  const [pid] = workerPids(hostd.pid);
  process.kill(pid!, 'SIGKILL');
  await waitUntil(() => records(hooksLog(dir)).filter((l) => l.startsWith('post_fork')).length === forks, `post_fork number ${forks}`);
  await waitUntil(async () => (await fetch(url).catch(() => null))?.status === 200, 'the replacement to serve');
}

describe('generations are snapshots', () => {
  it("a crash replacement runs its generation's settings and hook code, not the files as they are on disk now", async () => {
    const dir = generationProject();
    const log = hooksLog(dir);
    const hostd = startHostd(dir);
    const url = await hostd.ready();
    expect(await body(url)).toBe('A');

    // A deploy that updates files in place before its HUP: the config and a module it imports.
    writeFileSync(join(dir, 'hostd.config.ts'), config('./appB.mjs'));
    writeFileSync(join(dir, 'marker.ts'), "export const MARKER: string = 'v2';\n");
    await killWorker(hostd, dir, url, 2);
    expect(await body(url)).toBe('A');
    expect(records(log).filter((l) => l.startsWith('post_fork'))).toEqual(['post_fork 1 gen=1 marker=v1', 'post_fork 1 gen=1 marker=v1']);

    // The HUP starts a generation from what is on disk now.
    hostd.signal('SIGHUP');
    await hostd.waitForOutput(/reloaded: generation 2 is serving/);
    // A keep-alive connection to the old worker may still answer once while it drains.
    await waitUntil(async () => (await body(url)) === 'B', 'the new generation to answer');
    expect(records(log)).toContain('post_fork 1 gen=2 marker=v2');
  });

  it('an invalid config on disk does not keep a crashed slot down; a HUP with it changes nothing', async () => {
    const dir = generationProject();
    const hostd = startHostd(dir);
    const url = await hostd.ready();
    // A half-saved edit: a syntax error in the config, and a module it imports gone.
    writeFileSync(join(dir, 'hostd.config.ts'), `${config('./app.mjs')}\nexport const broken = (;\n`);
    writeFileSync(join(dir, 'marker.ts'), 'export const MARKER: string = ');
    await killWorker(hostd, dir, url, 2);
    expect(await body(url)).toBe('A');
    expect(hostd.output).not.toMatch(/failed to boot/);

    hostd.signal('SIGHUP');
    await hostd.waitForOutput(/reload: the config is invalid; nothing changed/);
    await killWorker(hostd, dir, url, 3);
    expect(await body(url)).toBe('A');
    expect((await hostd.stop()).code).toBe(0);
  });
});

describe("an import a generation's code makes after the primary released it (a timer it left behind)", () => {
  it('is resolved as its generation resolved it: a module the generation loaded is its instance, one it never loaded is read from disk then', async () => {
    const dir = generationProject();
    writeFileSync(join(dir, 'lazy.ts'), "export const LAZY: string = 'lazy';\n");
    writeFileSync(join(dir, 'level.ts'), 'export enum Level { Low = 1, High }\n');
    // Each generation's timer (on_starting's in generation 1, on_reload's in 2 and 3) waits for the gate file, then imports: marker.ts
    // by the name TypeScript allows (`.js`) and its own, a module without its extension and one with an enum, none of which Node's
    // own resolution and loading would find or run from a module Node loaded.
    const late = `{
    const timer = setInterval(async () => {
      if (!existsSync(new URL('./gate', import.meta.url))) return;
      clearInterval(timer);
      const take = (loading: Promise<any>, value: (m: any) => unknown) => loading.then((m) => String(value(m)), (error: Error) => \`\${error.name}: \${error.message.split('\\n')[0]}\`);
      const found = [await take(import('./marker.js'), (m) => m.MARKER), await take(import('./marker.ts'), (m) => m.MARKER), await take(import('./lazy'), (m) => m.LAZY), await take(import('./level.ts'), (m) => m.Level.High)];
      rec(\`late \${MARKER}: \${found.join(' ')}\`);
    }, 20);
    timer.unref();
  }`;
    const hooks = `on_starting: () => ${late}, on_reload: () => ${late},`;
    writeFileSync(join(dir, 'hostd.config.ts'), `import { existsSync } from 'node:fs';\n${config('./app.mjs').replace('workers: 1,', `workers: 1, loglevel: 'debug', ${hooks}`)}`);
    const log = hooksLog(dir);
    const hostd = startHostd(dir);
    await hostd.ready();
    for (const [marker, released] of [['v2', 1], ['v3', 2]] as const) {
      writeFileSync(join(dir, 'marker.ts'), `export const MARKER: string = '${marker}';\n`);
      hostd.signal('SIGHUP');
      await hostd.waitForOutput(new RegExp(`released generation ${released}'s config modules`));
    }
    // Generation 1 took the files' own URLs, generation 2 URLs of its own (native.ts): both are gone from the module hooks; 3 serves.
    writeFileSync(join(dir, 'gate'), '');
    await waitUntil(() => count(records(log), /^late /) === 3, () => `three late imports (have: ${records(log).join(' | ')})`);
    expect(records(log).filter((l) => l.startsWith('late ')).sort()).toEqual(['late v1: v1 v1 lazy 2', 'late v2: v2 v2 lazy 2', 'late v3: v3 v3 lazy 2']);
    expect((await hostd.stop()).code).toBe(0);
  });
});

describe.skipIf(!NATIVE_TYPESCRIPT)("a generation's config modules, loaded by Node (22.18+)", () => {
  it('are released when the primary forgets the generation: reloaded many times, a failed reload among them, it keeps the live one\'s alone', async () => {
    const dir = generationProject();
    // Three local modules: hostd.config.ts, record.ts and marker.ts.
    const debug = () => config('./app.mjs').replace('workers: 1,', "workers: 1, loglevel: 'debug',");
    writeFileSync(join(dir, 'hostd.config.ts'), debug());
    const hostd = startHostd(dir);
    await hostd.ready();
    const released = /released generation (\d+)'s config modules; Node's module hooks know (\d+) URLs/g;
    for (const generation of [2, 3, 4]) {
      if (generation === 3) {
        writeFileSync(join(dir, 'hostd.config.ts'), debug().replace('workers: 1,', 'workers: -1,'));
        hostd.signal('SIGHUP');
        await hostd.waitForOutput(/reload: the config is invalid; nothing changed/);
        writeFileSync(join(dir, 'hostd.config.ts'), debug());
      }
      hostd.signal('SIGHUP');
      await hostd.waitForOutput(new RegExp(`released generation ${generation - 1}'s config modules`));
    }
    expect([...hostd.output.matchAll(released)].map((m) => `${m[1]}: ${m[2]}`)).toEqual(['1: 3', '2: 3', '3: 3']);
    expect((await hostd.stop()).code).toBe(0);
  });

  it.each([
    ['Node', "export const MARKER: string = 'v1';\n"],
    ['jiti', "enum Marker { V1 = 'v1' }\nexport const MARKER: string = Marker.V1;\n"],
  ])('are loaded in each worker by who loaded them in the primary (%s), which the worker does not probe again', async (_, marker) => {
    const dir = generationProject();
    writeFileSync(join(dir, 'marker.ts'), marker);
    writeFileSync(join(dir, 'hostd.config.ts'), config('./app.mjs').replace('workers: 1,', "workers: 2, loglevel: 'debug',"));
    const hostd = startHostd(dir);
    await hostd.ready();
    hostd.signal('SIGHUP');
    await hostd.waitForOutput(/reloaded: generation 2 is serving/);
    const evaluated = [...hostd.output.matchAll(/worker (\d): config evaluated in [\d.]+ ms \((\d+) probes of Node's own loading\)/g)].map((m) => `${m[1]}: ${m[2]}`);
    expect(evaluated.sort()).toEqual(['1: 0', '1: 0', '2: 0', '2: 0']);
    expect(count(records(hooksLog(dir)), /^post_fork \d gen=\d marker=v1$/)).toBe(4);
    expect((await hostd.stop()).code).toBe(0);
  });

  it('are kept while a hook of a forgotten generation still runs: what it imports then is its graph\'s', async () => {
    const dir = generationProject();
    // child_exit of a crash waits for a gate file, then imports `./marker.js`: marker.ts as the graph resolves it, which Node's own resolution would not find.
    const hook = `child_exit: async ({ reason }) => {
    if (reason === 'reload') return;
    rec('child_exit waiting');
    while (!existsSync(new URL('./gate', import.meta.url))) await new Promise((resolve) => setTimeout(resolve, 20));
    rec(\`child_exit imported \${await import('./marker.js').then((m) => m.MARKER, (error) => error.message)}\`);
  },`;
    writeFileSync(join(dir, 'hostd.config.ts'), `import { existsSync } from 'node:fs';\n${config('./app.mjs').replace('workers: 1,', `workers: 1, loglevel: 'debug', ${hook}`)}`);
    const log = hooksLog(dir);
    const hostd = startHostd(dir);
    await hostd.ready();
    process.kill(workerPids(hostd.pid)[0]!, 'SIGKILL');
    await waitForRecord(log, /^child_exit waiting$/);
    hostd.signal('SIGHUP');
    await hostd.waitForOutput(/reloaded: generation 2 is serving/);
    expect(hostd.output).not.toMatch(/released generation 1/);
    writeFileSync(join(dir, 'gate'), '');
    const lines = await waitForRecord(log, /^child_exit imported/);
    expect(lines.filter((l) => l.startsWith('child_exit imported'))).toEqual(['child_exit imported v1']);
    await hostd.waitForOutput(/released generation 1's config modules; Node's module hooks know 3 URLs/);
    expect((await hostd.stop()).code).toBe(0);
  });
});

describe('the stop plan', () => {
  /** Three host.on('shutdown') handlers and one worker_exit, each taking `ms`. */
  function slowStopProject(settings: string, ms: number): string {
    return project({
      'record.ts': RECORD_MODULE,
      'app.mjs': `import { host } from 'hostd';
import { appendFileSync } from 'node:fs';
const rec = (line) => appendFileSync(new URL('./hooks.log', import.meta.url), line + '\\n');
const slow = (name) => async ({ signal }) => {
  await new Promise((resolve) => setTimeout(resolve, ${ms}));
  rec(\`\${name} finished aborted=\${signal.aborted}\`);
};
for (const name of ['one', 'two', 'three']) host.on('shutdown', slow(name));
export default (req, res) => res.end('ok');
`,
      'hostd.config.ts': `import { defineConfig } from 'hostd';
import { recorded, rec } from './record.ts';
export default defineConfig({
  app: './app.mjs',
  bind: '127.0.0.1:0',
  workers: 1,
  ${settings}
  worker_int: async () => { await new Promise((resolve) => setTimeout(resolve, ${ms})); rec('worker_int finished'); },
  worker_exit: async ({ reason, signal }) => { await new Promise((resolve) => setTimeout(resolve, ${ms})); rec(\`worker_exit finished \${reason} aborted=\${signal.aborted}\`); },
  child_exit: recorded.child_exit,
  on_exit: recorded.on_exit,
});
`,
    });
  }

  it('lets every shutdown handler and worker_exit finish within their deadlines, with progress lines while it waits', async () => {
    // Each takes 1.7 s of its 2 s: the whole stop (~7 s) is past graceful_timeout + 2 × hook_timeout + 1 s.
    const dir = slowStopProject('hook_timeout: 2, graceful_timeout: 1,', 1700);
    const hostd = startHostd(dir);
    await hostd.ready();
    expect((await hostd.stop('SIGTERM', 30_000)).code).toBe(0);
    expect(records(hooksLog(dir))).toEqual([
      'one finished aborted=false',
      'two finished aborted=false',
      'three finished aborted=false',
      'worker_exit finished shutdown aborted=false',
      'child_exit 1 shutdown code=0 signal=null',
      'on_exit 0 shutdown',
    ]);
    expect(hostd.output).not.toMatch(/killing it/);
    expect(hostd.output).toMatch(/worker 1 \(pid \d+\) is stopping \(shutdown\): running (host\.on\('shutdown'\) handler #\d|hook worker_exit .*), [\d.]+ s left of its deadline; killed in [\d.]+ s if still running/);
  });

  it('does the same in a fast stop: worker_int, handlers and worker_exit each within the fast deadline', async () => {
    // Each takes 1.5 s of its 3 s: the whole stop (~7.5 s) is past the old fixed 7 s kill.
    const dir = slowStopProject('hook_timeout: 10,', 1500);
    const hostd = startHostd(dir);
    await hostd.ready();
    expect((await hostd.stop('SIGINT', 30_000)).code).toBe(0);
    expect(records(hooksLog(dir))).toEqual([
      'worker_int finished',
      'one finished aborted=false',
      'two finished aborted=false',
      'three finished aborted=false',
      'worker_exit finished shutdown aborted=false',
      'child_exit 1 shutdown code=0 signal=null',
      'on_exit 0 shutdown',
    ]);
    expect(hostd.output).not.toMatch(/killing it/);
  });
});

describe('boot_timeout', () => {
  const hanging = (settings: string) =>
    project({
      'record.ts': RECORD_MODULE,
      'app.mjs': "import { appendFileSync } from 'node:fs';\nexport default () => { appendFileSync(new URL('./hooks.log', import.meta.url), 'factory called\\n'); return new Promise(() => {}); };\n",
      'hostd.config.ts': `import { defineConfig } from 'hostd';\nimport { recorded } from './record.ts';\nexport default defineConfig({ app: './app.mjs', bind: '127.0.0.1:0', workers: 1, on_exit: recorded.on_exit, ${settings} });\n`,
    });

  it('kills a worker that never becomes ready, names what it was doing, and gives exit 3', async () => {
    const dir = hanging('boot_timeout: 1,');
    const hostd = startHostd(dir);
    expect((await hostd.exited).code).toBe(3);
    expect(hostd.output).toMatch(/worker 1 \(pid \d+\) was not ready within boot_timeout \(1 s\) while loading the app \(\S+app\.mjs\); killing it/);
    expect(hostd.output).toMatch(/workers cannot boot; the last cause: not ready within boot_timeout \(1 s\); it was loading the app/);
    expect(records(hooksLog(dir)).at(-1)).toBe('on_exit 3 boot_error');
  });

  it('does not make SIGTERM wait for a boot that never ends', async () => {
    const dir = hanging('');
    const hostd = startHostd(dir);
    await waitForRecord(hooksLog(dir), /^factory called$/);
    // Before, the primary waited out its kill timer (graceful_timeout + 2 × hook_timeout + 1 s).
    expect((await hostd.stop('SIGTERM', 5000)).code).toBe(0);
    expect(hostd.output).toMatch(/worker 1 stopping \(shutdown, while booting\)/);
    expect(records(hooksLog(dir)).at(-1)).toBe('on_exit 0 shutdown');
  });
});
