import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { ERRORS, HostdError } from '../src/errors.ts';
import { ModuleLoadError } from '../src/config/user-error.ts';
import { REPO } from './helpers/project.ts';

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sources(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [readFileSync(join(dir, entry.name), 'utf8')] : [],
  );
}

describe('error codes', () => {
  const docs = readFileSync(join(REPO, 'docs', 'errors.md'), 'utf8');
  const code = sources(join(REPO, 'src')).join('\n');

  it.each(Object.keys(ERRORS))('%s is documented and raised somewhere', (name) => {
    expect(docs).toContain(`\`${name}\``);
    const uses = code.split(`'${name}'`).length - 1 + code.split(`ERRORS.${name}`).length - 1;
    expect(uses, `${name} is defined but never raised`).toBeGreaterThanOrEqual(1);
  });
});

describe('HostdError', () => {
  it("is recognised in every copy of hostd in a process (a worker's bundle beside the hostd an app imports); a subclass as usual", async () => {
    // Another instance of the module, as a bundle carrying its own copy of hostd gives.
    vi.resetModules();
    const built = (await import('../src/errors.ts')) as { HostdError: typeof HostdError };
    expect(built.HostdError).not.toBe(HostdError);
    expect(new built.HostdError('HOSTD_ERR_CONFIG_LOAD', 'x')).toBeInstanceOf(HostdError);
    expect(new HostdError('HOSTD_ERR_CONFIG_LOAD', 'x')).toBeInstanceOf(built.HostdError);
    expect(new Error('x')).not.toBeInstanceOf(HostdError);
    expect(HostdError[Symbol.hasInstance](null)).toBe(false);
    const subclassed = new ModuleLoadError({ file: '/x.ts' }, 'problem');
    expect(subclassed).toBeInstanceOf(HostdError);
    expect(subclassed).toBeInstanceOf(ModuleLoadError);
    expect(new HostdError('HOSTD_ERR_CONFIG_LOAD', 'x')).not.toBeInstanceOf(ModuleLoadError);
  });
});
