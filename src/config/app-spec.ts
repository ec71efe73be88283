import { statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute, join } from 'node:path';

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
