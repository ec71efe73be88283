/**
 * Turns an error from loading user code (a config, a preset, a hook module) into a
 * message that points at the user's file and line, with a few lines of context, and
 * no frames from hostd or its loader.
 */
import { readFileSync } from 'node:fs';
import { sep } from 'node:path';
import { HostdError } from '../errors.ts';
import { displayPath, HOSTD_CODE_DIR } from '../paths.ts';

const PARSE_ERROR = /^(?:Error: )?ParseError: ([\s\S]*?)\s*\n\s*(\S+?):(\d+):(\d+)\s*$/;
const FRAME = /^\s+at (?:(.*?) \()?(?:file:\/\/)?(\/[^():]+|[A-Za-z]:\\[^():]+):(\d+):(\d+)\)?$/;

interface Location {
  file: string;
  line: number;
  column: number;
}

/** An error from loading `what` (e.g. `hostd.config.ts`), as a HostdError a user can act on. */
export function loadError(error: unknown, file: string, cwd = process.cwd()): HostdError {
  return new HostdError('HOSTD_ERR_CONFIG_LOAD', describeLoadError(error, file, cwd), { cause: error });
}

/** What went wrong loading `file`, with paths relative to `cwd`. */
export function describeLoadError(error: unknown, file: string, cwd = process.cwd()): string {
  const show = (path: string) => displayPath(path, cwd);
  const what = show(file);
  if (!(error instanceof Error)) return `${what} threw ${typeof error === 'string' ? JSON.stringify(error) : String(error)} while loading`;

  const parse = PARSE_ERROR.exec(error.message);
  if (parse) {
    const at = { file: parse[2]!, line: Number(parse[3]), column: Number(parse[4]) };
    return `${where(at, cwd)}: syntax error: ${parse[1]!.trim()}${codeFrame(at)}`;
  }

  if ((error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' || (error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') {
    const wanted = /Cannot find (?:module|package) '([^']+)'/.exec(error.message)?.[1];
    const importer = /Require stack:\n- (.+)/.exec(error.message)?.[1] ?? file;
    const line = wanted ? lineOf(importer, wanted) : undefined;
    const at = line ? `${show(importer)}:${line}` : show(importer);
    return `${at}: cannot find module ${wanted ? JSON.stringify(wanted) : ''}${wanted?.startsWith('.') ? ' (check the path and extension)' : ' (is it installed?)'}`.replace('module  (', 'module (');
  }

  const frames = userFrames(error);
  const first = frames[0];
  const head = `${first ? `${where(first.at, cwd)}: ` : `${what}: `}${error.name}: ${error.message}`;
  const stack = frames.map((f) => `    at ${f.fn ? `${f.fn} (${where(f.at, cwd)})` : where(f.at, cwd)}`).join('\n');
  return `${head}${first ? codeFrame(first.at) : ''}${stack ? `\n${stack}` : ''}`;
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
    out.push({ fn: fn && fn !== 'Object.<anonymous>' && !fn.startsWith('eval_') ? fn : undefined, at: { file, line: Number(m[3]), column: Number(m[4]) } });
  }
  return out;
}

function lineOf(file: string, text: string): number | undefined {
  try {
    const lines = readFileSync(file, 'utf8').split('\n');
    const index = lines.findIndex((l) => l.includes(`'${text}'`) || l.includes(`"${text}"`));
    return index < 0 ? undefined : index + 1;
  } catch {
    return undefined;
  }
}

/** Two lines of context around `at`, with a caret under the column. */
export function codeFrame(at: Location): string {
  let lines: string[];
  try {
    lines = readFileSync(at.file, 'utf8').split('\n');
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
