/**
 * A small job queue: jobs wait in memory, a timer starts the next one when the current
 * one is done, and each finished job is appended to `done-<worker>.log`. Jobs not started
 * when the worker stops are written to `pending-<worker>.json`; the next worker in the
 * same slot picks them up. Nothing accepted is lost, and nothing runs twice.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export class JobQueue {
  private readonly waiting: string[] = [];
  private current: Promise<void> | null = null;
  private accepting = true;
  private readonly timer: NodeJS.Timeout;
  private readonly doneFile: string;
  private readonly pendingFile: string;

  constructor(
    dir: string,
    slot: number,
    private readonly run: (job: string) => Promise<void>,
  ) {
    mkdirSync(dir, { recursive: true });
    this.doneFile = join(dir, `done-${slot}.log`);
    this.pendingFile = join(dir, `pending-${slot}.json`);
    // Jobs a previous worker in this slot flushed on its way out come first.
    if (existsSync(this.pendingFile)) {
      this.waiting.push(...(JSON.parse(readFileSync(this.pendingFile, 'utf8')) as string[]));
      rmSync(this.pendingFile);
    }
    this.timer = setInterval(() => this.next(), 5);
  }

  /** Accepts a job, or refuses once the queue is stopping. */
  add(job: string): boolean {
    if (!this.accepting) return false;
    this.waiting.push(job);
    return true;
  }

  get length(): number {
    return this.waiting.length;
  }

  private next(): void {
    if (this.current !== null || this.waiting.length === 0) return;
    const job = this.waiting.shift()!;
    this.current = this.run(job)
      .then(() => appendFileSync(this.doneFile, `${job}\n`))
      .finally(() => (this.current = null));
  }

  /** Stops taking jobs, lets the current one finish, and writes the rest to disk. */
  async stop(): Promise<void> {
    this.accepting = false;
    clearInterval(this.timer);
    await this.current;
    // Written aside and renamed, so a crash mid-write leaves no half file.
    writeFileSync(`${this.pendingFile}.tmp`, JSON.stringify(this.waiting));
    renameSync(`${this.pendingFile}.tmp`, this.pendingFile);
  }
}

/** A stand-in for real work: 20 to 80 ms. */
export async function simulateWork(): Promise<void> {
  await sleep(20 + Math.random() * 60);
}
