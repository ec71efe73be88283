/**
 * Throwaway projects: a temp folder with files and `node_modules/hostd` linked to this
 * repository (the built package), so configs import `hostd` as users do.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll } from 'vitest';

export const REPO = join(import.meta.dirname, '..', '..');

const made: string[] = [];
afterAll(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** An empty temp folder, removed after the test file. */
export function tempDir(prefix = 'hostd-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** Creates a project; `files` maps relative paths to contents. A package.json is added unless given. */
export function project(files: Record<string, string>, options: { type?: 'module' | 'commonjs' } = {}): string {
  const dir = tempDir();
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(REPO, join(dir, 'node_modules', 'hostd'), 'dir');
  const all = { 'package.json': JSON.stringify({ name: 'fixture', private: true, type: options.type ?? 'module' }), ...files };
  for (const [path, content] of Object.entries(all)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

/** A minimal app file, for configs that must point at something real. */
export const HELLO_APP = "export default (req, res) => res.end('hello\\n');\n";
