import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from '../helpers/project.ts';

// npm's own range logic (semver is in the tree through npm packages; hostd does not ship it).
const semver = createRequire(import.meta.url)('semver') as { satisfies(version: string, range: string): boolean; minVersion(range: string): { version: string } | null };

interface Lock {
  packages: Record<string, { version?: string; engines?: { node?: string } | string[]; dev?: boolean }>;
}

describe('installing on the oldest Node hostd supports', () => {
  const root = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { engines: { node: string } };
  const oldest = semver.minVersion(root.engines.node)!.version;

  it('gives no EBADENGINE warning: every locked package (the examples are workspaces) allows it', () => {
    const lock = JSON.parse(readFileSync(join(REPO, 'package-lock.json'), 'utf8')) as Lock;
    const refused = Object.entries(lock.packages)
      .filter(([, p]) => !Array.isArray(p.engines) && p.engines?.node !== undefined && !semver.satisfies(oldest, p.engines.node))
      .map(([path, p]) => `${path}@${p.version}: engines.node ${JSON.stringify((p.engines as { node: string }).node)}`);
    expect(oldest).toBe('20.19.0');
    expect(refused).toEqual([]);
  });

  it('the check catches a package that needs a newer Node', () => {
    expect(semver.satisfies('20.19.0', '>=22')).toBe(false);
    expect(semver.satisfies('20.19.0', '^20.19.0 || >=22.12.0')).toBe(true);
  });
});
