/**
 * The app's prom-client metrics from every worker, merged in the primary the way prom-client's
 * `AggregatorRegistry` merges node:cluster workers (series with the same name and labels are
 * combined by the metric's `aggregator`: `sum`, `first`, `min`, `max`, `average`; `omit`
 * leaves the metric out), with one difference that makes a merged counter a counter:
 *
 * - Each worker's last complete answer is kept, and used while the worker does not answer
 *   (a scrape that finds it busy shows what it said last, not nothing).
 * - What a worker had counted stays in the sum when it stops counting it: when the worker
 *   exits (reload, scale down, crash, `max_requests`, `max_memory`), when one of its series
 *   goes away (prom-client's `remove()`, `reset()`, `register.clear()`) and when one of its
 *   counts goes down (a reset). This holds for the samples of counters, histograms and
 *   summaries' `_sum` and `_count` whose aggregator is `sum` (their default). A histogram's or
 *   summary's samples of one label set are reset together when its `_count` or a bucket goes
 *   down; a `_sum` that goes down alone is not a reset (observations may be negative): it is
 *   the sum of the observations, and goes down with them. Gauges (and summaries' quantiles)
 *   of a gone worker go away.
 *
 * So a merged counter (and a `_count` or bucket) never goes down while the primary runs; it
 * does not include what a worker counted after its last answer (a stopped worker sends one
 * as it exits, LAST_ANSWER_ID). What is kept is one sum per series (name and labels),
 * whichever workers counted it, for a bounded number of series (twice the most the live
 * workers had at once, within MIN_KEPT and MAX_KEPT): past that, what a gone worker
 * counted of a series not yet kept is dropped (and counted), so a label with a value per
 * process cannot grow the primary without end. Everything here is fed from untrusted
 * messages: each family, definition and value is checked before it is used; what fails a
 * check is left out, or the whole answer is when its shape is wrong (the worker's last
 * answer stands).
 *
 * Work proportional to the series runs in slices (slices.ts), one task at a time: applying
 * an answer, forgetting gone workers and rendering never interleave.
 */
import { familyHeader, formatValue, type Format, LABEL_NAME, METRIC_NAME, METRIC_TYPES, type MetricType, labelText, sampleName } from './exposition.ts';
import { Serial, Slices } from './slices.ts';
import { decodeValue, LAST_ANSWER_ID, MAX_SERIES, MAX_SERIES_NUMBER, type ScrapePart, type WireFamily } from './wire.ts';

type Aggregator = 'sum' | 'first' | 'min' | 'max' | 'average';
const AGGREGATORS: readonly string[] = ['sum', 'first', 'min', 'max', 'average'];
const MAX_TEXT = 4096;
const MAX_LABELS = 64;

interface FamilyState {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  readonly aggregator: Aggregator;
  /** By key: the sample's name and its labels as written. */
  readonly samples: Map<string, Series>;
}

/** One series of the merged output. */
class Series {
  /** It keeps what gone workers and reset counts had counted (`kept`, 0 or more), and stays in the output while the primary runs. */
  held = false;
  /** What gone workers and reset counts had counted (held samples only). */
  kept = 0;
  /** Workers whose last answer has it. */
  refs = 0;
  /** Series numbers of live workers defined as it. */
  defs = 0;
  /** A render's scratch: the combined value of this render (`stamp`) over `n` workers. */
  stamp = 0;
  acc = 0;
  n = 0;
  /** Its name and labels in `format`: the key, but for an OpenMetrics counter's `_total`. */
  written(format: Format): string {
    const name = sampleName(this.family.name, this.family.type, this.name, format);
    return name === this.name ? this.key : name + this.key.slice(this.name.length);
  }

  /** An apply's scratch (marks tell which apply wrote them): in the new answer (and its value), in both, its group reset. */
  nowMark = 0;
  now = 0;
  bothMark = 0;
  resetMark = 0;

  constructor(
    readonly family: FamilyState,
    /** `name{labels}`, as Prometheus's format writes it. */
    readonly key: string,
    readonly name: string,
    /** Kept in the sum when a worker stops counting it. */
    readonly keeps: boolean,
    /**
     * A histogram's or summary's samples of one label set are one series for resets: the key
     * of its `_count` sample, which stands for the group (null for a counter's sample).
     */
    readonly groupKey: string | null,
    /** A histogram's or summary's `_sum`: it may go down without a reset (negative observations). */
    readonly isSum: boolean,
  ) {}
}

