/**
 * How a worker's app metrics travel to the primary. A scrape of 100k series is ~5 MB of
 * prom-client JSON: stringified in one piece it blocks the worker, parsed in one piece it
 * blocks the primary, and both block again at every scrape. So a worker answers in parts of
 * bounded size, waiting for each to be written before it builds the next (its event loop
 * and its heartbeat go on between parts), and it names each series by a number: a series's
 * name and labels (its definition) are sent once, and afterwards only its number and value.
 *
 * The primary says which definitions it has: `epoch` names the worker's numbering it holds
 * and `known` is one more than the highest number it has a definition for. The worker sends
 * the definition of every series numbered `known` or above, or of every series when the
 * epoch is not its own (a new numbering, or a primary that lost track and asks with 0).
 */

/** A series's value on the wire: JSON has no NaN or infinities, so they travel as the text formats write them. */
export type WireValue = number | 'NaN' | '+Inf' | '-Inf';

/**
 * One metric family (or a slice of one: a family may continue in the next part, with the
 * same header). The header is prom-client's, as the app's registry gave it: checked by the primary.
 */
export interface WireFamily {
  readonly name: unknown;
  readonly help: unknown;
  readonly type: unknown;
  readonly aggregator: unknown;
  /** Flat triples: series number, sample name (`x_bucket`; null for the family's own name), labels. */
  readonly defs: readonly unknown[];
  /** Flat pairs: series number, value. */
  readonly values: readonly unknown[];
}

/**
 * The id of a worker's last answer, sent unasked once its stop is done and before it exits, so
 * that what it counted while draining is not lost (the primary's requests count from 1). It
 * defines every series: the worker does not know what the primary holds.
 */
export const LAST_ANSWER_ID = 0;

/** Primary → worker: send your app metrics. */
export interface ScrapeRequest {
  readonly t: 'metrics';
  readonly id: number;
  readonly epoch: number;
  readonly known: number;
}

/** Worker → primary: one part of the answer to request `id`. */
export interface ScrapePart {
  readonly t: 'metrics';
  readonly id: number;
  readonly epoch: number;
  /** The answer's last part. */
  readonly last: boolean;
  /** null: the app has no prom-client registry (the only part). */
  readonly families: readonly WireFamily[] | null;
  /** The registry could not be read (a collect function threw or hung): the only part. */
  readonly failed?: boolean;
}

/**
 * How much one part carries, in units: a value pair is 1, a definition 4 (its labels).
 * 8192 units is 100 to 150 KB of JSON with labels of a few short values: about a
 * millisecond to build, write or parse.
 */
export const PART_UNITS = 8192;
export const DEF_UNITS = 4;
/** The most families one part may carry. */
export const MAX_PART_FAMILIES = 1024;
/** The most series one worker's answer may carry; a larger answer is not used (the worker counts as not answering). */
export const MAX_SERIES = 1_000_000;
/** Series numbers stay below this; a worker renumbers (a new epoch) long before. */
export const MAX_SERIES_NUMBER = 2 ** 31;

export function encodeValue(value: number): WireValue {
  if (Number.isFinite(value)) return value;
  return Number.isNaN(value) ? 'NaN' : value > 0 ? '+Inf' : '-Inf';
}

/** A value from the wire, or undefined when it is not one. */
export function decodeValue(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (value === 'NaN') return Number.NaN;
  if (value === '+Inf') return Infinity;
  if (value === '-Inf') return -Infinity;
  return undefined;
}

const isNumber = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;

/**
 * A part's outer shape, checked at the IPC boundary; the families inside are checked one
 * by one as they are merged (app-state.ts). Null when it is not a part.
 */
export function parseScrapePart(m: Record<string, unknown>): ScrapePart | null {
  if (!isNumber(m.id) || !isNumber(m.epoch) || typeof m.last !== 'boolean') return null;
  const failed = m.failed === true;
  if (m.families === null || failed) return m.last ? { t: 'metrics', id: m.id, epoch: m.epoch, last: true, families: null, failed } : null;
  if (!Array.isArray(m.families) || m.families.length > MAX_PART_FAMILIES) return null;
  return { t: 'metrics', id: m.id, epoch: m.epoch, last: m.last, families: m.families as WireFamily[] };
}
