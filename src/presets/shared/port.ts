import * as z from 'zod/mini';
import { integer } from '../../config/kinds.ts';

/** The `port` option's schema, for presets that listen on every interface. */
export const PORT_OPTION = { port: z.optional(integer(0, 65_535).schema) };

export interface PortOptions {
  /** The port to listen on. @default process.env.PORT, else 8000 */
  port?: number;
}

/** `0.0.0.0:PORT` from the option, `$PORT`, or 8000: how platforms tell an app where to listen. */
export function bindAllInterfaces(options: PortOptions): string {
  return `0.0.0.0:${options.port ?? (Number(process.env.PORT) || 8000)}`;
}