/** Defined as a series that is left out (its family or labels failed a check). */
const LEFT_OUT = null;

/** One worker's answer: its series and their values, in the order sent. */
interface Answer {
  readonly series: Series[];
  readonly values: number[];
}

const NO_ANSWER: Answer = { series: [], values: [] };

interface WorkerState {
  /** The worker's numbering the definitions are for (0: none yet). */
  epoch: number;
  /** Series by number; LEFT_OUT for one defined but not used. */
  /** By series number: a Map, since a worker (app code) chooses the numbers, up to 2^31: an array would be that long. */
  defs: Map<number, Series | typeof LEFT_OUT>;
  defined: number;
  /** One more than the highest number defined. */
  known: number;
  /** Its last complete answer. */
  last: Answer | null;
  /** The answer coming in. */
  pending: { readonly id: number; readonly answer: Answer; parts: number } | null;
  /** Ask for every definition next time: the numbering was lost track of. */
  resync: boolean;
  /** Families it defines with another type than the one merged: retried once that one is gone. */
  readonly conflicts: Set<string>;
  /** Its unasked last answer, once it began: a worker sends one as it exits, so any more (app code can send anything) are ignored. */
  lastAnswer: LastAnswer | null;
}

export type PartResult = 'more' | 'done' | 'failed' | 'ignored';

/** A worker's last answer: its parts are coming, or it came and is used, or it failed (the answer before it stands). */
export type LastAnswer = 'coming' | 'used' | 'failed';

const isNumber = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0 && (value as number) < MAX_SERIES_NUMBER;

/**
 * The series the primary holds for what gone workers and resets counted are bounded, since a
 * label with a value per process or per request, with workers replaced (`max_requests`,
 * `max_memory`), would otherwise grow the primary without end: at KEPT_PER_LIVE times the most
 * series the live workers had at once (an app's own series, up to MAX_KEPT, are all kept across
 * a reload, with room for those a deploy removes), at least MIN_KEPT and at most MAX_KEPT. A
 * held series costs the primary about 640 bytes (bench/scrape/kept.ts): MIN_KEPT is about
 * 60 MiB, MAX_KEPT (as many as one worker's answer may carry) about 600 MiB, reached only by
 * an app whose live series alone cost the primary half of that.
 */
export const MIN_KEPT = 100_000;
export const MAX_KEPT = MAX_SERIES;
export const KEPT_PER_LIVE = 2;

/** What the merge is told besides its failures. */
export interface AppMetricsOptions {
  /** The first time a kept series is dropped at the bound (a warning, once), with the bound. */
  readonly onDropped?: (bound: number) => void;
  /** @default MIN_KEPT */
  readonly minKept?: number;
  /** @default MAX_KEPT */
  readonly maxKept?: number;
}

/**
 * The names a family's samples can have, as prom-client writes them: only these, so that one
 * family cannot write another's samples (a family `x` writing `x_total` of a counter `x_total`,
 * or `hostd_requests_total` from a family named `hostd`).
 */
const SAMPLE_SUFFIXES: Readonly<Record<MetricType, readonly string[]>> = {
  counter: [''],
  gauge: [''],
  untyped: [''],
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['', '_sum', '_count'],
};

/** A family's header from the wire, checked; null when the family is to be left out. */
function header(raw: WireFamily): Omit<FamilyState, 'samples'> | null {
  const { name, help, type, aggregator } = raw;
  if (typeof name !== 'string' || name.length > MAX_TEXT || !METRIC_NAME.test(name) || name.startsWith('hostd_')) return null;
  if (typeof help !== 'string' || help.length > MAX_TEXT) return null;
  if (!METRIC_TYPES.includes(type as MetricType)) return null;
  // `omit`, or one prom-client does not know (it would throw and lose the whole scrape).
  if (typeof aggregator !== 'string' || !AGGREGATORS.includes(aggregator)) return null;
  return { name, help, type: type as MetricType, aggregator: aggregator as Aggregator };
}

