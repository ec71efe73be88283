/** How a config's module is told apart by its name and text: TypeScript, ES module or CommonJS. */
import { sep } from 'node:path';

export const TYPESCRIPT = /\.[cm]?ts$/;

/**
 * ES module syntax (jiti's own test, plus `import()`): JavaScript without it is CommonJS and
 * runs as it is written, not transpiled (which would, for one, make it strict).
 */
export const MODULE_SYNTAX =
  /(?:^|[\s;])(?:import[\s\w*,{}]*from|import\s*["'*{]|export\b\s*(?:[*{]|default|class|type|function|const|var|let|async function)|import\.meta\b)|(?<![\w$.])import\s*\(/m;

/** Whether a module is CommonJS: `.cjs`, `.cts`, or JavaScript (not `.mjs`) without ES module syntax. */
export function isCommonJs(file: string, text: string): boolean {
  return file.endsWith('.cjs') || file.endsWith('.cts') || (!TYPESCRIPT.test(file) && !file.endsWith('.mjs') && !MODULE_SYNTAX.test(text));
}

/**
 * Whether a file a package specifier names is the project's own, evaluated as a local module:
 * TypeScript (Node 20 cannot import a workspace package whose entry is src/index.ts), or what
 * `#imports` names outside node_modules.
 */
export function isOwnModule(specifier: string, file: string): boolean {
  return TYPESCRIPT.test(file) || (specifier.startsWith('#') && !file.split(sep).includes('node_modules'));
}
