/**
 * The hover text of every hook, as an editor shows it: TypeScript's language service over
 * the built declarations, on each hook key of a config in the object and the function form.
 * Each must open with a whole sentence saying where and when the hook runs.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { HOOK_NAMES, HOOKS } from '../../src/config/settings.ts';
import { project } from '../helpers/project.ts';

const hooks = HOOK_NAMES.map((name) => `  ${name}: () => {},`).join('\n');
const FILES = {
  'object.ts': `import { defineConfig } from 'hostd';\nexport default defineConfig({\n${hooks}\n});\n`,
  'function.ts': `import { defineConfig } from 'hostd';\nexport default defineConfig(({ mode }) => ({\n${hooks}\n}));\n`,
};

function languageService(dir: string): ts.LanguageService {
  const options: ts.CompilerOptions = { strict: true, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, noEmit: true };
  const files = Object.keys(FILES).map((f) => join(dir, f));
  return ts.createLanguageService({
    getScriptFileNames: () => files,
    getScriptVersion: () => '1',
    getScriptSnapshot: (file) => (ts.sys.fileExists(file) ? ts.ScriptSnapshot.fromString(readFileSync(file, 'utf8')) : undefined),
    getCurrentDirectory: () => dir,
    getCompilationSettings: () => options,
    getDefaultLibFileName: (o) => ts.getDefaultLibFilePath(o),
    fileExists: ts.sys.fileExists,
    readFile: ts.sys.readFile,
    readDirectory: ts.sys.readDirectory,
    directoryExists: ts.sys.directoryExists,
    getDirectories: ts.sys.getDirectories,
    realpath: ts.sys.realpath!,
  });
}

describe('hook hover text', () => {
  const dir = project(FILES);
  const service = languageService(dir);

  for (const file of Object.keys(FILES)) {
    it(`is a sentence for every hook (${file})`, () => {
      const path = join(dir, file);
      const text = readFileSync(path, 'utf8');
      for (const name of HOOK_NAMES) {
        const info = service.getQuickInfoAtPosition(path, text.indexOf(`  ${name}:`) + 3);
        const doc = ts.displayPartsToString(info?.documentation);
        const first = doc.split('\n')[0]!;
        expect(first, name).toMatch(/^Runs in the (primary|worker) (before|after|when|once|on|as)\b.*\S\.$/);
        expect(first, name).toBe(`Runs in the ${HOOKS[name].runsIn} ${HOOKS[name].when}.`);
        expect(doc, name).not.toMatch(/ {2}|\.\.|\bthe the\b/);
      }
    });
  }
});
