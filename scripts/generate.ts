/**
 * Writes every file derived from the settings table, and the generated regions of
 * hand-written docs (see render.ts). `npm run generate` after changing
 * src/config/settings.ts, src/errors.ts or src/hooks/reasons.ts.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { renderAll } from './render.ts';

const root = new URL('..', import.meta.url);
const { version } = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { version: string };
for (const file of renderAll(version)) {
  const target = new URL(file.path, root);
  let current = '';
  try {
    current = readFileSync(target, 'utf8');
  } catch {}
  if (current !== file.content) {
    writeFileSync(target, file.content);
    console.log(`wrote ${file.path}`);
  }
}
