/**
 * Reads a config object or preset that user code made into plain data, once. A getter or
 * a Proxy trap can run code on every read; one that throws must be the user's problem,
 * at the key it is in, not an exception out of hostd. Past this point hostd (and zod)
 * only read plain values.
 */
/** A read that threw: where, and what it threw. */
export class Unreadable {
  constructor(
    readonly path: readonly PropertyKey[],
    readonly error: unknown,
  ) {}
}

/** An object with no prototype but Object's (or none): what a config or preset literal is. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Runs `read`, turning what it throws into an Unreadable at `path`. */
export function attempt<T>(path: readonly PropertyKey[], read: () => T): T {
  try {
    return read();
  } catch (error) {
    throw error instanceof Unreadable ? error : new Unreadable(path, error);
  }
}

/**
 * A copy of `value` in which every plain object and array is a fresh one, read through
 * once; functions and other objects are kept as they are (they are judged, not read).
 * Throws an Unreadable for the first read that throws. `seen` stops at a cycle.
 */
export function plainCopy(value: unknown, path: readonly PropertyKey[] = [], seen = new Set<object>()): unknown {
  if (value === null || typeof value !== 'object' || seen.has(value)) return value;
  const isArray = attempt(path, () => Array.isArray(value));
  if (!isArray && !attempt(path, () => isPlainObject(value))) return value;
  seen.add(value);
  const source = value as Record<PropertyKey, unknown>;
  let copy: unknown;
  if (isArray) {
    const length = attempt(path, () => (value as unknown[]).length);
    copy = Array.from({ length }, (_, index) => plainCopy(attempt([...path, index], () => source[index]), [...path, index], seen));
  } else {
    const out: Record<string, unknown> = {};
    for (const key of attempt(path, () => Object.keys(value))) {
      // Defined, not assigned: a key named __proto__ stays a key, as a spread keeps it.
      Object.defineProperty(out, key, { value: plainCopy(attempt([...path, key], () => source[key]), [...path, key], seen), enumerable: true, writable: true, configurable: true });
    }
    copy = out;
  }
  seen.delete(value);
  return copy;
}
