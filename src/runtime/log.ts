/**
 * The error log and the access log. Error-log lines are written synchronously (they are
 * few, and a line written just before exit must not be lost); access-log lines are
 * buffered and written once per event-loop turn. Files are opened for append by every
 * process, so the primary and the workers can share one; USR1 reopens them (log rotation).
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { format } from 'node:util';
import { HostdError } from '../errors.ts';
import type { Logger } from '../hooks/contexts.ts';
import { displayPath, HOSTD_CODE_DIR } from '../paths.ts';

export const LEVELS = { debug: 10, info: 20, warning: 30, error: 40, critical: 50 } as const;
export type Level = keyof typeof LEVELS;

/** Which log a file is, for messages. */
export type LogSetting = 'errorlog' | 'accesslog';

/** Opens a log file for appending, or says why it cannot be opened (a HostdError naming the setting and the path). */
function openLog(target: string, setting: LogSetting): number {
  try {
    return openSync(target, 'a');
  } catch (error) {
    throw new HostdError('HOSTD_ERR_LOG', `cannot open ${setting} ${displayPath(target)}: ${(error as Error).message}`, { cause: error });
  }
}

/** Whether `target` (a log setting's value) can be opened now: null if so (or it is not a file), else why not. */
export function logProblem(target: string | null, setting: LogSetting): string | null {
  if (target === null || target === '-') return null;
  try {
    closeSync(openLog(target, setting));
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}

/** A file descriptor that can be reopened: `-` is the given standard stream. */
class Destination {
  private fd: number;

  constructor(
    private readonly target: string,
    private readonly standardFd: 1 | 2,
    private readonly setting: LogSetting,
  ) {
    this.fd = this.open();
  }

  private open(): number {
    return this.target === '-' ? this.standardFd : openLog(this.target, this.setting);
  }

  write(text: string): void {
    try {
      writeSync(this.fd, text);
    } catch {
      // A closed stderr (EPIPE) must not take the process down with it.
    }
  }

  /**
   * Opens the file again (after a rotation moved it). The new descriptor is opened before
   * the old one is closed, so a failure keeps writing where it did; resolves with why, or null.
   */
  reopen(): string | null {
    if (this.target === '-') return null;
    let fd: number;
    try {
      fd = this.open();
    } catch (error) {
      return `${(error as Error).message}; still writing to the file it had open`;
    }
    const previous = this.fd;
    this.fd = fd;
    closeQuietly(previous);
    return null;
  }

  close(): void {
    if (this.target !== '-') closeQuietly(this.fd);
  }
}

/** A descriptor that is already gone (EBADF) is as closed as it can be. */
function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {}
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
  const kept = lines
    .filter((line) => !/^\s+at /.test(line) || !(line.includes(HOSTD_CODE_DIR) || line.includes('node:internal') || /node_modules[\\/]jiti[\\/]/.test(line)))
    // A config module Node loaded for a later generation is the same file (config/native.ts).
    .map((line) => line.replace(/\?hostd-config=\d+(?=:\d+:\d+\)?$)/, ''));
  const cause = error.cause instanceof Error && !(error.cause as { code?: string }).code?.startsWith('HOSTD_') ? `\nCaused by: ${userStack(error.cause)}` : '';
  return kept.join('\n') + cause;
}

export class ErrorLog implements Logger {
  private destination: Destination | null;
  private threshold: number;

  constructor(private options: LogOptions) {
    this.destination = options.errorlog === null ? null : new Destination(options.errorlog, 2, 'errorlog');
    this.threshold = LEVELS[options.loglevel];
  }

  /** Applies new settings (on reload): level, format, destination. The new file is opened before the old is closed. */
  configure(options: LogOptions): void {
    if (options.errorlog !== this.options.errorlog) {
      const next = options.errorlog === null ? null : new Destination(options.errorlog, 2, 'errorlog');
      this.destination?.close();
      this.destination = next;
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

  /** Reopens the file (USR1); resolves with why it could not be, or null. */
  reopen(): string | null {
    return this.destination?.reopen() ?? null;
  }
}

/** Lines buffered in memory and written in one call per event-loop turn. */
export class BufferedLines {
  private buffer = '';
  private scheduled = false;
  private readonly destination: Destination;

  constructor(target: string) {
    this.destination = new Destination(target, 1, 'accesslog');
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

  /** Reopens the file (USR1); resolves with why it could not be, or null. */
  reopen(): string | null {
    this.flush();
    return this.destination.reopen();
  }
}
