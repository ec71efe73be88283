/**
 * A worker's side of wire.ts: prom-client's `getMetricsAsJSON()` turned into parts, each
 * series by number. A series keeps its number while the worker lives: found again by its
 * position in its family (prom-client lists a metric's series in the order they were made,
 * so the same position with the same name and labels is the same series, checked without
 * building a key) or, when it moved, by its name and labels.
 */
import { Slices } from './slices.ts';
import { DEF_UNITS, encodeValue, MAX_PART_FAMILIES, MAX_SERIES_NUMBER, PART_UNITS, type ScrapePart, type ScrapeRequest, type WireFamily } from './wire.ts';

/** Sends a part to the primary; resolves once it was written, with false when it cannot be. */
export type SendPart = (part: ScrapePart) => Promise<boolean>;

type Entry = { readonly value?: unknown; readonly labels?: unknown; readonly metricName?: unknown };

/** A family's values in the last answer, by position: sample name, labels and series number. */
interface Positions {
  readonly names: unknown[];
  readonly labels: object[];
  readonly numbers: number[];
}

const NOTHING = {};

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

/** Shallow equality of two label sets: prom-client hands the same object for a counter's series, new ones for a histogram's. */
function sameLabels(a: object, b: object): boolean {
  if (a === b) return true;
  let count = 0;
  for (const k in a) {
    if ((a as Record<string, unknown>)[k] !== (b as Record<string, unknown>)[k]) return false;
    count++;
  }
  for (const _ in b) count--;
  return count === 0;
}

function newEpoch(previous: number): number {
  for (;;) {
    const epoch = 1 + Math.floor(Math.random() * (MAX_SERIES_NUMBER - 1));
    if (epoch !== previous) return epoch;
  }
}

export class ScrapeEncoder {
  epoch = newEpoch(0);
  private next = 0;
  private readonly byKey = new Map<string, number>();
  private readonly positions = new Map<string, Positions>();

  /** The answer to `request` when the app has no registry (`failed`: it could not be read). */
  empty(request: ScrapeRequest, failed = false): ScrapePart {
    return { t: 'metrics', id: request.id, epoch: this.epoch, last: true, families: null, ...(failed ? { failed } : {}) };
  }

  /** Sends `metrics` (prom-client's JSON) as the answer to `request`; false when a part could not be sent. */
  async encode(request: ScrapeRequest, metrics: readonly unknown[], send: SendPart): Promise<boolean> {
    let series = 0;
    for (const m of metrics) if (isObject(m) && Array.isArray(m.values)) series += m.values.length;
    // Numbers of series that went away are not reused: renumber before they pile up.
    if (this.next > 2 * series + 10_000) this.renumber();
    const { id } = request;
    const epoch = this.epoch;
    const known = request.epoch === epoch ? request.known : 0;
    const slices = new Slices();
    let part: WireFamily[] = [];
    let units = 0;
    const flush = async (last: boolean) => {
      const families = part;
      part = [];
      units = 0;
      return send({ t: 'metrics', id, epoch, last, families });
    };
    const seen = new Set<string>();
    for (const m of metrics) {
      if (!isObject(m) || typeof m.name !== 'string' || !Array.isArray(m.values) || seen.has(m.name)) continue;
      seen.add(m.name);
      const head = { name: m.name, help: m.help, type: m.type, aggregator: m.aggregator ?? 'sum' };
      // Updated in place: a scrape of a large registry allocates no second copy of it.
      let at = this.positions.get(m.name);
      if (at === undefined) this.positions.set(m.name, (at = { names: [], labels: [], numbers: [] }));
      let defs: unknown[] = [];
      let values: unknown[] = [];
      const entries = m.values as readonly unknown[];
      for (let i = 0; i < entries.length; i++) {
        const entry = entries[i] as Entry;
        const labels = isObject(entry) ? (entry.labels ?? {}) : null;
        if (!isObject(entry) || typeof entry.value !== 'number' || !isObject(labels)) {
          // Nothing to send; its position matches nothing next time.
          at.names[i] = undefined;
          at.labels[i] = NOTHING;
          at.numbers[i] = -1;
          continue;
        }
        const name = entry.metricName ?? null;
        let n: number;
        if (i < at.numbers.length && at.numbers[i]! >= 0 && at.names[i] === name && sameLabels(at.labels[i]!, labels)) {
          n = at.numbers[i]!;
          // The same labels in a new object (a histogram's): compared by identity first next time.
          at.labels[i] = labels;
        } else {
          n = this.numberOf(m.name, name, labels);
          at.names[i] = name;
          at.labels[i] = labels;
          at.numbers[i] = n;
        }
        if (n >= known) {
          defs.push(n, name, labels);
          units += DEF_UNITS;
        }
        values.push(n, encodeValue(entry.value));
        units++;
        if (units >= PART_UNITS) {
          part.push({ ...head, defs, values });
          defs = [];
          values = [];
          if (!(await flush(false))) return false;
        } else if (slices.due()) {
          await slices.next();
        }
      }
      at.names.length = at.labels.length = at.numbers.length = entries.length;
      if (values.length > 0) part.push({ ...head, defs, values });
      if (part.length >= MAX_PART_FAMILIES && !(await flush(false))) return false;
    }
    for (const name of this.positions.keys()) if (!seen.has(name)) this.positions.delete(name);
    return flush(true);
  }

  private numberOf(family: string, name: unknown, labels: object): number {
    const key = JSON.stringify([family, name, Object.entries(labels).sort((x, y) => (x[0] < y[0] ? -1 : 1))]);
    let n = this.byKey.get(key);
    if (n === undefined) {
      n = this.next++;
      this.byKey.set(key, n);
    }
    return n;
  }

  private renumber(): void {
    this.epoch = newEpoch(this.epoch);
    this.next = 0;
    this.byKey.clear();
    this.positions.clear();
  }
}
