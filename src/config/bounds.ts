/**
 * Bounds of the settings table that the runtime also enforces on its own (the control
 * socket's `scale`), kept apart from the table so that the supervisor core, which loads no
 * zod, shares the one number.
 */

/** More worker processes than any machine hostd runs on can use; each is a process and an IPC channel. */
export const MAX_WORKERS = 1024;
/** Counts (requests per worker): any a worker can reach in its life. */
export const MAX_COUNT = 2 ** 31 - 1;
