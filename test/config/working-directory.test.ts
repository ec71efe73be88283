/** The folder a command works in (config/working-directory.ts, paths.ts's workingDirectory). */
import { mkdirSync, realpathSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ConfigInputs } from '../../src/config/resolve.ts';
import { enterWorkingDirectory, withChdir } from '../../src/config/working-directory.ts';
import { HostdError } from '../../src/errors.ts';
import { workingDirectory } from '../../src/paths.ts';
import { type ConfigReport, hostd } from '../helpers/cli.ts';
import { HELLO_APP, project, tempDir } from '../helpers/project.ts';

const inputs = (cwd: string, more: Partial<ConfigInputs> = {}): ConfigInputs => ({ command: 'run', cwd, requireFile: false, flags: {}, env: {}, ...more });

/** A folder `real` and a link to it, `link`. */
function linked(): { real: string; link: string } {
  const base = realpathSync(tempDir());
  mkdirSync(join(base, 'releases', '1'), { recursive: true });
  symlinkSync(join('releases', '1'), join(base, 'current'));
  return { real: join(base, 'releases', '1'), link: join(base, 'current') };
}

describe('the working directory', () => {
  const started = process.cwd();
  const pwd = process.env.PWD;
  afterEach(() => {
    process.chdir(started);
    process.env.PWD = pwd;
  });

  it('is $PWD when $PWD names this very folder through a symlink, else the real path', () => {
    const { real, link } = linked();
    process.chdir(link);
    expect(process.cwd()).toBe(real);
    expect(workingDirectory({ PWD: link })).toBe(link);
    expect(workingDirectory({ PWD: `${link}/` })).toBe(real);
    expect(workingDirectory({ PWD: `${link}/../current` })).toBe(real);
    expect(workingDirectory({ PWD: 'current' })).toBe(real);
    expect(workingDirectory({ PWD: started })).toBe(real);
    expect(workingDirectory({})).toBe(real);
  });

  it('withChdir: the folder chdir names becomes cwd, and the setting that absolute path (a relative one taken from cwd once)', () => {
    expect(withChdir(inputs('/srv/app'))).toEqual(inputs('/srv/app'));
    expect(withChdir(inputs('/srv/app', { flags: { chdir: ['current'] } }))).toEqual(inputs('/srv/app/current', { flags: { chdir: ['/srv/app/current'] } }));
    const fromEnv = withChdir(inputs('/srv/app', { env: { HOSTD_CHDIR: '../other', NODE_ENV: 'production' } }));
    expect(fromEnv).toEqual(inputs('/srv/other', { env: { HOSTD_CHDIR: '/srv/other', NODE_ENV: 'production' } }));
    // Again from there: the same folder (a reload resolves from these inputs).
    expect(withChdir(fromEnv)).toEqual(fromEnv);
    // The flag wins over the variable, as for any setting.
    expect(withChdir(inputs('/srv', { flags: { chdir: ['/a'] }, env: { HOSTD_CHDIR: '/b' } })).cwd).toBe('/a');
  });

  it('enterWorkingDirectory: follows a link switched since, sets $PWD to the name, and names the folder it cannot enter', () => {
    const { real, link } = linked();
    enterWorkingDirectory(inputs(link, { flags: { chdir: [link] } }));
    expect([process.cwd(), process.env.PWD]).toEqual([real, link]);
    const gone = join(link, 'gone');
    expect(() => enterWorkingDirectory(inputs(gone, { flags: { chdir: [gone] } }))).toThrow(
      new HostdError('HOSTD_ERR_CHDIR', `cannot change to chdir (--chdir), ${gone}: no such folder (is it, or a symlink on its path, gone?)`),
    );
    expect(() => enterWorkingDirectory(inputs(gone))).toThrow(/^cannot change to the working directory hostd started in, .*gone: no such folder/);
    expect(process.cwd()).toBe(real);
  });
});

describe('the commands that evaluate the config', () => {
  /** A config whose bind comes from a file it reads in process.cwd() at load time; the shell's folder has another. */
  const PORT_FROM_CWD = {
    'app.mjs': HELLO_APP,
    'hostd.config.ts': "import { readFileSync } from 'node:fs';\nimport { join } from 'node:path';\nexport default { app: './app.mjs', bind: `0.0.0.0:${readFileSync(join(process.cwd(), 'port.txt'), 'utf8').trim()}` };\n",
  };

  it.each([
    ['print-config --json', ['print-config', '--json'], (stdout: string) => (JSON.parse(stdout) as ConfigReport).settings.bind!.value],
    ['check --json --no-app', ['check', '--json', '--no-app'], (stdout: string) => (JSON.parse(stdout) as ConfigReport).settings.bind!.value],
    ['export kubernetes', ['export', 'kubernetes'], (stdout: string) => /containerPort: (\d+)/.exec(stdout)?.[1]],
  ])('%s works in chdir, as hostd run does: a config reading process.cwd() there sees that folder', async (_, args, bind) => {
    const dir = project({ ...PORT_FROM_CWD, 'port.txt': '9123\n' });
    const shell = project({ 'port.txt': '9456\n' });
    for (const [extra, env] of [[['--chdir', dir], {}], [[], { HOSTD_CHDIR: dir }]] as const) {
      const result = await hostd([...args, ...extra], { cwd: shell, env });
      expect(result.code, result.stderr).toBe(0);
      expect(String(bind(result.stdout))).toMatch(/^(0\.0\.0\.0:)?9123$/);
    }
  });

  it("export does not carry --chdir into the exported command: it names this machine's folder, and the unit's WorkingDirectory says the target's", async () => {
    const dir = project({ ...PORT_FROM_CWD, 'port.txt': '9123\n' });
    const shell = project({});
    for (const [extra, env] of [[['--chdir', dir], {}], [[], { HOSTD_CHDIR: dir }]] as const) {
      const result = await hostd(['export', 'systemd', '--working-directory', '/srv/app', ...extra], { cwd: shell, env });
      expect(result.code, result.stderr).toBe(0);
      const execStart = /^ExecStart=.*$/m.exec(result.stdout)?.[0];
      expect(execStart).toMatch(/ run /);
      expect(execStart).not.toMatch(/--chdir/);
      expect(result.stdout).toMatch(/^WorkingDirectory=\/srv\/app$/m);
    }
  });
});
