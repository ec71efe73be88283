/**
 * Docker: listen on every interface at `$PORT` (8000), and log to stdout/stderr where
 * `docker logs` collects them.
 */
import { definePreset } from '../config/define.ts';
import type { Preset } from '../config/types.ts';

export interface DockerOptions {
  /** The port to listen on. @default process.env.PORT, else 8000 */
  port?: number;
}

export default function docker(options: DockerOptions = {}): Preset {
  return definePreset({
    name: 'docker',
    bind: `0.0.0.0:${options.port ?? (Number(process.env.PORT) || 8000)}`,
    errorlog: '-',
    accesslog: '-',
  });
}
