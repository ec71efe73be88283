/** The presets hostd ships, one module each under `hostd/presets/NAME` (src/presets/NAME.ts). */
export const PRESET_NAMES = ['kubernetes', 'systemd', 'docker', 'paas', 'development'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];
