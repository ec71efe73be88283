import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONFIG_FILE_NAMES } from '../../config/discover.ts';
import { HostdError } from '../../errors.ts';
import { out } from '../output.ts';
import { reportError } from '../report.ts';

/** The starter config; with a preset, `bind` and `workers` come from it. */
export function starterConfig(preset?: string): string {
  const importPreset = preset ? `import ${camel(preset)} from 'hostd/presets/${preset}';\n` : '';
  const extendsLine = preset ? `  // ${preset} sets bind, workers and its deployment behaviour; anything set below wins.\n  extends: [${camel(preset)}()],\n\n` : '';
  const listen = preset
    ? ''
    : `  // Where to listen, and how many worker processes serve requests ("auto" = CPUs).
  bind: '127.0.0.1:8000',
  workers: 'auto',

`;
  return `import { defineConfig } from 'hostd';
${importPreset}
// Check it with \`npx hostd check\`; see every value and its source with \`npx hostd print-config\`.
export default defineConfig({
${extendsLine}  // The app: a request listener (Express, Koa's app.callback(), node:http), an object
  // with fetch(request) (Hono), or a factory returning either. "#name" picks an export.
  app: './src/app.ts',

${listen}  // Seconds. A worker whose event loop is blocked this long is replaced; a stopping
  // worker may drain in-flight requests this long before it is killed.
  timeout: 30,
  graceful_timeout: 30,

  // Runs in each worker after it stopped accepting and drained its requests: the place
  // for cleanup that must happen (close a pool, flush a queue).
  worker_exit: async ({ worker, reason, log }) => {
    log.info(\`worker \${worker.id} stopping (\${reason})\`);
  },
});
`;
}

function camel(name: string): string {
  return name.replace(/-(\w)/g, (_, c: string) => c.toUpperCase());
}

export function initCommand(cwd: string, preset?: string): number {
  const existing = CONFIG_FILE_NAMES.find((name) => existsSync(join(cwd, name)));
  if (existing) return reportError(new HostdError('HOSTD_ERR_CONFIG_EXISTS', `${existing} already exists here; not overwriting it`), false);
  writeFileSync(join(cwd, 'hostd.config.ts'), starterConfig(preset));
  const s = out.style;
  out.line(`${s.green('✓')} wrote ${s.bold('hostd.config.ts')}${preset ? ` (preset ${preset})` : ''}`);
  out.line(`  next: point ${s.cyan('app')} at your app module, then run ${s.cyan('npx hostd check')}`);
  return 0;
}