/** Whether a sample stays in the sum when a worker stops counting it, and the label that tells its group's samples apart. */
function keeping(family: FamilyState, name: string): { keeps: boolean; within: string | null } {
  if (family.aggregator !== 'sum') return { keeps: false, within: null };
  const f = family.name;
  switch (family.type) {
    case 'counter':
      return { keeps: true, within: null };
    case 'histogram':
      return { keeps: name === `${f}_bucket` || name === `${f}_sum` || name === `${f}_count`, within: 'le' };
    case 'summary':
      return { keeps: name === `${f}_sum` || name === `${f}_count`, within: 'quantile' };
    default:
      return { keeps: false, within: null };
  }
}

export class AppMetrics {
  private readonly families = new Map<string, FamilyState>();
  private readonly workers = new Map<number, WorkerState>();
  private readonly serial = new Serial();
  /** Definitions were dropped outside a task: sweep before the next render. */
  private dirty = false;
  private stamp = 0;
  private marks = 0;
  /** Series held (`Series.held`). */
  private held = 0;
  /** Series in a live worker's last answer (`Series.refs` above 0), and the most there were at once. */
  private live = 0;
  private peakLive = 0;
  private readonly minKept: number;
  private readonly maxKept: number;
  /** Times what a gone worker or a reset had counted of a series was dropped, the series not being held at the bound. */
  dropped = 0;

  /** `onError`: a task failed (a bug: the input was checked); the merge goes on with the next one. */
  constructor(
    private readonly onError: (error: unknown) => void = () => {},
    private readonly options: AppMetricsOptions = {},
  ) {
    this.minKept = options.minKept ?? MIN_KEPT;
    this.maxKept = options.maxKept ?? MAX_KEPT;
  }

  /** Series held for what gone workers and resets counted. */
  get heldSeries(): number {
    return this.held;
  }

  /** The most series held, but for the rest of a group held: KEPT_PER_LIVE times the most live at once, within [minKept, maxKept]. */
  get keptBound(): number {
    return Math.min(this.maxKept, Math.max(this.minKept, KEPT_PER_LIVE * this.peakLive));
  }

  /** Queues a task whose result nobody waits for. */
  private background(task: () => Promise<void>): void {
    this.serial.run(task).catch(this.onError);
  }

  /** Begins waiting for answer `id` of worker `age`; returns what to ask it for. */
  ask(age: number, id: number): { epoch: number; known: number } {
    let w = this.workers.get(age);
    if (w === undefined) {
      w = { epoch: 0, defs: new Map(), defined: 0, known: 0, last: null, pending: null, resync: false, conflicts: new Set(), lastAnswer: null };
      this.workers.set(age, w);
    }
    // Definitions pile up as series come and go; a worker renumbers long before this.
    if (w.resync || w.defined > 2 * MAX_SERIES) this.dropDefs(w);
    w.pending = { id, answer: { series: [], values: [] }, parts: 0 };
    return { epoch: w.epoch, known: w.known };
  }

  /** Stops waiting for worker `age`'s answer (it took too long); its last answer stands. */
  abandon(age: number): void {
    const w = this.workers.get(age);
    if (w === undefined) return;
    // Its parts may still come: without the rest of this answer, its numbering cannot be trusted.
    if (w.pending !== null) w.resync = true;
    if (w.pending?.id === LAST_ANSWER_ID) w.lastAnswer = 'failed';
    w.pending = null;
  }

  /** Where worker `age`'s unasked last answer is; null before it began. */
  lastAnswer(age: number): LastAnswer | null {
    return this.workers.get(age)?.lastAnswer ?? null;
  }

