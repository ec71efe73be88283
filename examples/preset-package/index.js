import { definePreset } from 'hostd';
import kubernetes from 'hostd/presets/kubernetes';

/**
 * Acme's preset for its services: everything the kubernetes preset does, an
 * `x-request-id` on every response, and a log line from every worker that stops.
 *
 * @param {import('./index.d.ts').AcmeOptions} [options]
 * @returns {import('hostd').Preset}
 */
export default function acme(options = {}) {
  return definePreset({
    name: 'acme',
    extends: [kubernetes({ drain_delay: options.drain_delay ?? 3 })],
    proc_name: options.service ?? 'acme-service',
    pre_request: ({ res, request_id }) => {
      res.setHeader('x-request-id', request_id);
    },
    worker_exit: ({ worker, reason, log }) => {
      log.info(`acme: ${options.service ?? 'acme-service'} worker ${worker.id} stopping (${reason})`);
    },
  });
}
