/**
 * The error log and the access log. Error-log lines are written synchronously (they are
 * few, and a line written just before exit must not be lost); access-log lines are
 * buffered and written once per event-loop turn. Files are opened for append by every
 * process, so the primary and the workers can share one; USR1 reopens them (log rotation).
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { format } from 'node:util';
import type { Logger } from '../hooks/contexts.ts';
import { HOSTD_CODE_DIR } from '../paths.ts';

export const LEVELS = { debug: 10, info: 20, warning: 30, error: 40, critical: 50 } as const;
export type Level = keyof typeof LEVELS;

/** A file descriptor that can be reopened: `-` is the given standard stream. */
class Destination {
  private fd: number;

  constructor(
    private readonly target: string,
    private readonly standardFd: 1 | 2,
  ) {
    this.fd = this.open();
  }

  private open(): number {
    return this.target === '-' ? this.standardFd : openSync(this.target, 'a');
  }

  write(text: string): void {
    try {
      writeSync(this.fd, text);
    } catch {
      // A closed stderr (EPIPE) must not take the process down with it.
    }
  }

  reopen(): void {
    if (this.target === '-') return;
    const previous = this.fd;
    this.fd = this.open();
    closeSync(previous);
  }

  close(): void {
    if (this.target !== '-') closeSync(this.fd);
  }
}

export interface LogOptions {
  readonly errorlog: string | null;
  readonly loglevel: Level;
  readonly log_format: 'text' | 'json';
  /** `primary` or `worker 3`: shown in JSON lines and the hook trace. */
  readonly process: string;
}

/** `[2026-11-23 10:25:00 +0000]`, gunicorn's error-log time. */
function timestamp(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `[${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())} ${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000]`;
}

/** An error's stack without hostd's own frames, so a hook's failure reads as the user's code. */
export function userStack(error: unknown): string {
  if (!(error instanceof Error)) return format('%O', error);
  const lines = (error.stack ?? `${error.name}: ${error.message}`).split('\n');
  const kept = lines.filter((line) => !/^\s+at /.test(line) || !(line.includes(HOSTD_CODE_DIR) || line.includes('node:internal') || /node_modules[\\/]jiti[\\/]/.test(line)));
  const cause = error.cause instanceof Error && !(error.cause as { code?: string }).code?.startsWith('HOSTD_') ? `\nCaused by: ${userStack(error.cause)}` : '';
  return kept.join('\n') + cause;
}

export class ErrorLog implements Logger {
  private destination: Destination | null;
  private threshold: number;

  constructor(private options: LogOptions) {
    this.destination = options.errorlog === null ? null : new Destination(options.errorlog, 2);
    this.threshold = LEVELS[options.loglevel];
  }

  /** Applies new settings (on reload): level, format, destination. */
  configure(options: LogOptions): void {
    if (options.errorlog !== this.options.errorlog) {
      this.destination?.close();
      this.destination = options.errorlog === null ? null : new Destination(options.errorlog, 2);
    }
    this.options = options;
    this.threshold = LEVELS[options.loglevel];
  }

  enabled(level: Level): boolean {
    return LEVELS[level] >= this.threshold && this.destination !== null;
  }

  log(level: Level, message: string, details: readonly unknown[] = []): void {
    if (!this.enabled(level)) return;
    const text = details.length ? `${message} ${details.map((d) => (d instanceof Error ? userStack(d) : typeof d === 'string' ? d : format('%O', d))).join(' ')}` : message;
    const now = new Date();
    const line =
      this.options.log_format === 'json'
        ? JSON.stringify({ time: now.toISOString(), level, pid: process.pid, process: this.options.process, message: text })
        : `${timestamp(now)} [${process.pid}] [${level.toUpperCase()}] ${text}`;
    this.destination!.write(`${line}\n`);
  }

  debug(message: string, ...details: unknown[]): void {
    this.log('debug', message, details);
  }
  info(message: string, ...details: unknown[]): void {
    this.log('info', message, details);
  }
  warn(message: string, ...details: unknown[]): void {
    this.log('warning', message, details);
  }
  error(message: string, ...details: unknown[]): void {
    this.log('error', message, details);
  }
  critical(message: string, ...details: unknown[]): void {
    this.log('critical', message, details);
  }

  reopen(): void {
    this.destination?.reopen();
  }
}

/** Lines buffered in memory and written in one call per event-loop turn. */
export class BufferedLines {
  private buffer = '';
  private scheduled = false;
  private readonly destination: Destination;

  constructor(target: string) {
    this.destination = new Destination(target, 1);
  }

  push(line: string): void {
    this.buffer += `${line}\n`;
    if (this.buffer.length > 65536) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  flush(): void {
    this.scheduled = false;
    if (this.buffer === '') return;
    const text = this.buffer;
    this.buffer = '';
    this.destination.write(text);
  }

  reopen(): void {
    this.flush();
    this.destination.reopen();
  }
}
