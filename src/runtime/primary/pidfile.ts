import { readFileSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { HostdError } from '../../errors.ts';
import { printablePath } from '../../paths.ts';
import { escapeControls } from '../../text.ts';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Writes our pid atomically; refuses when the file names another live process (a second
 * hostd), unless it is `replacing` (the primary an upgrade replaces).
 */
export function writePidfile(path: string, replacing: number | null = null): void {
  let existing: number | undefined;
  try {
    existing = Number.parseInt(readFileSync(path, 'utf8'), 10);
  } catch {}
  if (existing !== undefined && existing !== process.pid && existing !== replacing && Number.isInteger(existing) && existing > 0 && alive(existing)) {
    throw new HostdError('HOSTD_ERR_PIDFILE', `pidfile ${printablePath(path)} names a running process (${existing}); is hostd already running?`);
  }
  // Written aside and renamed into place, so a reader never sees a half-written file.
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(temporary, `${process.pid}\n`);
  } catch (error) {
    throw new HostdError('HOSTD_ERR_PIDFILE', `cannot write pidfile ${printablePath(path)}: ${escapeControls((error as Error).message)}`, { cause: error });
  }
  try {
    renameSync(temporary, path);
  } catch (error) {
    // The file written aside is ours to remove: nothing else knows it is there.
    rmSync(temporary, { force: true });
    const why = statSync(path, { throwIfNoEntry: false })?.isDirectory() ? 'it is a directory' : escapeControls((error as Error).message);
    throw new HostdError('HOSTD_ERR_PIDFILE', `cannot write pidfile ${printablePath(path)}: ${why}`, { cause: error });
  }
}

/** Removes the pidfile if it is still ours. */
export function removePidfile(path: string): void {
  try {
    if (Number.parseInt(readFileSync(path, 'utf8'), 10) === process.pid) unlinkSync(path);
  } catch {}
}
