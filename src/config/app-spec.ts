import { statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute, join, relative, sep } from 'node:path';

/** The extensions tried after an app path written without one. */
const EXTENSIONS = ['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs'];

/** `./src/app.ts#api` → the module and the export (`default` when there is no `#name`). */
export function splitAppSpec(spec: string): { module: string; exportName: string } {
  const hash = spec.lastIndexOf('#');
  if (hash <= 0) return { module: spec, exportName: 'default' };
  return { module: spec.slice(0, hash), exportName: spec.slice(hash + 1) || 'default' };
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** The file an app module names (an absolute path, or a package resolved from `root`), or null. */
export function locateModule(module: string, root: string): string | null {
  if (isAbsolute(module)) {
    for (const candidate of [module, ...EXTENSIONS.map((ext) => module + ext), ...EXTENSIONS.map((ext) => join(module, `index${ext}`))]) {
      if (isFile(candidate)) return candidate;
    }
    return null;
  }
  try {
    return createRequire(join(root, 'package.json')).resolve(module);
  } catch {
    return null;
  }
}

/**
 * An app module as a user writes it in the config: relative to the config's folder
 * (`./src/app.ts`), a package name as it is. Resolved settings hold absolute paths.
 */
export function moduleAsWritten(module: string, root: string): string {
  if (!isAbsolute(module)) return module;
  const rel = relative(root, module);
  if (rel === '' || rel.split(sep).filter((part) => part === '..').length > 2 || isAbsolute(rel)) return module;
  return rel.startsWith('..') ? rel : `./${rel}`;
}

/** `app` as a user writes it: moduleAsWritten, and `#name` when it names an export. */
export function appSpecAsWritten(spec: string, root: string): string {
  const { module, exportName } = splitAppSpec(spec);
  return `${moduleAsWritten(module, root)}${exportName === 'default' ? '' : `#${exportName}`}`;
}
