import type { ConfigIssue } from '../errors.ts';
import { didYouMean } from './suggest.ts';

/** The subset of a zod issue that hostd turns into a message. */
export interface SchemaIssue {
  readonly code: string;
  readonly path: readonly PropertyKey[];
  readonly message: string;
  readonly input?: unknown;
  readonly keys?: readonly string[];
  readonly params?: { readonly detail?: string };
}

/** A key that reads as itself in a path; any other (a newline, a dot, a space, nothing) is quoted, so a problem stays one unambiguous line. */
const PLAIN_KEY = /^[\p{L}\p{N}_$-]+$/u;

/** `bind[1]`, `env.PORT`, `post_fork[0]`, `env["a.b"]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else if (typeof part === 'string' && PLAIN_KEY.test(part)) out += out ? `.${part}` : part;
    else {
      const quoted = JSON.stringify(String(part));
      out += out ? `[${quoted}]` : quoted;
    }
  }
  return out;
}

/** A found value in a few words: `-2`, `"abc"`, `a function`, `an array`. */
export function describeValue(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
    case 'number':
    case 'boolean':
    case 'bigint':
      return String(value);
    case 'function':
      return 'a function';
    case 'undefined':
      return 'nothing';
    default:
      if (value === null) return 'null';
      return Array.isArray(value) ? 'an array' : 'an object';
  }
}

/**
 * Turns schema issues into one-line config issues for `source`: an unknown key gets a
 * "did you mean"; everything else reads `expected ..., got ...`.
 */
export function toConfigIssues(
  issues: readonly SchemaIssue[],
  source: string,
  knownKeys: Iterable<string>,
  prefix: readonly PropertyKey[] = [],
): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  // zod can fail one value twice with the same words (a type and a bound check on 1e21, a nullable string given []): one line each.
  const seen = new Set<string>();
  const add = (issue: ConfigIssue) => {
    const key = `${issue.path}\n${issue.message}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push(issue);
  };
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys ?? []) {
        add({ source, path: formatPath([...path, key]), message: `unknown key${didYouMean(key, knownKeys)}` });
      }
      continue;
    }
    const detail = issue.params?.detail ? ` (${issue.params.detail})` : '';
    add({ source, path: formatPath(path), message: `${issue.message}, got ${describeValue(issue.input)}${detail}` });
  }
  return out;
}
