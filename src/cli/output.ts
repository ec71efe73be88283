/**
 * Terminal output: colour only on a TTY (NO_COLOR and FORCE_COLOR honoured), JSON when
 * asked for. Every command writes through here so the rules hold everywhere.
 */
import type { Writable } from 'node:stream';

export interface Style {
  bold(text: string): string;
  dim(text: string): string;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  cyan(text: string): string;
}

/** See https://no-color.org and https://force-color.org. */
export function colorEnabled(stream: Writable & { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '') return env.FORCE_COLOR !== '0';
  return stream.isTTY === true && env.TERM !== 'dumb';
}

export function styleFor(stream: Writable & { isTTY?: boolean }): Style {
  const on = colorEnabled(stream);
  const wrap = (open: number, close: number) => (text: string) => (on ? `\x1b[${open}m${text}\x1b[${close}m` : text);
  return { bold: wrap(1, 22), dim: wrap(2, 22), red: wrap(31, 39), green: wrap(32, 39), yellow: wrap(33, 39), cyan: wrap(36, 39) };
}

/**
 * A reader that went away (`hostd print-config | head -1`) closes the pipe: what is left to
 * print has nowhere to go and is dropped, quietly. The command still ends with its own exit
 * code rather than 0 or a signal's: the code is what the command found (`hostd check | head
 * -1` under `set -o pipefail` still fails for an invalid config, and a valid one is not made
 * a failure by the reader), and a closed stdout does not change it.
 */
export function dropOutputToClosedPipes(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
    });
  }
}

export const out = {
  stdout: process.stdout,
  stderr: process.stderr,
  get style(): Style {
    return styleFor(process.stdout);
  },
  get errStyle(): Style {
    return styleFor(process.stderr);
  },
  line(text = ''): void {
    process.stdout.write(`${text}\n`);
  },
  error(text: string): void {
    process.stderr.write(`${text}\n`);
  },
  json(value: unknown): void {
    process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  },
};

/** Lines of `[label, value, note]` with the columns lined up. */
export function table(rows: readonly (readonly string[])[], gap = 2): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, visibleLength(cell))));
  return rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat((widths[i] ?? 0) - visibleLength(cell) + gap)))
      .join('')
      .trimEnd(),
  );
}

function visibleLength(text: string): number {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[\d+m/g, '').length;
}
