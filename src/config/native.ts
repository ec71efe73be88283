/**
 * A config's modules loaded by Node itself, where Node strips TypeScript types by default
 * (22.18+, 23.6+): ES modules, TypeScript whose syntax is erasable, JSON. Node's module
 * hooks (module.registerHooks) serve each local module the text of the graph's generation
 * (modules.ts) and resolve as the graph does (`./x.js` for `./x.ts`, no extension, a
 * folder's index); types are removed by Node's own stripper, which keeps every position,
 * and the result is kept in the transform cache, so a process that finds it there does not
 * start the stripper (~30 ms).
 *
 * Anything else among the modules a root imports statically (an enum, a namespace, parameter
 * properties, CommonJS, CommonJS's variables in an ES module), and any syntax error or missing
 * module, makes the graph load that root with jiti as before, which reports problems as it
 * always did. To learn that before any of the user's code runs, a root is first linked as a
 * probe: each of its local modules begins with a throw, so Node links them all (calling the
 * hooks on each) and stops at the first one to run, having run none of the user's code. Only
 * then are the modules loaded for real, under other URLs. A module the config imports with
 * import() while it runs, which the probe cannot see, is Node's too if it can run it; if not,
 * the graph evaluates it as it evaluates a required module (synchronously) and Node gets its
 * exports.
 *
 * A module Node loads is an instance of Node's module map, kept for the life of the
 * process: the first graph of a process to load natively (a worker's, `hostd check`'s, a
 * primary's first generation) uses the files' own URLs, any later one (a reload) the URLs
 * with `?hostd-config=N`, so that it evaluates everything afresh. The hooks know a URL (and
 * through it the graph, its texts and modules) only while the graph is in use: a probe's
 * until it settles, the graph's own until the graph is released (a generation the primary
 * forgot) and no import of it is under way, so that a primary reloaded many times holds its
 * live generations' alone. An import a released graph's module makes later (a timer a hook left
 * behind) is still resolved as the graph resolved it, not by Node's own resolution (which finds
 * no `./x.js` for `./x.ts`, and would give a tagged module the files' own URLs: another
 * generation's instance): its URL says whose it was (the tag, or the first graph's own URLs,
 * which are kept), so a module the graph loaded is the instance Node keeps at that URL, and one
 * it never loaded is read from disk then, by a new graph, as any graph reads a module first.
 */
import { realpathSync } from 'node:fs';
import module, { isBuiltin } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { constants, runInThisContext } from 'node:vm';
import { compileModule, type ModuleExports } from './load.ts';
import { isCommonJs, isOwnModule, TYPESCRIPT } from './module-syntax.ts';
import { forgetSourceMap } from './source-maps.ts';
import { cachedTransform, storeTransform } from './transform-cache.ts';

/** What the hooks need of a module graph (modules.ts). */
export interface NativeGraph {
  /** The text of a local file: the generation's, or read from disk now; recorded either way. */
  source(file: string): string;
  /** The local file a path specifier (`./x`, `/x`, `file:`) names from `parentFile` as TypeScript resolves it (undefined: none); null for anything else. */
  pathTarget(specifier: string, parentFile: string): string | undefined | null;
  /** The error for an import of nothing, at the line that wrote it. */
  notFound(specifier: string, parentFile: string): Error;
  /** JSON text as a value; invalid JSON is reported at its line and column. */
  parseJson(text: string, file: string): unknown;
  /** What an import of local module `file` yields, evaluated now, synchronously, as jiti's path evaluates a required module. */
  importNow(file: string): ModuleExports;
}

/** A new graph of the files as they are on disk: what a released graph's modules import through. */
export type NewGraph = () => NativeGraph;

interface Hooks {
  resolve(specifier: string, context: ResolveContext, next: (specifier: string, context: ResolveContext) => ResolveResult): ResolveResult;
  load(url: string, context: object, next: (url: string, context: object) => LoadResult): LoadResult;
}
interface ResolveContext {
  readonly parentURL?: string | undefined;
  readonly importAttributes?: Record<string, string>;
  readonly conditions?: readonly string[];
}
interface ResolveResult {
  readonly url: string;
  readonly format?: string | null | undefined;
  readonly importAttributes?: Record<string, string>;
  readonly shortCircuit?: boolean;
}
interface LoadResult {
  readonly format: string;
  readonly source?: string | ArrayBuffer | Uint8Array | null;
  readonly shortCircuit?: boolean;
}

/** `module` of Node 22.18 and later, as far as hostd uses it (@types/node is Node 20's). */
const node = module as unknown as {
  registerHooks?: (hooks: Hooks) => unknown;
  stripTypeScriptTypes?: (code: string, options: { mode: 'strip'; sourceUrl?: string }) => string;
};

