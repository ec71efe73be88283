/**
 * Where a line and column of transpiled code were in the user's file. Babel keeps lines
 * (`retainLines`) but not columns: it adds its helpers to the first line, drops type
 * annotations and rewrites `export default`, so a stack frame's column is off by whatever
 * it changed before it on that line. The module graph keeps the source map of each module
 * it transpiled, and errors shown to a user are mapped back through it.
 */
import { SourceMap, type SourceMapPayload } from 'node:module';

/** The last line of transpiled code, where the map is (followed, from jiti's cache, by the cache entry's hash). */
const INLINE_MAP = /\n\/\/# sourceMappingURL=data:application\/json;(?:charset=utf-8;)?base64,([A-Za-z0-9+/=]+)[^\n]*\n?$/;

/** By file: the map's text until an error needs it, then the map. The last compilation of a file wins. */
const maps = new Map<string, string | SourceMap>();

/**
 * Takes the inline source map off transpiled `code` and keeps it for `file` (or forgets the
 * file's map, for code that runs as written); returns the code without it. Taken off so
 * that Node, where it maps code compiled by `vm` itself, cannot map the positions twice.
 */
export function keepSourceMap(file: string, code: string): string {
  const inline = INLINE_MAP.exec(code);
  if (inline === null) {
    forgetSourceMap(file);
    return code;
  }
  maps.set(file, inline[1]!);
  return code.slice(0, inline.index);
}

/** For code that runs as written (whatever map comment it carries is of some other file). */
export function forgetSourceMap(file: string): void {
  maps.delete(file);
}

/** The position in `file` as the user wrote it, for a 1-based line and column of the code that ran. */
export function originalPosition(file: string, line: number, column: number): { line: number; column: number } {
  let map = maps.get(file);
  if (map === undefined) return { line, column };
  if (typeof map === 'string') {
    try {
      map = new SourceMap(JSON.parse(Buffer.from(map, 'base64').toString('utf8')) as SourceMapPayload);
    } catch {
      maps.delete(file);
      return { line, column };
    }
    maps.set(file, map);
  }
  const entry = map.findEntry(line - 1, column - 1) as Partial<{ generatedLine: number; originalSource: string; originalLine: number; originalColumn: number }>;
  // Nothing mapped at or before the column on this line: the line is still right (babel keeps lines).
  // Another source: babel composed a map the file itself carried (compiled JavaScript); its code is not what is quoted.
  if (entry.generatedLine !== line - 1 || entry.originalSource !== file || entry.originalLine === undefined || entry.originalColumn === undefined) return { line, column };
  return { line: entry.originalLine + 1, column: entry.originalColumn + 1 };
}
