import { definePreset } from 'hostd';
import kubernetes from 'hostd/presets/kubernetes';
import * as z from 'zod';

/**
 * Acme's options. hostd checks what a config passes against this schema: an unknown or
 * mistyped option is a problem `hostd check` and `hostd run` report, naming `preset acme`.
 * A message that starts with "expected" gets ", got VALUE" after it, as hostd's own do.
 */
const options = z.object({
  service: z.optional(z.string({ error: 'expected a service name' }).min(1, { error: 'expected a service name' })),
  drain_delay: z.optional(z.number({ error: 'expected a number of seconds' }).nonnegative({ error: 'expected a number of seconds' })),
});

/**
 * Acme's preset for its services: everything the kubernetes preset does, an
 * `x-request-id` on every response, and a log line from every worker that stops.
 */
export default definePreset('acme', options, ({ service = 'acme-service', drain_delay = 3 }) => ({
  extends: [kubernetes({ drain_delay })],
  proc_name: service,
  pre_request: ({ res, request_id }) => {
    res.setHeader('x-request-id', request_id);
  },
  worker_exit: ({ worker, reason, log }) => {
    log.info(`acme: ${service} worker ${worker.id} stopping (${reason})`);
  },
}));
