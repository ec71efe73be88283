/**
 * Metrics as text: the Prometheus text format 0.0.4 and OpenMetrics 1.0, from one model.
 * A family is named as Prometheus 0.0.4 names it (a counter with its `_total`); OpenMetrics
 * names the family without `_total` and its samples with it, and ends with `# EOF`.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
export type Format = 'prometheus' | 'openmetrics';

export type Labels = Readonly<Record<string, string | number>>;

export interface Sample {
  /** The sample's full name (`x_bucket`, `x_sum`); the family's name when absent. */
  readonly name?: string;
  readonly labels: Labels;
  readonly value: number;
}

export interface Family {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  readonly samples: readonly Sample[];
}

export const PROMETHEUS_TEXT = 'text/plain; version=0.0.4; charset=utf-8';
export const OPENMETRICS_TEXT = 'application/openmetrics-text; version=1.0.0; charset=utf-8';
export const METRIC_TYPES: readonly MetricType[] = ['counter', 'gauge', 'histogram', 'summary', 'untyped'];

/** The format a scraper's Accept header asks for: OpenMetrics only when it names it. */
export function negotiate(accept: string | undefined): Format {
  return accept !== undefined && /application\/openmetrics-text/i.test(accept) ? 'openmetrics' : 'prometheus';
}

export const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
export const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** A value as prom-client writes it: `NaN`, `+Inf` and `-Inf` included. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

const escapeLabel = (value: string) => value.replaceAll('\\', '\\\\').replaceAll('\n', '\\n').replaceAll('"', '\\"');

/** `{a="1",b="x"}` in the order given, or '' without labels: the same in both formats. */
export function labelText(labels: Labels): string {
  const keys = Object.keys(labels);
  if (keys.length === 0) return '';
  return `{${keys.map((k) => `${k}="${escapeLabel(String(labels[k]))}"`).join(',')}}`;
}

/** OpenMetrics names a counter's family without `_total`. */
function familyName(name: string, type: MetricType, format: Format): string {
  return format === 'openmetrics' && type === 'counter' && name.endsWith('_total') ? name.slice(0, -'_total'.length) : name;
}

/** A family's `# HELP` and `# TYPE` lines, each ending with a newline. */
export function familyHeader(name: string, help: string, type: MetricType, format: Format): string {
  const om = format === 'openmetrics';
  const base = familyName(name, type, format);
  const text = om ? escapeLabel(help) : help.replaceAll('\\', '\\\\').replaceAll('\n', '\\n');
  return `# HELP ${base} ${text}\n# TYPE ${base} ${om && type === 'untyped' ? 'unknown' : type}\n`;
}

/** A sample's name in `format`: in OpenMetrics a counter's value is always the `_total` sample. */
export function sampleName(family: string, type: MetricType, sample: string, format: Format): string {
  if (format !== 'openmetrics' || type !== 'counter') return sample;
  const base = familyName(family, type, format);
  return sample === base || sample === family ? `${base}_total` : sample;
}

export const OPENMETRICS_EOF = '# EOF\n';

/** Renders families in `format`, without OpenMetrics's `# EOF` (several renderings make one answer). */
export function renderFamilies(families: readonly Family[], format: Format): string {
  let text = '';
  for (const family of families) {
    text += familyHeader(family.name, family.help, family.type, format);
    for (const sample of family.samples) {
      text += `${sampleName(family.name, family.type, sample.name ?? family.name, format)}${labelText(sample.labels)} ${formatValue(sample.value)}\n`;
    }
  }
  return text;
}

/** Renders families in `format`; the text ends with a newline (and `# EOF` in OpenMetrics). */
export function render(families: readonly Family[], format: Format): string {
  return renderFamilies(families, format) + (format === 'openmetrics' ? OPENMETRICS_EOF : '');
}