  /**
   * One part of worker `age`'s answer. `done`: the answer is complete, and is applied before
   * the next render; `failed`: it is not used (its last answer stands); `ignored`: not an
   * answer being waited for.
   */
  part(age: number, part: ScrapePart): PartResult {
    // A worker's last answer comes unasked, after any it was asked for: it is waited for from its first part, once.
    if (part.id === LAST_ANSWER_ID && this.workers.get(age)?.pending?.id !== LAST_ANSWER_ID) {
      if (this.workers.get(age)?.lastAnswer != null) return 'ignored';
      this.ask(age, LAST_ANSWER_ID);
      this.workers.get(age)!.lastAnswer = 'coming';
    }
    const w = this.workers.get(age);
    const pending = w?.pending;
    if (w === undefined || pending == null || pending.id !== part.id) return 'ignored';
    // Parts before it may have defined series the rest of the answer would have: ask for every definition again.
    if (part.failed === true) return this.fail(w, pending.parts > 0);
    if (part.families === null) {
      // "No registry" ends an answer only as its one part.
      if (pending.parts > 0) return this.fail(w, true);
      this.complete(w);
      this.background(() => this.apply(age, w, NO_ANSWER));
      return 'done';
    }
    if (pending.parts++ === 0 && part.epoch !== w.epoch) {
      // A new numbering: this answer defines every series again.
      this.dropDefs(w);
      w.epoch = part.epoch;
    } else if (part.epoch !== w.epoch) {
      return this.fail(w, true);
    }
    for (const raw of part.families) {
      if (raw === null || typeof raw !== 'object' || !Array.isArray(raw.defs) || !Array.isArray(raw.values) || raw.defs.length % 3 !== 0 || raw.values.length % 2 !== 0) return this.fail(w, true);
      const family = this.family(w, raw);
      if (!this.define(w, family, raw.defs)) return this.fail(w, true);
      const values = raw.values;
      for (let i = 0; i < values.length; i += 2) {
        const n = values[i];
        if (!isNumber(n)) return this.fail(w, true);
        const series = w.defs.get(n);
        // A number it never defined: the numbering is out of step.
        if (series === undefined) return this.fail(w, true);
        if (series === LEFT_OUT || series.family !== family) continue;
        const value = decodeValue(values[i + 1]);
        if (value === undefined) continue;
        pending.answer.series.push(series);
        pending.answer.values.push(value);
      }
      if (pending.answer.series.length > MAX_SERIES) return this.fail(w, true);
    }
    if (!part.last) return 'more';
    this.complete(w);
    this.background(() => this.apply(age, w, pending.answer));
    return 'done';
  }

  /** Workers not in `alive` are gone: their counters and histograms stay in the sums, the rest of theirs goes. Never rejects. */
  forget(alive: ReadonlySet<number>): Promise<void> {
    return this.serial.run(async () => {
      const slices = new Slices();
      for (const [age, w] of this.workers) {
        if (alive.has(age)) continue;
        this.workers.delete(age);
        const { series, values } = w.last ?? NO_ANSWER;
        for (let i = 0; i < series.length; i++) {
          const s = series[i]!;
          this.keep(s, values[i]!);
          if (--s.refs === 0) this.live--;
          if (slices.due()) await slices.next();
        }
        this.dropDefs(w);
      }
      // A family another type took: once nothing live has that one, it is replaced (what it kept goes with it).
      for (const w of this.workers.values()) {
        for (const name of w.conflicts) {
          const family = this.families.get(name);
          if (family !== undefined && [...family.samples.values()].some((s) => s.refs > 0 || s.defs > 0)) continue;
          if (family !== undefined) for (const s of family.samples.values()) if (s.held) this.held--;
          this.families.delete(name);
          w.conflicts.delete(name);
          w.resync = true;
        }
      }
      if (this.dirty) await this.sweepAll(slices);
    }).catch(this.onError);
  }

  /**
   * The merged app metrics as text in each of `formats`: the workers' last answers, oldest
   * worker first (the `first` aggregator takes its value), and what gone workers kept.
   */
  render(formats: readonly Format[]): Promise<Map<Format, string>> {
    return this.serial.run(async () => {
      const slices = new Slices();
      if (this.dirty) await this.sweepAll(slices);
      const stamp = ++this.stamp;
      const order = [...this.workers.keys()].sort((a, b) => a - b);
      for (const age of order) {
        const { series, values } = this.workers.get(age)!.last ?? NO_ANSWER;
        for (let i = 0; i < series.length; i++) {
          const s = series[i]!;
          if (s.stamp !== stamp) {
            s.stamp = stamp;
            s.n = 0;
          }
          s.acc = combine(s.family.aggregator, s.acc, s.n++, values[i]!);
          if (slices.due()) await slices.next();
        }
      }
      const texts: string[] = [];
      for (const format of formats) {
        let text = '';
        for (const family of this.families.values()) {
          let written = false;
          for (const s of family.samples.values()) {
            const live = s.stamp === stamp && s.n > 0;
            if (!live && !s.held) continue;
            let value = live ? (family.aggregator === 'average' ? s.acc / s.n : s.acc) : 0;
            value += s.kept;
            if (!written) text += familyHeader(family.name, family.help, family.type, format);
            written = true;
            text += `${format === 'prometheus' ? s.key : s.written(format)} ${formatValue(value)}\n`;
            if (slices.due()) await slices.next();
          }
        }
        texts.push(text);
      }
      return new Map(formats.map((format, i) => [format, texts[i]!]));
    });
  }

