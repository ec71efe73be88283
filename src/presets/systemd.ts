/** systemd: logs to stderr (the journal), no pidfile (systemd tracks the main pid). */
import { definePreset } from '../config/define.ts';
import type { Preset } from '../config/types.ts';

export default function systemd(): Preset {
  return definePreset({ name: 'systemd', errorlog: '-', pidfile: null });
}
