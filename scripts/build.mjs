// Builds dist/: bundled ESM for the CLI, the public API and the presets (esbuild),
// then type declarations (tsc). Plain JS so that `npm install` can run it before
// any TypeScript tooling is set up.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';

const root = new URL('..', import.meta.url);
const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'));
const started = performance.now();
rmSync(new URL('dist', root), { recursive: true, force: true });

/**
 * node:http and node:https through require(), not import: an ES module import of a built-in
 * makes Node build its ES module facade, which reads every export, lazy getters included, and
 * node:http's loads undici on Node 22 and later (~20 ms of every worker start on Node 26). Not
 * every built-in: each importing module gets its own copy of the module's properties, which
 * costs more than the other facades do.
 */
const builtinsByRequire = {
  name: 'builtins-by-require',
  setup(b) {
    b.onResolve({ filter: /^node:https?$/ }, (args) => ({ path: args.path, namespace: 'builtin' }));
    b.onLoad({ filter: /.*/, namespace: 'builtin' }, (args) => ({ contents: `module.exports = __hostdBuiltin(${JSON.stringify(args.path)});`, loader: 'js' }));
  },
};

const presets = readdirSync(new URL('src/presets', root))
  .filter((f) => f.endsWith('.ts'))
  .map((f) => f.slice(0, -3));

/** How every ES module of dist/ is built. */
const esm = {
  absWorkingDir: new URL('.', root).pathname,
  outdir: 'dist',
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Runtime dependencies stay external; everything else (zod, commander) is bundled,
  // which is what keeps `hostd check` within its start-up budget.
  external: Object.keys(pkg.dependencies ?? {}),
  // Whitespace and syntax only: readable names in the rare stack trace that is ours.
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: 'linked',
  // jiti's version keys the transform cache (src/config/transform-cache.ts).
  define: { __HOSTD_VERSION__: JSON.stringify(pkg.version), __JITI_VERSION__: JSON.stringify(JSON.parse(readFileSync(new URL('node_modules/jiti/package.json', root), 'utf8')).version) },
  // Bundled CommonJS dependencies call require() for Node built-ins; so does the bundle itself (builtinsByRequire).
  banner: { js: "import{createRequire as __hostdRequire}from'node:module';const require=__hostdRequire(import.meta.url),__hostdBuiltin=require;" },
  plugins: [builtinsByRequire],
  logLevel: 'warning',
};

await build({
  ...esm,
  entryPoints: {
    cli: 'src/cli/main.ts',
    'app-check': 'src/cli/app-check-entry.ts',
    ...Object.fromEntries(presets.map((p) => [`presets/${p}`, `src/presets/${p}.ts`])),
  },
  // Shared chunks: the CLI, hostd check's app process and the presets load each module once.
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
});

// hostd's public API (what a config's and an app's `import ... from 'hostd'` loads) in one module,
// not 8: ~3 ms less in every process that evaluates a config. Its state is on globalThis (host.ts)
// or recognised in any copy (HostdError), so the CLI's copy of the same code is not a second instance.
await build({ ...esm, entryPoints: { index: 'src/index.ts' } });

// A worker: its entry (dist/worker.js, Node's compile cache first) and the rest of its code in one
// module (dist/worker-main.js), not in chunks shared with the CLI: 2 modules to load instead of 18,
// ~11 ms less of every worker start on Node 20. What it shares with the app's and the config's
// `hostd` lives on globalThis (host.ts) or is recognised in any copy (HostdError, errors.ts).
await build({
  ...esm,
  entryPoints: { worker: 'src/runtime/worker/entry.ts' },
  plugins: [...esm.plugins, { name: 'worker-main', setup: (b) => b.onResolve({ filter: /^\.\/main\.ts$/ }, () => ({ path: './worker-main.js', external: true })) }],
});
await build({ ...esm, entryPoints: { 'worker-main': 'src/runtime/worker/main.ts' } });

// The `hostd` bin: CommonJS, answering a bare --version or --help on its own (src/cli/bin.ts).
await build({
  absWorkingDir: new URL('.', root).pathname,
  entryPoints: ['src/cli/bin.ts'],
  outfile: 'dist/bin.cjs',
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  minifyWhitespace: true,
  define: { __HOSTD_VERSION__: JSON.stringify(pkg.version) },
  logLevel: 'warning',
});

// npm marks bin targets executable only when it links them; the CLI also runs from a clone.
for (const bin of ['dist/cli.js', 'dist/bin.cjs']) chmodSync(new URL(bin, root), 0o755);

// `hostd --help` is answered from this file without loading the whole CLI (src/cli/bin.ts);
// the whole CLI writes it, as it prints it without a terminal (80 columns).
writeFileSync(new URL('dist/help.txt', root), execFileSync(process.execPath, [new URL('dist/cli.js', root).pathname, '--help'], { encoding: 'utf8', env: { ...process.env, COLUMNS: '80' } }));

buildNative();

/**
 * The native helper (src/native/hostd.c: orphan reaping, sd_notify), for Linux, when a C
 * compiler and Node's headers are there. hostd runs without it: it then cannot reap orphans
 * as PID 1 (docs/deploy/docker.md) and notifies systemd through systemd-notify.
 */
function buildNative() {
  if (process.platform !== 'linux') return;
  const include = [process.env.npm_config_nodedir, join(dirname(dirname(process.execPath)))]
    .filter(Boolean)
    .map((dir) => join(dir, 'include', 'node'))
    .find((dir) => existsSync(join(dir, 'node_api.h')));
  if (!include) {
    console.warn("hostd: skipped the native helper: Node's headers (node_api.h) were not found");
    return;
  }
  mkdirSync(new URL('dist/native', root), { recursive: true });
  try {
    execFileSync(process.env.CC ?? 'cc', ['-shared', '-fPIC', '-O2', '-Wall', '-I', include, '-o', 'dist/native/hostd.node', 'src/native/hostd.c'], {
      cwd: new URL('.', root).pathname,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
  } catch (error) {
    console.warn(`hostd: skipped the native helper: ${String(error.stderr ?? error.message).trim().split('\n')[0]}`);
  }
}

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], {
  cwd: new URL('.', root).pathname,
  stdio: 'inherit',
});
console.log(`hostd: built dist/ in ${Math.round(performance.now() - started)} ms`);
