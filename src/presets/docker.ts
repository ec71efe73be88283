/**
 * Docker: listen on every interface at `$PORT` (8000), and log to stdout/stderr where
 * `docker logs` collects them.
 */
import { definePreset } from '../config/define.ts';
import type { Preset } from '../config/types.ts';
import { bindAllInterfaces, type PortOptions } from './shared/port.ts';

export interface DockerOptions extends PortOptions {}

export default function docker(options: DockerOptions = {}): Preset {
  return definePreset({
    name: 'docker',
    bind: bindAllInterfaces(options),
    errorlog: '-',
    accesslog: '-',
  });
}
