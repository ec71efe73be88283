/**
 * The package as npm ships it: packed from this checkout and installed into a fresh project,
 * offline from the npm cache (the cache this checkout's own install filled). A published
 * package must not carry an install-time script: npm warns about each one (`npm warn
 * install-scripts hostd@0.1.0 (prepare: node scripts/build.mjs)`), and this one would need
 * scripts/ and the dev dependencies, which are not shipped.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { REPO, tempDir } from './helpers/project.ts';

const run = promisify(execFile);

/** The lifecycle scripts npm runs when a package is installed as a dependency. */
const INSTALL_SCRIPTS = ['preinstall', 'install', 'postinstall', 'prepare'];

interface Manifest {
  version: string;
  scripts: Record<string, string>;
}

describe('the packed package', () => {
  it('installs without an install script, and its bin runs', async () => {
    const out = tempDir('hostd-pack-');
    // dist/ is built already (npm test builds first); packing must not rebuild it under the other tests.
    const packed = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', out], { cwd: REPO });
    const [{ filename }] = JSON.parse(packed.stdout) as [{ filename: string }];
    const tarball = join(out, filename);

    const project = tempDir('hostd-consumer-');
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
    const installed = await run('npm', ['install', '--offline', '--no-audit', '--no-fund', tarball], { cwd: project });
    expect(`${installed.stdout}${installed.stderr}`).not.toMatch(/install-scripts|prepare/);

    const manifest = JSON.parse(readFileSync(join(project, 'node_modules', 'hostd', 'package.json'), 'utf8')) as Manifest;
    expect(Object.keys(manifest.scripts).filter((name) => INSTALL_SCRIPTS.includes(name))).toEqual([]);
    const version = await run(join(project, 'node_modules', '.bin', 'hostd'), ['--version'], { cwd: project });
    expect(version.stdout.trim()).toBe(manifest.version);
  });

  it('is built in a clone by npm install and npm ci (the `dependencies` script), and by npm pack', () => {
    // npm runs `dependencies` for the project being installed only, never for a package installed into another.
    const { scripts } = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as Manifest;
    expect(scripts.dependencies).toBe(scripts.build);
    expect(scripts.prepack).toBe(scripts.build);
  });
});
