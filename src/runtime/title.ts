/**
 * Process titles: what `ps` and `top` show for the primary and the workers. On Linux a
 * title can only reuse the memory of the original command line, so a short launch command
 * (`node dist/cli.js run`) leaves room for a short title only. The title therefore starts
 * with the words that tell the processes apart (`hostd primary`, `hostd worker 2`), and the
 * `proc_name` detail goes after them, only when it fits whole.
 */
import { native } from './native.ts';

/** The title for `role` (`primary`, `worker 2`) with `proc_name`; the default name adds nothing. */
export function titleFor(role: string, procName: string): { readonly short: string; readonly full: string } {
  const short = `hostd ${role}`;
  return { short, full: procName === 'hostd' || procName === '' ? short : `${short} [${procName}]` };
}

/**
 * Sets the process title, falling back to the short form when the full one would be cut, and
 * the kernel's process name (`top`, `ps -e`) to the short form where the native helper is built;
 * returns the title set.
 */
export function setProcessTitle(role: string, procName: string): string {
  const { short, full } = titleFor(role, procName);
  process.title = full;
  // Node truncates silently; reading the title back tells whether it fit.
  if (process.title !== full) process.title = short;
  // After the title: libuv gives the kernel name the title's first 15 bytes ("hostd primary [").
  native()?.setProcessName(short);
  return process.title;
}
