/**
 * Release folders behind a symlink (`chdir`, docs/deploy/releases.md): `current` switched to
 * another release, then a reload, serves the new release's app, config and packages, from
 * workers that run in it; the control commands run in `current` still reach the primary; a
 * reload that cannot enter the folder fails and the old generation keeps serving.
 */
import { mkdirSync, realpathSync, renameSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { hostd } from '../helpers/cli.ts';
import { workerPids } from '../helpers/proc.ts';
import { REPO, tempDir } from '../helpers/project.ts';
import { type Hostd, startHostd, waitUntil } from '../helpers/run.ts';

/**
 * A deploy folder as Capistrano leaves it: releases/1..n, each with its own app, config
 * (release N runs N workers) and a package of its own (`greeting`), and `current` → releases/1.
 */
function deployFolder(count: number): string {
  const base = tempDir('hostd-releases-');
  for (let n = 1; n <= count; n++) {
    const release = join(base, 'releases', String(n));
    mkdirSync(join(release, 'node_modules', 'greeting'), { recursive: true });
    symlinkSync(REPO, join(release, 'node_modules', 'hostd'), 'dir');
    const files: Record<string, string> = {
      'package.json': JSON.stringify({ name: `app-release-${n}`, private: true, type: 'module' }),
      'node_modules/greeting/package.json': JSON.stringify({ name: 'greeting', type: 'module', main: 'index.js' }),
      'node_modules/greeting/index.js': `export default 'greeting ${n}';\n`,
      'app.mjs': `import greeting from 'greeting';\nexport default (req, res) => res.end('release ${n}, ' + greeting + ', in ' + process.cwd());\n`,
      'hostd.config.ts': `export default { app: './app.mjs', bind: '127.0.0.1:0', workers: ${n} };\n`,
    };
    for (const [path, text] of Object.entries(files)) writeFileSync(join(release, path), text);
  }
  symlinkSync(join('releases', '1'), join(base, 'current'));
  return base;
}

/** Points `current` at release `n` in one step, as `ln -s releases/N current.next && mv -T current.next current` does. */
function switchTo(base: string, n: number): void {
  symlinkSync(join('releases', String(n)), join(base, 'current.next'));
  renameSync(join(base, 'current.next'), join(base, 'current'));
}

/** Switches `current` to release `n`, sends HUP, and waits until generation `generation` serves. */
async function switchAndReload(run: Hostd, base: string, n: number, generation: number): Promise<void> {
  switchTo(base, n);
  run.signal('SIGHUP');
  await run.waitForOutput(new RegExp(`reloaded: generation ${generation} is serving`));
}

/** Switches `current` to release `n`, sends HUP, and waits for the reload's failure. */
async function switchAndFail(base: string, n: number, run: Hostd, failure: RegExp): Promise<void> {
  switchTo(base, n);
  run.signal('SIGHUP');
  await run.waitForOutput(failure);
}

/** What the app answers on a connection of its own. */
function fetchText(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    get(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

const answer = (base: string, n: number) => `release ${n}, greeting ${n}, in ${realpathSync(join(base, 'releases', String(n)))}`;

/** `hostd status --json` run in `current`, from a shell that named it so (`$PWD`). */
async function statusFromCurrent(base: string): Promise<{ pid: number; generation: number; config_file: string; workers_target: number }> {
  const current = join(base, 'current');
  const result = await hostd(['status', '--json'], { cwd: current, env: { PWD: current } });
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as { pid: number; generation: number; config_file: string; workers_target: number };
}

describe('chdir: release folders behind a symlink', () => {
  /** New primaries of upgrades: in the test's process group, which afterEach ends with the old one; one may outlive it. */
  const successors: number[] = [];
  afterEach(() => {
    for (const pid of successors.splice(0)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
  });

  it('follows current to each new release at a reload; the commands run in current reach the primary; a folder gone fails the reload only', async () => {
    const base = deployFolder(4);
    const current = join(base, 'current');
    // Started from elsewhere, as a unit file's ExecStart would: --chdir names the folder.
    const run = startHostd(base, ['--chdir', current]);
    const url = await run.ready();
    expect(await fetchText(url)).toBe(answer(base, 1));

    await switchAndReload(run, base, 2, 2);
    // Release 2's app, its own package, in its folder, with its config (2 workers).
    expect(await fetchText(url)).toBe(answer(base, 2));
    expect(await statusFromCurrent(base)).toMatchObject({ pid: run.pid, generation: 2, config_file: join(current, 'hostd.config.ts'), workers_target: 2 });

    switchTo(base, 3);
    const reloaded = await hostd(['reload'], { cwd: current, env: { PWD: current } });
    expect(reloaded.code, reloaded.stderr).toBe(0);
    expect(await fetchText(url)).toBe(answer(base, 3));

    // A release whose config is invalid: the reload fails, and the primary stays in release 3's folder.
    writeFileSync(join(base, 'releases', '4', 'hostd.config.ts'), "export default { app: './app.mjs', workers: 'many' };\n");
    await switchAndFail(base, 4, run, /reload: the config is invalid; nothing changed:\n.*workers/);
    // The primary logs the failure, then goes back: wait for the folder, bounded.
    const release3 = realpathSync(join(base, 'releases', '3'));
    await waitUntil(() => realpathSync(`/proc/${run.pid}/cwd`) === release3, "the primary to go back to release 3's folder");
    expect(await fetchText(url)).toBe(answer(base, 3));

    // A deploy that removed the link: the reload fails, naming the folder; release 3 keeps serving.
    unlinkSync(current);
    run.signal('SIGHUP');
    await run.waitForOutput(new RegExp(`reload: the config is invalid; nothing changed:\\ncannot change to chdir \\(--chdir\\), ${current.replaceAll('/', '\\/')}: no such folder`));
    expect(await fetchText(url)).toBe(answer(base, 3));
    const status = await hostd(['status', '--json', '--chdir', current], { cwd: base });
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ pid: run.pid, generation: 3 });
    expect((await run.stop()).code).toBe(0);
  });

  it('a reload that fails after entering the new release (on_reload throws) goes back to the serving one: the primary, and workers the old generation replaces, run there', async () => {
    const base = deployFolder(2);
    const current = join(base, 'current');
    writeFileSync(join(base, 'releases', '2', 'hostd.config.ts'), "export default { app: './app.mjs', bind: '127.0.0.1:0', workers: 2, on_reload: () => { throw new Error('not this one'); } };\n");
    const run = startHostd(base, ['--chdir', current]);
    const url = await run.ready();
    await switchAndFail(base, 2, run, /reload abandoned, the old config and workers keep serving: .*not this one/);
    // The primary logs the failure, then goes back: wait for the folder, bounded.
    const release1 = realpathSync(join(base, 'releases', '1'));
    await waitUntil(() => realpathSync(`/proc/${run.pid}/cwd`) === release1, "the primary to go back to release 1's folder");
    // The old generation's worker, killed, is replaced in release 1's folder, as it was started.
    const [worker] = workerPids(run.pid);
    process.kill(worker!, 'SIGKILL');
    for (const deadline = Date.now() + 20_000; ; ) {
      const pids = workerPids(run.pid);
      if (pids.length === 1 && pids[0] !== worker) {
        expect(realpathSync(`/proc/${pids[0]}/cwd`)).toBe(realpathSync(join(base, 'releases', '1')));
        break;
      }
      if (Date.now() > deadline) throw new Error('no replacement worker');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // Its app is the one `current` leads to now (docs/deploy/releases.md: reload right after a switch); its folder is release 1's.
    expect(await fetchText(url)).toMatch(new RegExp(`, in ${realpathSync(join(base, 'releases', '1'))}$`));
    expect((await run.stop()).code).toBe(0);
  });

  it('check and print-config work in chdir too: a release checked before the switch; a relative HOSTD_CHDIR is taken from the working directory; a config file cannot set it', async () => {
    const base = deployFolder(2);
    const checked = await hostd(['check', '--chdir', join(base, 'releases', '2')], { cwd: base });
    expect(checked.code, checked.stderr).toBe(0);
    expect(checked.stdout).toContain('app.mjs: a request listener');
    const printed = await hostd(['print-config', '--json'], { cwd: base, env: { HOSTD_CHDIR: 'releases/2' } });
    expect(JSON.parse(printed.stdout)).toMatchObject({
      file: join(base, 'releases', '2', 'hostd.config.ts'),
      settings: { workers: { value: 2 }, chdir: { value: join(base, 'releases', '2'), source: 'HOSTD_CHDIR' } },
    });
    writeFileSync(join(base, 'releases', '1', 'hostd.config.ts'), "export default { app: './app.mjs', chdir: '/srv' };\n");
    const refused = await hostd(['check', '--no-app'], { cwd: join(base, 'releases', '1') });
    expect({ code: refused.code, stderr: refused.stderr }).toEqual({ code: 1, stderr: expect.stringContaining('hostd.config.ts: chdir: cannot be set in a config file or preset, since it is needed before the file is loaded; use --chdir or HOSTD_CHDIR') });
    const gone = await hostd(['run', '--chdir', 'releases/9'], { cwd: base });
    expect({ code: gone.code, stderr: gone.stderr }).toEqual({ code: 1, stderr: expect.stringContaining(`cannot change to chdir (--chdir), ${join(base, 'releases', '9')}: no such folder`) });
  });

  it('without chdir, follows the working directory as the shell named it ($PWD), as gunicorn does', async () => {
    const base = deployFolder(2);
    const current = join(base, 'current');
    const run = startHostd(current, [], { env: { PWD: current } });
    const url = await run.ready();
    expect(await fetchText(url)).toBe(answer(base, 1));
    await switchAndReload(run, base, 2, 2);
    expect(await fetchText(url)).toBe(answer(base, 2));
    expect(await statusFromCurrent(base)).toMatchObject({ pid: run.pid, generation: 2, config_file: join(current, 'hostd.config.ts') });
  });

  it('a primary started in the real folder (no $PWD, as under systemd) stays there, and the commands run in current still find it', async () => {
    const base = deployFolder(2);
    const current = join(base, 'current');
    const run = startHostd(current, [], { env: { PWD: '/' } });
    const url = await run.ready();
    expect(await statusFromCurrent(base)).toMatchObject({ pid: run.pid, config_file: join(realpathSync(current), 'hostd.config.ts') });
    await switchAndReload(run, base, 2, 2);
    // It was given releases/1, not current: chdir is what follows a switch.
    expect(await fetchText(url)).toBe(answer(base, 1));
  });

  it.each([
    ['with a relative --chdir', true],
    ['without it, from $PWD', false],
  ])('an upgrade (USR2) follows current too, %s: the new primary serves the new release and answers the commands run in current', async (_, named) => {
    const base = deployFolder(2);
    const current = join(base, 'current');
    // The new primary starts where this one started, and finds its folder from there as this one did.
    const run = named ? startHostd(base, ['--chdir', 'current']) : startHostd(current, [], { env: { PWD: current } });
    const url = await run.ready();
    switchTo(base, 2);
    run.signal('SIGUSR2');
    const next = Number((await run.waitForOutput(/upgraded: the new primary \(pid (\d+)\) serves/, 30_000))[1]);
    successors.push(next);
    expect(await fetchText(url)).toBe(answer(base, 2));
    expect(await statusFromCurrent(base)).toMatchObject({ pid: next, generation: 1, config_file: join(current, 'hostd.config.ts'), workers_target: 2 });
  });
});
