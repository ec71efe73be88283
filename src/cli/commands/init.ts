/**
 * `hostd init`: a starter config that fits the project it is run in: the app module it
 * finds, the project's language and module type, and, with a preset, only the settings
 * the preset does not already give.
 */
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { extname, join, posix } from 'node:path';
import { CONFIG_FILE_NAMES } from '../../config/discover.ts';
import { SETTINGS } from '../../config/settings.ts';
import type { PresetName } from '../../config/shipped-presets.ts';
import type { Preset } from '../../config/types.ts';
import { HostdError } from '../../errors.ts';
import { printablePath } from '../../paths.ts';
import { out } from '../output.ts';
import { reportError } from '../report.ts';

/** The extensions an app module may have, TypeScript first. */
const APP_EXTENSIONS = ['ts', 'mts', 'cts', 'js', 'mjs', 'cjs'];
/** Where init looks for the app, in this order (then package.json `main`). */
const APP_CANDIDATES = ['src/app', 'app', 'server'].flatMap((base) => APP_EXTENSIONS.map((ext) => `${base}.${ext}`));

/** What init found out about the project in a folder. */
export interface ProjectShape {
  /** The app module, relative to the folder (POSIX separators), and how it was found; null when none was. */
  readonly app: { readonly path: string; readonly how: string } | null;
  readonly typescript: boolean;
  /** How the config file is written: ES module syntax, or CommonJS (`require`, `module.exports`). */
  readonly module: 'esm' | 'cjs';
  /** The config file's name: hostd.config.ts, .js or .mjs. */
  readonly file: string;
}

function isFile(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isFile() ?? false;
}

function readPackage(cwd: string): { type?: unknown; main?: unknown; dependencies?: unknown; devDependencies?: unknown } {
  try {
    return JSON.parse(readFileSync(join(cwd, 'package.json'), 'utf8')) as Record<string, unknown>;
  } catch {
    return {};
  }
}

