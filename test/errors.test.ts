import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERRORS } from '../src/errors.ts';
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
