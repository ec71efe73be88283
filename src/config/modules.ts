/**
 * The modules of a config: the config file and the local modules it imports (TypeScript or
 * JavaScript, ESM or CommonJS, JSON), evaluated by hostd and each kept as the text it ran.
 * A worker evaluates its generation's texts (a replay) instead of the files on disk, so a
 * file edited, half-saved or deleted after the primary resolved the config changes nothing
 * in that generation. Packages are left to Node, so that `hostd` (and any other package) is
 * the same instance as in the rest of the process.
 */
import { readFileSync, statSync } from 'node:fs';
import { createRequire, isBuiltin } from 'node:module';
import { dirname, extname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { compileModule, type CompileMode, type ModuleBody, type ModuleExports, resolvePackage } from './load.ts';
import { isOwnModule, MODULE_SYNTAX, TYPESCRIPT } from './module-syntax.ts';
import { LOADER_RUNTIME, NATIVE_TYPESCRIPT, type NativeGraph, NativeLoader } from './native.ts';
import { quote } from '../text.ts';
import { importLine, ModuleLoadError, type ModulePlace } from './user-error.ts';

/** Absolute path → source text of every local module a config evaluated: a generation's code. */
export type ModuleSources = Readonly<Record<string, string>>;

/** Absolute path → who loaded a root of the graph (a config file, a preset module): Node itself (native.ts), or jiti. */
export type RootLoaders = Readonly<Record<string, 'node' | 'jiti'>>;

/** Who loaded each root of a graph, and on what runtime: what a graph of the same texts on the same runtime takes instead of probing (a worker's, from its primary). */
export interface LoaderVerdict {
  /** The runtime that found it (native.ts LOADER_RUNTIME): Node's version, its stripper's, whether it strips types. */
  readonly runtime: string;
  readonly roots: RootLoaders;
}

/** Tried in order after a local path written without its extension, then as `index.*` in a folder. */
const EXTENSIONS = ['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs', '.json'];
/** `./x.js` may stand for `./x.ts`, as TypeScript's NodeNext resolution allows. */
const TS_FOR_JS: Readonly<Record<string, string>> = { '.js': '.ts', '.mjs': '.mts', '.cjs': '.cts' };
/** A root Node may load itself (native.ts): an ES module, TypeScript or JavaScript. */
const NATIVE_ROOT = /\.m?[jt]s$/;

interface Entry {
  readonly file: string;
  /** What the module's code sees as `module`. */
  readonly module: { exports: unknown; readonly id: string; readonly filename: string; readonly path: string; loaded: boolean };
  state: 'evaluating' | 'evaluated' | 'failed';
  error: unknown;
  /** Settles once the module has been evaluated; undefined while its code runs synchronously. */
  done: Promise<void> | undefined;
  /** The local modules this one is waiting for now: to tell a cycle (never wait) from a module merely still evaluating. */
  readonly awaiting: Set<string>;
}

/** Where an import was written, for errors about it. */
interface Importer {
  readonly specifier: string;
  readonly file: string;
}

/**
 * One set of module instances: a module imported twice is evaluated once, and a cycle sees
 * the exports filled so far (as CommonJS does). A new graph evaluates everything afresh,
 * which is what a reload relies on.
 */
export class ModuleGraph {
  private readonly texts: Record<string, string> = {};
  private readonly entries = new Map<string, Entry>();
  /** Node's own loading of the graph's modules, where Node strips types by default (native.ts); null where it does not. */
  private readonly native: NativeLoader | null;
  /**
   * Set once a root needed jiti: the graph's later roots are jiti's too, so that a module they
   * share has one instance. (A module Node loaded for an earlier root would be evaluated again
   * by jiti if a later root, which Node could not load, imports it too.)
   */
  private jitiOnly = false;
  /** Who loaded each root: what another graph of the same texts can take instead of probing again. */
  private readonly found: Record<string, 'node' | 'jiti'> = Object.create(null) as Record<string, 'node' | 'jiti'>;

  /**
   * `replay`: texts to evaluate instead of the files on disk, by absolute path (a generation's `sources`).
   * `known`: who loaded the roots of those texts in the graph that read them (a worker's primary's `loaders`).
   */
  constructor(
    private readonly replay: ModuleSources = {},
    private readonly known: RootLoaders = {},
  ) {
    this.native = NATIVE_TYPESCRIPT ? new NativeLoader(this.nativeGraph(), ModuleGraph.fromDisk) : null;
  }

  /** A new graph of the files on disk now, as Node's module hooks see it: what a released graph's modules import through (native.ts). */
  private static fromDisk(): NativeGraph {
    return new ModuleGraph().nativeGraph();
  }

  /** The graph as Node's module hooks see it (native.ts). */
  private nativeGraph(): NativeGraph {
    return {
      source: (file) => this.source(file),
      pathTarget: (specifier, parentFile) => (isPathSpecifier(specifier) ? this.findLocal(specifierPath(specifier, parentFile)) : null),
      notFound: (specifier, parentFile) => this.notFound(specifier, parentFile),
      parseJson,
      importNow: (file) => namespaceOf(this.requireLocal(file)),
    };
  }

  /**
   * The graph is done with (its generation forgotten, its load failed): Node's module hooks
   * forget its modules once no import of it is under way (native.ts), so that nothing of the
   * process keeps the graph. Its modules' exports stay as they are.
   */
  release(): void {
    this.native?.release();
  }

  /** Every local module evaluated so far (replayed text, or text read from disk now), config file included. */
  get sources(): ModuleSources {
    return Object.freeze({ ...this.texts });
  }

  /** Who loaded each root imported so far, where Node could have (a root of those sources), on this runtime. */
  get loaders(): LoaderVerdict {
    return Object.freeze({ runtime: LOADER_RUNTIME, roots: Object.freeze({ ...this.found }) });
  }

  /** The text of a local file: replayed, or read from disk now; recorded either way. */
  source(file: string): string {
    let text = this.texts[file];
    if (text === undefined) {
      text = Object.hasOwn(this.replay, file) ? this.replay[file]! : readFileSync(file, 'utf8');
      this.texts[file] = text;
    }
    return text;
  }

  /**
   * Imports `specifier` as `parentFile` would (a relative path, an absolute path, a file: URL,
   * `#imports`, or a package): a local ES module by Node itself where it can (native.ts), else
   * as the graph evaluates modules with jiti's transform.
   */
  async import(specifier: string, parentFile: string): Promise<ModuleExports> {
    if (this.native !== null && !this.jitiOnly && isPathSpecifier(specifier)) {
      const file = this.findLocal(specifierPath(specifier, parentFile));
      if (file !== undefined && NATIVE_ROOT.test(file)) {
        // What the graph that read these texts found holds for them (on the same runtime, knownLoaders), not for a file read now.
        const known = Object.hasOwn(this.replay, file) && Object.hasOwn(this.known, file) ? this.known[file] : undefined;
        const exports = known === 'jiti' ? null : await this.native.import(file, known !== 'node');
        this.found[file] = exports === null ? 'jiti' : 'node';
        if (exports !== null) return exports;
        this.jitiOnly = true;
      }
    }
    return namespaceOf(await this.load(specifier, parentFile, undefined));
  }

  /** What an import yields in the terms of transpiled code: a local module's `module.exports`, or a package seen through `asCommonJs`. */
  private async load(specifier: string, parentFile: string, importer: Entry | undefined): Promise<unknown> {
    const target = this.locate(specifier, parentFile);
    if ('native' in target) return asCommonJs(await importNative(target.native));
    const known = this.entries.get(target.local);
    if (known?.state === 'failed') throw known.error;
    if (known?.state === 'evaluating' && (known.done === undefined || (importer !== undefined && this.waitsFor(known, importer.file)))) {
      return known.module.exports;
    }
    importer?.awaiting.add(target.local);
    try {
      const entry = known ?? this.evaluate(target.local);
      await entry.done;
      return entry.module.exports;
    } finally {
      importer?.awaiting.delete(target.local);
    }
  }

  /** `require()` in a local module: a local module is evaluated here, synchronously; a package or built-in is Node's. */
  private require(specifier: string, importer: Entry, nodeRequire: NodeJS.Require): unknown {
    const target = this.locate(specifier, importer.file);
    if ('native' in target) return asCommonJs(nodeRequire(specifier));
    const known = this.entries.get(target.local);
    if (known?.state === 'failed') throw known.error;
    // Still evaluating: a cycle, which gets the exports filled so far.
    if (known) return known.module.exports;
    return this.evaluate(target.local, { specifier, file: importer.file }).module.exports;
  }

  /** `module.exports` of local module `file`, evaluated synchronously now if it is not yet (a module Node's loading of the graph cannot run, native.ts). */
  private requireLocal(file: string): unknown {
    const known = this.entries.get(file);
    if (known?.state === 'failed') throw known.error;
    return (known ?? this.evaluate(file, { specifier: file, file })).module.exports;
  }

  /** Whether `entry` is `file`, or waits (through the modules it waits for) for `file`. */
  private waitsFor(entry: Entry, file: string): boolean {
    if (entry.file === file) return true;
    for (const next of entry.awaiting) {
      const waited = this.entries.get(next);
      if (waited && this.waitsFor(waited, file)) return true;
    }
    return false;
  }

  /** What `specifier` names from `parentFile`: a local module, evaluated here, or a package or built-in, which Node loads. */
  private locate(specifier: string, parentFile: string): { local: string } | { native: string } {
    if (isBuiltin(specifier)) return { native: specifier };
    if (isPathSpecifier(specifier)) {
      const file = this.findLocal(specifierPath(specifier, parentFile));
      if (file === undefined) throw this.notFound(specifier, parentFile);
      return { local: file };
    }
    const file = resolvePackage(specifier, parentFile);
    if (file === undefined) throw this.notFound(specifier, parentFile);
    return isOwnModule(specifier, file) ? { local: file } : { native: pathToFileURL(file).href };
  }

  /** The file a local path names: the file itself, `.ts` for `.js`, the path with an extension, a folder's index. */
  private findLocal(path: string): string | undefined {
    const ext = extname(path);
    const asTypeScript = TS_FOR_JS[ext] === undefined ? [] : [path.slice(0, -ext.length) + TS_FOR_JS[ext]];
    const candidates = [path, ...asTypeScript, ...EXTENSIONS.map((e) => path + e), ...EXTENSIONS.map((e) => join(path, `index${e}`))];
    // The replayed files first: one deleted since must not break a generation, nor one added beside it change it.
    return candidates.find((file) => Object.hasOwn(this.texts, file) || Object.hasOwn(this.replay, file)) ?? candidates.find(isFile);
  }

  /** `import.meta.resolve(specifier)` in a local module; like Node's, it does not require a local file to exist. */
  private resolveUrl(specifier: string, parentFile: string): string {
    if (isPathSpecifier(specifier)) {
      const path = specifierPath(specifier, parentFile);
      return pathToFileURL(this.findLocal(path) ?? path).href;
    }
    if (isBuiltin(specifier)) return specifier.startsWith('node:') ? specifier : `node:${specifier}`;
    const target = this.locate(specifier, parentFile);
    return 'local' in target ? pathToFileURL(target.local).href : target.native;
  }

  /**
   * Starts evaluating a local module, which runs its code up to its first await. `requiredBy`:
   * the require() that needs it, synchronously, rather than an import.
   */
  private evaluate(file: string, requiredBy?: Importer): Entry {
    const module = { exports: {} as unknown, id: file, filename: file, path: dirname(file), loaded: false };
    const entry: Entry = { file, module, state: 'evaluating', error: undefined, done: undefined, awaiting: new Set() };
    this.entries.set(file, entry);
    const failed = (error: unknown): never => {
      entry.state = 'failed';
      entry.error = error;
      throw error;
    };
    const evaluated = () => {
      entry.state = 'evaluated';
      module.loaded = true;
    };
    let result: unknown;
    try {
      result = this.run(entry, requiredBy);
    } catch (error) {
      failed(error);
    }
    if (result instanceof Promise) {
      entry.done = result.then(evaluated, failed);
    } else {
      evaluated();
      entry.done = Promise.resolve();
    }
    return entry;
  }

  /** Runs a module's code; for transpiled ES module code reached by an import, this returns a promise. */
  private run(entry: Entry, requiredBy: Importer | undefined): unknown {
    const { file, module } = entry;
    const text = this.source(file);
    if (extname(file) === '.json') {
      module.exports = parseJson(text, file);
      return undefined;
    }
    const transpiled = TYPESCRIPT.test(file) || extname(file) === '.mjs' || MODULE_SYNTAX.test(text);
    const body = this.compile(text, file, transpiled ? (requiredBy ? 'sync' : 'async') : 'as-is', requiredBy);
    const nodeRequire = createRequire(file);
    const require = Object.assign((specifier: string) => this.require(specifier, entry, nodeRequire), { resolve: nodeRequire.resolve, cache: nodeRequire.cache });
    return body.call(
      module.exports,
      module.exports,
      require,
      module,
      file,
      dirname(file),
      (specifier) => this.load(specifier, file, entry),
      (specifier) => this.resolveUrl(specifier, file),
    );
  }

  /** A module's body; one that cannot run synchronously (top-level await) cannot be required, which is said at the require(). */
  private compile(text: string, file: string, mode: CompileMode, requiredBy: Importer | undefined): ModuleBody {
    try {
      return compileModule(text, file, mode);
    } catch (error) {
      if (mode !== 'sync' || !(error instanceof SyntaxError) || !compiles(text, file, 'async')) throw error;
      const at = this.placeOf(requiredBy!);
      throw new ModuleLoadError(at, `cannot require ${quote(requiredBy!.specifier)}: it uses top-level await (import it instead)`);
    }
  }

  /** The line of `importer.file` that names `importer.specifier`, when the graph has its text. */
  private placeOf(importer: Importer): ModulePlace {
    const text = this.texts[importer.file];
    return { file: importer.file, line: text === undefined ? undefined : importLine(text, importer.specifier) };
  }

  /** The error for an import of nothing, at the line that wrote it, with what to check. */
  private notFound(specifier: string, parentFile: string): ModuleLoadError {
    const hint = isPathSpecifier(specifier) ? 'check the path and extension' : specifier.startsWith('#') ? 'check "imports" in package.json' : 'is it installed?';
    return new ModuleLoadError(this.placeOf({ specifier, file: parentFile }), `cannot find module ${quote(specifier)} (${hint})`);
  }
}

/**
 * What of the `loaders` another process sent (a worker's boot message, a LoaderVerdict) holds
 * here: nothing unless it was found on this very runtime (`runtime`, LOADER_RUNTIME: the node
 * binary may have been replaced since the primary started, or a worker run with other flags),
 * and of its roots, a path's `node` or `jiti` alone. What is left out is probed.
 */
export function knownLoaders(value: unknown, runtime: string = LOADER_RUNTIME): RootLoaders {
  const known: Record<string, 'node' | 'jiti'> = Object.create(null) as Record<string, 'node' | 'jiti'>;
  if (!isRecord(value) || value.runtime !== runtime || !isRecord(value.roots)) return known;
  for (const [file, loader] of Object.entries(value.roots)) {
    if (isAbsolute(file) && (loader === 'node' || loader === 'jiti')) known[file] = loader;
  }
  return known;
}

/** A plain object's own data, as JSON gives it (not null, not an array). */
function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Whether `text` compiles in `mode`. */
function compiles(text: string, file: string, mode: CompileMode): boolean {
  try {
    compileModule(text, file, mode);
    return true;
  } catch {
    return false;
  }
}

/** A relative or absolute path, or a file: URL (anything else is a package, a built-in or `#imports`). */
/** A path (`./x`, `../x`, `/x`, `file:`), not a package name. */
export function isPathSpecifier(specifier: string): boolean {
  return /^\.\.?(?:[\\/]|$)/.test(specifier) || specifier.startsWith('file:') || isAbsolute(specifier);
}

/** The absolute path a path specifier names from `parentFile`. */
function specifierPath(specifier: string, parentFile: string): string {
  return specifier.startsWith('file:') ? fileURLToPath(specifier) : resolve(dirname(parentFile), specifier);
}

/** Whether a file is on disk at `path` (a folder is not a module). */
function isFile(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isFile() ?? false;
}

/** A package or built-in, by Node itself (JSON with its import attribute). */
async function importNative(url: string): Promise<unknown> {
  return url.endsWith('.json') ? import(url, { with: { type: 'json' } }) : import(url);
}

const views = new WeakMap<object, object>();

/**
 * A module Node loaded, as transpiled code expects what it imports: an ES module namespace
 * becomes an object marked `__esModule` (the mark babel's interop looks for), so that a
 * default import is the module's default export and not the namespace itself.
 */
function asCommonJs(value: unknown): unknown {
  // The tag rather than types.isModuleNamespaceObject, which a proxied namespace (vitest's) fails.
  if (Object.prototype.toString.call(value) !== '[object Module]') return value;
  const namespace = value as ModuleExports;
  let view = views.get(namespace);
  if (view === undefined) {
    view = Object.defineProperty({}, '__esModule', { value: true });
    // Getters keep the bindings live (and do not read one before it is initialized).
    for (const key of Reflect.ownKeys(namespace)) {
      // Node's require() of an ES module with a default export adds `__esModule` to the namespace itself.
      if (typeof key === 'string' && key !== '__esModule') Object.defineProperty(view, key, { enumerable: true, get: () => namespace[key] });
    }
    views.set(namespace, view);
  }
  return view;
}

/** The namespace an import stands for: transpiled ES module exports as they are; CommonJS exports as `default`, their properties beside it. */
function namespaceOf(value: unknown): ModuleExports {
  const isObject = value !== null && (typeof value === 'object' || typeof value === 'function');
  if (isObject && (value as { __esModule?: unknown }).__esModule) return value as ModuleExports;
  return isObject ? { ...(value as object), default: value } : { default: value };
}

/** A JSON module's value; invalid JSON is reported at its line and column. */
function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const message = (error as Error).message;
    const position = /position (\d+)/.exec(message);
    let at: ModulePlace = { file };
    if (position) {
      const before = text.slice(0, Number(position[1]));
      at = { file, line: before.split('\n').length, column: before.length - before.lastIndexOf('\n') };
    }
    throw new ModuleLoadError(at, `invalid JSON: ${message.replace(/ in JSON at position \d+.*$/, '')}`);
  }
}