/** Whether this Node loads a config's TypeScript itself: it strips types by default, and has the hooks and the stripper. */
export const NATIVE_TYPESCRIPT =
  (process.features as { typescript?: unknown }).typescript === 'strip' && typeof node.registerHooks === 'function' && typeof node.stripTypeScriptTypes === 'function';

/** CommonJS's variables, which jiti gives an ES module and Node does not: such a module stays jiti's. */
const COMMONJS_VARIABLES = /\b(?:require\s*[(.]|module\.exports\b|exports\s*[.[=]|__filename\b|__dirname\b)/;
/** The stripper's version keys the transform cache's entries of stripped text. */
const STRIP_MODE = `strip; amaro ${(process.versions as { amaro?: string }).amaro ?? 'unknown'}`;

/**
 * What decides which of a config's modules Node loads itself in this process: Node's version,
 * its stripper's, and whether it strips types (what its flags, NODE_OPTIONS included, make of
 * that). Which modules another process found Node loads holds here only for the same runtime:
 * a worker forked from a node binary replaced since its primary started, or with other flags
 * (`worker_exec_argv`), finds out itself.
 */
export const LOADER_RUNTIME = `node ${process.version}; ${STRIP_MODE}; typescript ${String((process.features as { typescript?: unknown }).typescript ?? false)}`;

/** Thrown by the probe's first module to run: every local module linked. A string, so no stack is captured. */
const PROBE_DONE = `hostd: probe of ${process.pid}:${Math.random()}`;

/** The URL of a module of a graph that is not the first of its process (a reload's), in use or released. */
const TAGGED_URL = /\?hostd-config=\d+$/;

/** A module Node cannot load for the graph: the root is jiti's. */
class NotNative extends Error {}

/**
 * A probe's URL. Once its probe is over (Node may still link a module whose sibling failed),
 * it is linked no further and never Node's own to load: Node would run it without the probe's
 * throw, and a later probe of the graph would find it in Node's module map.
 */
const PROBE_URL = /\?hostd-probe=\d+$/;

interface Owner {
  readonly graph: NativeGraph;
  /** What follows the file's URL in its modules' URLs: '' or `?hostd-config=N`, `?hostd-probe=N`. */
  readonly tag: string;
  readonly probe: boolean;
  /** The URLs handed out for it, forgotten together. */
  readonly urls: Set<string>;
  /** A released graph's, made for one import its module made: its URLs are not the hooks' to keep. */
  readonly released?: true;
}

/** Every URL the hooks handed out for a graph in use, and whose it is. */
const owners = new Map<string, Owner>();
let registered = false;
let graphs = 0;
let probes = 0;
/** Whether some graph of this process already uses the files' own URLs. */
let ownUrlsTaken = false;
/** The URLs of that graph once it is released: no tag says they were a graph's. One graph's modules at most. */
const releasedOwnUrls = new Set<string>();
/** How a released graph's module imports (the same function from every graph: it keeps none of them). */
let newGraph: NewGraph | undefined;

/** How many module URLs the hooks know now: those of the graphs in use (a primary's debug log, tests). */
export function knownUrlCount(): number {
  return owners.size;
}

/** How many probes this process ran (a worker's debug log, tests). */
export function probeCount(): number {
  return probes;
}

let nodeImport: ((url: string) => Promise<ModuleExports>) | undefined;

/**
 * import() by Node's own loader, with its hooks, wherever this code runs: compiled here, not
 * by a bundler or a test runner (vitest would take the import over, and its own loader has
 * neither the hooks nor the generation's texts).
 */
function importByNode(url: string): Promise<ModuleExports> {
  nodeImport ??= runInThisContext('(url) => import(url)', { importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER }) as typeof nodeImport;
  return quietly(() => nodeImport!(url));
}

/** A module graph's native loading: one per graph, its URLs its own. */
export class NativeLoader {
  private readonly id = ++graphs;
  private readonly probe: Owner;
  private real: Owner | null = null;
  /** Probes under way: the probe's URLs are forgotten once none is. */
  private probing = 0;
  /** Imports under way (probes included): a release waits for them. */
  private loading = 0;
  private released = false;

  /** `afresh`: a new graph of the files on disk, for imports this graph's modules make once it is released. */
  constructor(
    private readonly graph: NativeGraph,
    afresh: NewGraph,
  ) {
    newGraph = afresh;
    this.probe = { graph, tag: `?hostd-probe=${this.id}`, probe: true, urls: new Set() };
  }

  /**
   * The exports of local module `file` loaded by Node, or null when it is not Node's to load
   * (the caller then loads it with jiti): nothing of the user's ran. `probe`: false when Node
   * is known to load it (its primary probed the same texts on the same runtime, LOADER_RUNTIME): a worker's config.
   */
  async import(file: string, probe = true): Promise<ModuleExports | null> {
    register();
    this.loading++;
    try {
      if (probe && !(await this.probes(file))) return null;
      if (this.real === null) {
        this.real = { graph: this.graph, tag: ownUrlsTaken ? `?hostd-config=${this.id}` : '', probe: false, urls: new Set() };
        ownUrlsTaken = true;
      }
      return await importByNode(claim(file, this.real));
    } finally {
      this.loading--;
      this.settle();
    }
  }

  /**
   * The graph is done with (a generation forgotten, a load that failed): the hooks forget its
   * URLs once no import of it is under way. An import() its modules start later goes through
   * a new graph of the files on disk (ownerOf).
   */
  release(): void {
    this.released = true;
    this.settle();
  }

  /** Whether Node links every local module of `file`'s graph, having run none of them. */
  private async probes(file: string): Promise<boolean> {
    probes++;
    this.probing++;
    try {
      await importByNode(claim(file, this.probe));
    } catch (error) {
      if (error !== PROBE_DONE) return false;
    } finally {
      // Another probe of the graph may still be linking modules this one linked too.
      if (--this.probing === 0) forget(this.probe);
    }
    return true;
  }

  private settle(): void {
    if (this.released && this.loading === 0 && this.real !== null) forget(this.real);
  }
}

/** The URL of `file` for `owner`, now known to the hooks (a released graph's: known by its tag, or kept among the own URLs). */
function claim(file: string, owner: Owner): string {
  const url = pathToFileURL(file).href + owner.tag;
  if (owner.released === undefined) owners.set(url, owner);
  owner.urls.add(url);
  return url;
}

/** The hooks no longer know `owner`'s URLs; Node's module map keeps what it loaded at them. */
function forget(owner: Owner): void {
  for (const url of owner.urls) {
    owners.delete(url);
    if (!owner.probe && owner.tag === '') releasedOwnUrls.add(url);
  }
  owner.urls.clear();
}

/** Who serves `url`: the graph in use that it is a module of, or, for a released graph's module, a new graph of the files on disk. */
function ownerOf(url: string): Owner | undefined {
  const owner = owners.get(url);
  if (owner !== undefined || newGraph === undefined) return owner;
  const tag = TAGGED_URL.exec(url)?.[0] ?? (releasedOwnUrls.has(url) ? '' : undefined);
  if (tag === undefined) return undefined;
  return { graph: newGraph(), tag, probe: false, urls: tag === '' ? releasedOwnUrls : new Set(), released: true };
}

function register(): void {
  if (registered) return;
  registered = true;
  node.registerHooks!({ resolve, load });
}

/** An import from a graph's module: a local module (another URL of the graph) or Node's own resolution. */
function resolve(specifier: string, context: ResolveContext, next: (specifier: string, context: ResolveContext) => ResolveResult): ResolveResult {
  // A root's URL is final. Node's resolution would follow symlinks to the real file, and remember that for the
  // process: a config reached through a release symlink (current -> releases/N) would load the first release at
  // every reload, and its probe would run the user's code, its URL no longer the graph's.
  if (owners.has(specifier)) return { url: specifier, shortCircuit: true };
  const owner = context.parentURL === undefined ? undefined : ownerOf(context.parentURL);
  if (owner === undefined) {
    if (context.parentURL !== undefined && PROBE_URL.test(context.parentURL)) throw new NotNative(`${context.parentURL}: its probe is over`);
    return next(specifier, context);
  }
  if (isBuiltin(specifier)) return next(specifier, context);
  const parentFile = fileURLToPath(context.parentURL!);
  let file = owner.graph.pathTarget(specifier, parentFile);
  if (file === undefined) throw owner.graph.notFound(specifier, parentFile);
  if (file === null) {
    let resolved: ResolveResult;
    try {
      // From the parent's real folder: Node's resolver remembers each folder's real path for the process,
      // so the path as named (current/, a release symlink) would find the first release's node_modules forever.
      resolved = next(specifier, { ...context, parentURL: pathToFileURL(realParent(parentFile)).href });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') throw owner.graph.notFound(specifier, parentFile);
      throw error;
    }
    if (!resolved.url.startsWith('file:')) return resolved;
    const path = fileURLToPath(resolved.url);
    if (!isOwnModule(specifier, path)) return resolved;
    file = path;
  }
  // A local JSON module is served as an ES module (below): with or without `with { type: 'json' }`, as jiti allows.
  return { url: claim(file, owner), shortCircuit: true, ...(file.endsWith('.json') ? { importAttributes: {} } : {}) };
}

/** The real path of a module's file, now (a release symlink switched since is followed), or the path as named when it cannot be had. */
function realParent(file: string): string {
  try {
    return realpathSync.native(file);
  } catch {
    return file;
  }
}

/** A graph's module: its generation's text, as an ES module Node can run. */
function load(url: string, context: object, next: (url: string, context: object) => LoadResult): LoadResult {
  const owner = ownerOf(url);
  if (owner === undefined) {
    if (PROBE_URL.test(url)) throw new NotNative(`${url}: its probe is over`);
    return next(url, context);
  }
  const file = fileURLToPath(url);
  const text = owner.graph.source(file);
  if (file.endsWith('.json')) {
    owner.graph.parseJson(text, file);
    return { format: 'module', source: `export default JSON.parse(${JSON.stringify(text)});\n`, shortCircuit: true };
  }
  const commonjs = isCommonJs(file, text);
  if (owner.probe) {
    if (commonjs) throw new NotNative(`${file} is CommonJS`);
    const code = TYPESCRIPT.test(file) ? stripped(text, file) : text;
    if (code === null) throw new NotNative(`${file}: TypeScript that Node does not strip`);
    if (COMMONJS_VARIABLES.test(code)) throw new NotNative(`${file} uses CommonJS's variables`);
    return { format: 'module', source: `throw ${JSON.stringify(PROBE_DONE)};${code}`, shortCircuit: true };
  }
  // A module the probe did not see (an import() while the config runs).
  const code = commonjs ? null : TYPESCRIPT.test(file) ? stripped(text, file) : text;
  return { format: 'module', source: code ?? evaluatedFacade(owner.graph.importNow(file)), shortCircuit: true };
}

const EVALUATED = Symbol.for('hostd.native.evaluated');
const evaluated = ((globalThis as Record<symbol, unknown>)[EVALUATED] ??= new Map<number, ModuleExports>()) as Map<number, ModuleExports>;
let facades = 0;

/**
 * An ES module exporting what a module the graph evaluated exports, as jiti's path gives it
 * (for CommonJS, every property of `module.exports`, not only those Node's lexer would find).
 */
function evaluatedFacade(exports: ModuleExports): string {
  const token = ++facades;
  evaluated.set(token, exports);
  const names = Object.keys(exports);
  return [
    `const m = globalThis[Symbol.for('hostd.native.evaluated')], e = m.get(${token});`,
    `m.delete(${token});`,
    ...names.map((name, i) => `const e${i} = e[${JSON.stringify(name)}];`),
    `export { ${names.map((name, i) => `e${i} as ${JSON.stringify(name)}`).join(', ')} };`,
    '',
  ].join('\n');
}

/**
 * TypeScript without its types, positions kept: from the transform cache, or Node's stripper;
 * null for syntax Node does not strip (an enum, a namespace, parameter properties). A syntax
 * error is reported as the jiti path reports it.
 */
function stripped(text: string, file: string): string | null {
  const cached = cachedTransform(file, text, STRIP_MODE);
  if (cached !== undefined) {
    forgetSourceMap(file);
    return cached;
  }
  let code: string;
  try {
    code = quietly(() => node.stripTypeScriptTypes!(text, { mode: 'strip', sourceUrl: file }));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX') return null;
    // Babel, through jiti, says where the problem is, in the words hostd has always used.
    compileModule(text, file, 'async');
    throw error;
  }
  storeTransform(file, text, STRIP_MODE, code);
  forgetSourceMap(file);
  return code;
}

/**
 * Calls `fn` without the experimental-feature warnings Node prints at the first use of its
 * stripper and of its main loader for compiled code: warnings meant for the user's own use of them.
 */
function quietly<T>(fn: () => T): T {
  const emitWarning = process.emitWarning;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const type = typeof rest[0] === 'string' ? rest[0] : (rest[0] as { type?: string } | undefined)?.type;
    if (type === 'ExperimentalWarning' && /stripTypeScriptTypes|USE_MAIN_CONTEXT_DEFAULT_LOADER/.test(String(warning))) return;
    (emitWarning as (...args: unknown[]) => void).call(process, warning, ...rest);
  }) as typeof process.emitWarning;
  try {
    return fn();
  } finally {
    process.emitWarning = emitWarning;
  }
}
