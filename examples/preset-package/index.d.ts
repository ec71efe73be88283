import type { Preset } from 'hostd';

export interface AcmeOptions {
  /** The service's name, shown in process titles and logs. @default 'acme-service' */
  service?: string;
  /** Seconds /readyz answers 503 after SIGTERM before the graceful stop. @default 3 */
  drain_delay?: number;
}

/** Acme's preset: kubernetes, request ids, and a log line per stopping worker. */
export default function acme(options?: AcmeOptions): Preset;