  /** The answer coming in is complete (it is applied next). */
  private complete(w: WorkerState): void {
    if (w.pending?.id === LAST_ANSWER_ID) w.lastAnswer = 'used';
    w.pending = null;
  }

  private fail(w: WorkerState, outOfStep: boolean): PartResult {
    if (w.pending?.id === LAST_ANSWER_ID) w.lastAnswer = 'failed';
    w.pending = null;
    if (outOfStep) w.resync = true;
    return 'failed';
  }

  /** The merged family a worker's family goes into; null when it is left out. */
  private family(w: WorkerState, raw: WireFamily): FamilyState | null {
    const head = header(raw);
    if (head === null) return null;
    const family = this.families.get(head.name);
    if (family === undefined) {
      const created: FamilyState = { ...head, samples: new Map() };
      this.families.set(head.name, created);
      return created;
    }
    // The same name with another type is another metric: the one merged first wins.
    if (family.type !== head.type) {
      w.conflicts.add(head.name);
      return null;
    }
    return family;
  }

  /** Learns a part's definitions (flat triples); false when their shape is wrong. */
  private define(w: WorkerState, family: FamilyState | null, defs: readonly unknown[]): boolean {
    for (let i = 0; i < defs.length; i += 3) {
      const n = defs[i];
      if (!isNumber(n)) return false;
      const previous = w.defs.get(n);
      if (previous === undefined) {
        // More definitions than any answer could use: not a worker's numbering.
        if (++w.defined > 2 * MAX_SERIES) return false;
      } else if (previous !== LEFT_OUT) {
        previous.defs--;
      }
      const series = family === null ? LEFT_OUT : this.series(family, defs[i + 1], defs[i + 2]);
      w.defs.set(n, series);
      if (series !== LEFT_OUT) series.defs++;
      if (n >= w.known) w.known = n + 1;
    }
    return true;
  }

  /** The merged series a definition names (made if new), or LEFT_OUT when it fails a check. */
  private series(family: FamilyState, rawName: unknown, rawLabels: unknown): Series | typeof LEFT_OUT {
    const name = rawName === null ? family.name : rawName;
    if (typeof name !== 'string' || !SAMPLE_SUFFIXES[family.type].some((suffix) => name.length === family.name.length + suffix.length && name === family.name + suffix)) return LEFT_OUT;
    if (rawLabels === null || typeof rawLabels !== 'object' || Array.isArray(rawLabels)) return LEFT_OUT;
    const keys = Object.keys(rawLabels).sort();
    if (keys.length > MAX_LABELS) return LEFT_OUT;
    const labels: Record<string, string | number> = {};
    for (const k of keys) {
      const v = (rawLabels as Record<string, unknown>)[k];
      if (!LABEL_NAME.test(k) || !(typeof v === 'string' || typeof v === 'number') || String(v).length > MAX_TEXT) return LEFT_OUT;
      labels[k] = v;
    }
    const text = labelText(labels);
    const key = name + text;
    const found = family.samples.get(key);
    if (found !== undefined) return found;
    const { keeps, within } = keeping(family, name);
    let groupKey: string | null = null;
    if (within !== null) {
      const { [within]: _, ...rest } = labels;
      groupKey = `${family.name}_count${labelText(rest)}`;
    }
    const series = new Series(family, key, name, keeps, groupKey, within !== null && name === `${family.name}_sum`);
    family.samples.set(key, series);
    return series;
  }

