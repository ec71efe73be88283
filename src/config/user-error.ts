/**
 * Turns an error from loading user code (a config, a preset, a hook module) into a
 * message that points at the user's file and line, with a few lines of context, and
 * no frames from hostd or its loader.
 */
import { readFileSync } from 'node:fs';
import { sep } from 'node:path';
import { HostdError } from '../errors.ts';
import { displayPath, HOSTD_CODE_DIR } from '../paths.ts';
import { quote } from '../text.ts';
import type { ModuleSources } from './modules.ts';
import { originalPosition } from './source-maps.ts';

// What jiti throws for a file that does not parse (the app loader; the config's module graph throws ModuleLoadError).
const PARSE_ERROR = /^(?:Error: )?ParseError: ([\s\S]*?)\s*\n\s*(\S+?):(\d+):(\d+)\s*$/;
// A module Node loaded for a later generation has `?hostd-config=N` in its URL (native.ts).
const FRAME = /^\s+at (?:(.*?) \()?(?:file:\/\/)?(\/[^():?]+|[A-Za-z]:\\[^():?]+)(?:\?hostd-config=\d+)?:(\d+):(\d+)\)?$/;

interface Location {
  file: string;
  line: number;
  column: number;
}

/** Where a module problem is: a file, a line when known, a column when known. */
export interface ModulePlace {
  readonly file: string;
  readonly line?: number | undefined;
  readonly column?: number | undefined;
}

/**
 * A module of a config that cannot be evaluated, found by hostd itself rather than thrown by
 * the user's code: a syntax error, invalid JSON, an import of something that is not there.
 */
export class ModuleLoadError extends HostdError {
  /** `problem`: what is wrong, for a user (`syntax error: Unexpected token`). */
  constructor(
    readonly at: ModulePlace,
    readonly problem: string,
  ) {
    super('HOSTD_ERR_CONFIG_LOAD', `${placeText(at.file, at)}: ${problem}`);
    this.name = 'ModuleLoadError';
  }
}

/** `file`, `file:line` or `file:line:column`, as much as `at` knows. */
function placeText(file: string, at: ModulePlace): string {
  if (!at.line) return file;
  return at.column === undefined ? `${file}:${at.line}` : `${file}:${at.line}:${at.column}`;
}

/** An error from loading `file` (e.g. `hostd.config.ts`), as a HostdError a user can act on. */
export function loadError(error: unknown, file: string, cwd = process.cwd(), sources: ModuleSources = {}): HostdError {
  return new HostdError('HOSTD_ERR_CONFIG_LOAD', describeLoadError(error, file, cwd, sources), { cause: error });
}

/**
 * What went wrong loading `file`, with paths relative to `cwd`. Code is quoted from
 * `sources` when it has the file (what was evaluated), else from disk.
 */
export function describeLoadError(error: unknown, file: string, cwd = process.cwd(), sources: ModuleSources = {}): string {
  const show = (path: string) => displayPath(path, cwd);
  const read = (path: string) => sources[path] ?? readFileSync(path, 'utf8');
  const what = show(file);
  if (!(error instanceof Error)) return `${what} threw ${typeof error === 'string' ? JSON.stringify(error) : String(error)} while loading`;

  if (error instanceof ModuleLoadError) {
    const { at } = error;
    const frame = at.line && at.column !== undefined ? codeFrame({ file: at.file, line: at.line, column: at.column }, read) : '';
    return `${placeText(show(at.file), at)}: ${error.problem}${frame}`;
  }

  const parse = PARSE_ERROR.exec(error.message);
  if (parse) {
    // Babel counts columns from 0, an editor from 1.
    const at = { file: parse[2]!, line: Number(parse[3]), column: Number(parse[4]) + 1 };
    return `${where(at, cwd)}: syntax error: ${parse[1]!.trim()}${codeFrame(at, read)}`;
  }

  if ((error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' || (error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') {
    const wanted = /Cannot find (?:module|package) '([^']+)'/.exec(error.message)?.[1];
    const importer = /Require stack:\n- (.+)/.exec(error.message)?.[1] ?? file;
    const line = wanted ? lineOf(importer, wanted, read) : undefined;
    const at = line ? `${show(importer)}:${line}` : show(importer);
    return `${at}: cannot find module ${wanted ? quote(wanted) : ''}${wanted?.startsWith('.') ? ' (check the path and extension)' : ' (is it installed?)'}`.replace('module  (', 'module (');
  }

  const frames = userFrames(error);
  const first = frames[0];
  // hostd's own errors (a preset's option it cannot honour) read as messages, not as exceptions.
  const kind = error instanceof HostdError ? '' : `${error.name}: `;
  const head = `${first ? `${where(first.at, cwd)}: ` : `${what}: `}${kind}${error.message}`;
  const stack = frames.map((f) => `    at ${f.fn ? `${f.fn} (${where(f.at, cwd)})` : where(f.at, cwd)}`).join('\n');
  return `${head}${first ? codeFrame(first.at, read) : ''}${stack ? `\n${stack}` : ''}`;
}

