import { definePreset } from '../config/define.ts';
import type { Preset } from '../config/types.ts';

export default function docker(): Preset {
  return definePreset({ name: 'docker', bind: `0.0.0.0:${process.env.PORT ?? 8000}`, errorlog: '-', accesslog: '-' });
}