  /**
   * Replaces worker `age`'s last answer with `answer`, keeping what it stopped counting. The
   * two answers are compared through each series's scratch fields, marked by this apply.
   */
  private async apply(age: number, w: WorkerState, answer: Answer): Promise<void> {
    // Gone meanwhile: what it counted was kept when it was forgotten.
    if (this.workers.get(age) !== w) return;
    const slices = new Slices();
    const mark = ++this.marks;
    const old = w.last ?? NO_ANSWER;
    for (let i = 0; i < answer.series.length; i++) {
      const s = answer.series[i]!;
      s.nowMark = mark;
      s.now = answer.values[i]!;
      if (slices.due()) await slices.next();
    }
    // A count or bucket that went down is a reset of its whole group (they only grow otherwise).
    for (let i = 0; i < old.series.length; i++) {
      const s = old.series[i]!;
      if (s.keeps && s.nowMark === mark && s.now < old.values[i]! && !s.isSum) this.group(s).resetMark = mark;
      if (slices.due()) await slices.next();
    }
    for (let i = 0; i < old.series.length; i++) {
      const s = old.series[i]!;
      const before = old.values[i]!;
      if (s.nowMark !== mark) {
        // Gone from its answer: removed, or reset to nothing.
        this.keep(s, before);
        if (--s.refs === 0) {
          this.live--;
          this.sweep(s);
        }
      } else {
        s.bothMark = mark;
        // A `_sum` follows its group only: going down alone, it is negative observations (legal), not a reset, and
        // keeping it would count what it had twice.
        if (this.group(s).resetMark === mark) this.keep(s, before);
      }
      if (slices.due()) await slices.next();
    }
    for (const s of answer.series) if (s.bothMark !== mark && s.refs++ === 0) this.live++;
    if (this.live > this.peakLive) this.peakLive = this.live;
    w.last = answer;
  }

  /**
   * What a series had counted stays in its sum (`kept`) when a worker stops counting it. Only a
   * finite value: one NaN or Infinity (prom-client's inc(NaN) takes it) would stay in the sum
   * until hostd restarts. A series not yet held is held while fewer than `keptBound` are; past
   * that, its value is dropped (the series shows what live workers count, if any).
   */
  private keep(s: Series, value: number): void {
    if (!s.keeps || !Number.isFinite(value)) return;
    if (!s.held) {
      const group = this.group(s);
      const bound = this.keptBound;
      // A group is held whole, or a histogram would be written in parts: its first sample decides (a hard bound stays).
      if (this.held >= (group !== s && group.held ? 2 * bound : bound)) {
        if (this.dropped++ === 0) this.options.onDropped?.(bound);
        return;
      }
      s.held = true;
      this.held++;
      if (!group.held) {
        group.held = true;
        this.held++;
      }
    }
    s.kept += value;
  }

  /** The sample standing for `s`'s group in resets: its `_count` (itself for a counter's sample, or when there is none). */
  private group(s: Series): Series {
    return s.groupKey === null ? s : (s.family.samples.get(s.groupKey) ?? s);
  }

  private dropDefs(w: WorkerState): void {
    for (const series of w.defs.values()) if (series !== LEFT_OUT) series.defs--;
    w.defs.clear();
    w.defined = 0;
    w.known = 0;
    w.epoch = 0;
    w.resync = false;
    this.dirty = true;
  }

  /** Removes a series nothing uses any more (a gone worker's gauge, a series no live worker defines and that is not held). */
  private sweep(s: Series): void {
    if (s.refs > 0 || s.defs > 0 || s.held) return;
    const family = s.family;
    if (family.samples.get(s.key) === s) family.samples.delete(s.key);
    if (family.samples.size === 0 && this.families.get(family.name) === family) this.families.delete(family.name);
  }

  private async sweepAll(slices: Slices): Promise<void> {
    this.dirty = false;
    for (const family of [...this.families.values()]) {
      for (const s of [...family.samples.values()]) {
        this.sweep(s);
        if (slices.due()) await slices.next();
      }
    }
  }
}

function combine(aggregator: Aggregator, acc: number, n: number, value: number): number {
  if (n === 0) return value;
  switch (aggregator) {
    case 'sum':
    case 'average':
      return acc + value;
    case 'first':
      return acc;
    case 'min':
      return Math.min(acc, value);
    case 'max':
      return Math.max(acc, value);
  }
}