/**
 * What user code threw, in one line for a config problem: `Error: boom (at hostd.config.ts:3:9)`,
 * at the user's frame that threw when there is one.
 */
export function describeThrown(error: unknown, cwd = process.cwd()): string {
  try {
    if (!(error instanceof Error)) return typeof error === 'string' ? JSON.stringify(error) : String(error);
    const first = userFrames(error)[0];
    const kind = error instanceof HostdError ? '' : `${error.name}: `;
    return `${kind}${error.message}${first ? ` (at ${where(first.at, cwd)})` : ''}`;
  } catch {
    // What was thrown cannot even be turned into text (an object without a prototype, a hostile Proxy).
    return 'a value that cannot be shown';
  }
}

function where(at: Location, cwd: string): string {
  return `${displayPath(at.file, cwd)}:${at.line}:${at.column}`;
}

/**
 * The user's frames: the run of frames in user files at the top of the stack, up to the
 * first frame of hostd or its loader (what lies below is how hostd got there).
 */
export function userFrames(error: Error): { fn: string | undefined; at: Location }[] {
  const out: { fn: string | undefined; at: Location }[] = [];
  for (const line of (error.stack ?? '').split('\n')) {
    const m = FRAME.exec(line);
    if (!m) continue;
    const file = m[2]!;
    if (file.startsWith(HOSTD_CODE_DIR + sep) || /[\\/]node_modules[\\/]jiti[\\/]/.test(file) || file.startsWith('node:')) {
      if (out.length > 0) break;
      continue;
    }
    const fn = m[1]?.replace(/^async /, '');
    out.push({ fn: fn && fn !== 'Object.<anonymous>' && !fn.startsWith('eval_') ? fn : undefined, at: { file, ...originalPosition(file, Number(m[3]), Number(m[4])) } });
  }
  return out;
}

/** The line of `file` that names `specifier` in quotes: where it is imported. */
function lineOf(file: string, specifier: string, read: (file: string) => string): number | undefined {
  try {
    return importLine(read(file), specifier);
  } catch {
    return undefined;
  }
}

/** The first line of `text` naming `specifier` in quotes (1-based), if any. */
export function importLine(text: string, specifier: string): number | undefined {
  const index = text.split('\n').findIndex((l) => l.includes(`'${specifier}'`) || l.includes(`"${specifier}"`) || l.includes(`\`${specifier}\``));
  return index < 0 ? undefined : index + 1;
}

/** Two lines of context around `at`, with a caret under the column. */
export function codeFrame(at: Location, read: (file: string) => string): string {
  let lines: string[];
  try {
    lines = read(at.file).split('\n');
  } catch {
    return '';
  }
  if (at.line < 1 || at.line > lines.length) return '';
  const first = Math.max(1, at.line - 2);
  const last = Math.min(lines.length, at.line + 1);
  const width = String(last).length;
  const out: string[] = [];
  for (let n = first; n <= last; n++) {
    out.push(`${n === at.line ? '>' : ' '} ${String(n).padStart(width)} | ${lines[n - 1]}`);
    if (n === at.line) out.push(`  ${' '.repeat(width)} | ${' '.repeat(Math.max(0, at.column - 1))}^`);
  }
  return `\n${out.join('\n')}`;
}
