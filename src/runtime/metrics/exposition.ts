/**
 * Metrics as text: the Prometheus text format 0.0.4 and OpenMetrics 1.0, from one model.
 * A family is named as Prometheus 0.0.4 names it (a counter with its `_total`); OpenMetrics
 * names the family without `_total` and its samples with it, and ends with `# EOF`.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

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

/** The format a scraper's Accept header asks for: OpenMetrics only when it names it. */
export function negotiate(accept: string | undefined): 'prometheus' | 'openmetrics' {
  return accept !== undefined && /application\/openmetrics-text/i.test(accept) ? 'openmetrics' : 'prometheus';
}

export const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
export const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

const escapeLabel = (value: string) => value.replaceAll('\\', '\\\\').replaceAll('\n', '\\n').replaceAll('"', '\\"');

function formatLabels(labels: Labels): string {
  const keys = Object.keys(labels);
  if (keys.length === 0) return '';
  return `{${keys.map((k) => `${k}="${escapeLabel(String(labels[k]))}"`).join(',')}}`;
}

/** Renders families in `format`; the text ends with a newline (and `# EOF` in OpenMetrics). */
export function render(families: readonly Family[], format: 'prometheus' | 'openmetrics'): string {
  const om = format === 'openmetrics';
  const lines: string[] = [];
  for (const family of families) {
    const counter = family.type === 'counter';
    const base = om && counter && family.name.endsWith('_total') ? family.name.slice(0, -'_total'.length) : family.name;
    const help = om ? escapeLabel(family.help) : family.help.replaceAll('\\', '\\\\').replaceAll('\n', '\\n');
    lines.push(`# HELP ${base} ${help}`);
    lines.push(`# TYPE ${base} ${om && family.type === 'untyped' ? 'unknown' : family.type}`);
    for (const sample of family.samples) {
      let name = sample.name ?? family.name;
      // OpenMetrics: a counter's value is always the `_total` sample.
      if (om && counter && name === base) name = `${base}_total`;
      lines.push(`${name}${formatLabels(sample.labels)} ${formatValue(sample.value)}`);
    }
  }
  if (om) lines.push('# EOF');
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}