/** Looks at the folder's files and package.json to tell where the app is and how the config should be written. */
export function projectShape(cwd: string): ProjectShape {
  const pkg = readPackage(cwd);
  let app: ProjectShape['app'] = null;
  const candidate = APP_CANDIDATES.find((path) => isFile(join(cwd, path)));
  if (candidate) {
    app = { path: candidate, how: `found ${candidate}` };
  } else if (typeof pkg.main === 'string') {
    const main = posix.normalize(pkg.main.replaceAll('\\', '/')).replace(/^\.\//, '');
    const withExtension = [main, ...APP_EXTENSIONS.map((ext) => `${main}.${ext}`)].find((path) => isFile(join(cwd, path)));
    if (withExtension) app = { path: withExtension, how: `found ${withExtension}, package.json "main"` };
  }
  const appExt = app ? extname(app.path).slice(1) : '';
  const hasTypeScript = (deps: unknown) => typeof deps === 'object' && deps !== null && 'typescript' in deps;
  const typescript = ['ts', 'mts', 'cts'].includes(appExt) || isFile(join(cwd, 'tsconfig.json')) || hasTypeScript(pkg.dependencies) || hasTypeScript(pkg.devDependencies);
  const packageIsEsm = pkg.type === 'module';
  if (typescript) return { app, typescript, module: 'esm', file: 'hostd.config.ts' };
  // A .js file is what package.json "type" says; an app written as .mjs in a CommonJS package gets an .mjs config.
  if (packageIsEsm) return { app, typescript, module: 'esm', file: 'hostd.config.js' };
  if (appExt === 'mjs') return { app, typescript, module: 'esm', file: 'hostd.config.mjs' };
  return { app, typescript, module: 'cjs', file: 'hostd.config.js' };
}

/** A value as the config file writes it: strings in single quotes. */
function literal(value: unknown): string {
  return typeof value === 'string' ? `'${value.replace(/[\\']/g, '\\$&')}'` : JSON.stringify(value);
}

function camel(name: string): string {
  return name.replace(/-(\w)/g, (_, c: string) => c.toUpperCase());
}

/** The settings the starter config writes, each with the comment that explains it. */
const STARTER_SETTINGS: ReadonlyArray<{ readonly key: 'bind' | 'workers' | 'timeout' | 'graceful_timeout'; readonly value: unknown; readonly comment: string }> = [
  { key: 'bind', value: SETTINGS.bind.default[0], comment: 'Where to listen: HOST:PORT, :PORT for every interface, or unix:PATH.' },
  // "auto" rather than the default (1): a new project usually wants every CPU.
  { key: 'workers', value: 'auto', comment: 'How many worker processes serve requests ("auto": one per CPU).' },
  { key: 'timeout', value: SETTINGS.timeout.default, comment: 'Seconds a worker\'s event loop may be blocked before the worker is replaced.' },
  { key: 'graceful_timeout', value: SETTINGS.graceful_timeout.default, comment: 'Seconds a stopping worker may finish its in-flight requests before it is killed.' },
];

export interface StarterOptions {
  /** The app module, relative to the config file. */
  readonly app: string;
  readonly module: 'esm' | 'cjs';
  readonly preset?: { readonly name: string; readonly sets: ReadonlySet<string> };
}

/** The starter config's text; with a preset, only the settings the preset leaves unset are written. */
export function starterConfig(options: StarterOptions): string {
  const { preset } = options;
  const esm = options.module === 'esm';
  const presetVar = preset ? camel(preset.name) : '';
  const imports = esm
    ? [`import { defineConfig } from 'hostd';`, ...(preset ? [`import ${presetVar} from 'hostd/presets/${preset.name}';`] : [])]
    : [`const { defineConfig } = require('hostd');`, ...(preset ? [`const { default: ${presetVar} } = require('hostd/presets/${preset.name}');`] : [])];
  const lines: string[] = [
    ...imports,
    '',
    '// Check it with `npx hostd check`; see every value and where it came from with `npx hostd print-config`.',
    `${esm ? 'export default' : 'module.exports ='} defineConfig({`,
  ];
  if (preset) {
    const given = STARTER_SETTINGS.filter((s) => preset.sets.has(s.key)).map((s) => s.key);
    lines.push(
      `  // The ${preset.name} preset sets ${given.length ? `${given.join(', ')} and ` : ''}its deployment behaviour;`,
      '  // a setting written below wins over it.',
      `  extends: [${presetVar}()],`,
      '',
    );
  }
  lines.push(
    '  // The app: a request listener (Express, Koa\'s app.callback(), node:http), an object',
    '  // with fetch(request) (Hono), or a factory returning either. "#name" picks an export.',
    `  app: ${literal(options.app)},`,
    '',
  );
  const own = STARTER_SETTINGS.filter((s) => !preset?.sets.has(s.key));
  for (const setting of own) lines.push(`  // ${setting.comment}`, `  ${setting.key}: ${literal(setting.value)},`);
  if (own.length) lines.push('');
  lines.push(
    '  // hostd logs every worker\'s start and stop with its reason; hooks are for what only',
    '  // the app knows. post_fork runs first in each new worker, before the app is loaded:',
    '  // open there what each worker must own, such as a database pool (a connection cannot',
    '  // be shared between processes); the app, loaded next, finds it on globalThis.',
    '  post_fork: () => {',
    '    // globalThis.db = new Pool({ max: 10 });',
    '  },',
    '  // worker_exit runs last in each worker, once it stopped accepting and finished its',
    '  // requests: close what post_fork opened, so that queries in progress complete and the',
    '  // database is not left holding dead connections.',
    '  worker_exit: async () => {',
    '    // await globalThis.db?.end();',
    '  },',
    '});',
    '',
  );
  return lines.join('\n');
}

/** The shipped presets, imported only when init is asked for one. */
const PRESET_MODULES: Record<PresetName, () => Promise<{ default: () => Preset }>> = {
  kubernetes: () => import('../../presets/kubernetes.ts'),
  systemd: () => import('../../presets/systemd.ts'),
  docker: () => import('../../presets/docker.ts'),
  paas: () => import('../../presets/paas.ts'),
  development: () => import('../../presets/development.ts'),
};

/** The setting names a shipped preset sets when called with no options. */
async function presetSettings(name: PresetName): Promise<Set<string>> {
  const preset = (await PRESET_MODULES[name]()).default();
  return new Set(Object.keys(preset).filter((key) => key !== 'name' && key !== 'extends'));
}

export interface InitOptions {
  readonly preset?: PresetName;
  /** Replace an existing config file. */
  readonly force?: boolean;
}

export async function initCommand(cwd: string, options: InitOptions = {}): Promise<number> {
  const existing = CONFIG_FILE_NAMES.filter((name) => existsSync(join(cwd, name)));
  if (existing.length > 0 && !options.force) {
    const files = existing.map(printablePath).join(' and ');
    return reportError(new HostdError('HOSTD_ERR_CONFIG_EXISTS', `${files} already ${existing.length > 1 ? 'exist' : 'exists'} here; not overwriting (hostd init --force replaces it)`), false);
  }
  let preset: StarterOptions['preset'];
  try {
    preset = options.preset ? { name: options.preset, sets: await presetSettings(options.preset) } : undefined;
  } catch (error) {
    return reportError(error, false);
  }
  const shape = projectShape(cwd);
  const app = shape.app ? `./${shape.app.path}` : `./src/app.${shape.typescript ? 'ts' : 'js'}`;
  writeFileSync(join(cwd, shape.file), starterConfig({ app, module: shape.module, preset }));
  // A second config file beside the new one would make every command stop at "keep one".
  const others = existing.filter((name) => name !== shape.file);
  for (const name of others) rmSync(join(cwd, name), { force: true });

  const s = out.style;
  const replaced = existing.length === 0 ? '' : others.length ? `, replacing ${others.join(' and ')}` : ', replacing the old one';
  const kind = shape.typescript ? 'TypeScript' : shape.module === 'esm' ? 'an ES module' : 'CommonJS';
  out.line(`${s.green('✓')} wrote ${s.bold(shape.file)} (${kind}${preset ? `, preset ${preset.name}` : ''})${replaced}`);
  if (shape.app) {
    out.line(`  app: ${s.cyan(app)} (${shape.app.how})`);
    out.line(`  next: ${s.cyan('npx hostd check')}, then ${s.cyan('npx hostd run')}`);
  } else {
    out.line(`  app: no app module found (looked for src/app.*, app.*, server.* and package.json "main"); ${shape.file} says ${s.cyan(app)}`);
    out.line(`  next: point ${s.cyan('app')} at your app module, then run ${s.cyan('npx hostd check')}`);
  }
  return 0;
}
