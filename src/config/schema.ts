/**
 * The zod schema of one config layer (a config file or a preset), built from the
 * settings table. Strict: a key that is neither a setting nor a hook is an error.
 */
import * as z from 'zod/mini';
import { hookValueProblems } from './layer-walk.ts';
import { envName, flagName, HOOK_NAMES, SETTING_NAMES, type SettingName, SETTINGS } from './settings.ts';

/** A hook value: a function or an array of functions, with the failing index named. */
const hookValue = z.custom<unknown>().check(
  z.superRefine((value, ctx) => {
    for (const { index, message } of hookValueProblems(value)) {
      if (index === undefined) ctx.issues.push({ code: 'custom', message, input: value });
      else ctx.issues.push({ code: 'custom', message, input: (value as unknown[])[index], path: [index] });
    }
  }),
);

export type LayerKind = 'file' | 'preset';

/** A setting needed before the file is loaded: written in a file, it is a problem that says where it goes. */
function notInFile(name: SettingName): z.ZodMiniType {
  const message = `cannot be set in a config file or preset, since it is needed before the file is loaded; use ${flagName(name)} or ${envName(name)}`;
  return z.custom<never>(() => false, { error: message });
}

const schemas = new Map<LayerKind, z.ZodMiniType>();

/** The strict schema of a file layer, or of a preset (which also has a `name`). */
export function layerSchema(kind: LayerKind): z.ZodMiniType {
  let schema = schemas.get(kind);
  if (!schema) {
    const shape: Record<string, z.ZodMiniType> = {};
    for (const name of SETTING_NAMES) shape[name] = z.optional(SETTINGS[name].file === false ? notInFile(name) : (SETTINGS[name].kind.schema as z.ZodMiniType));
    for (const name of HOOK_NAMES) shape[name] = z.optional(hookValue);
    if (kind === 'preset') shape.name = z.string({ error: 'expected the preset name, a non-empty string' }).check(z.minLength(1));
    schema = z.strictObject(shape);
    schemas.set(kind, schema);
  }
  return schema;
}

/** Every key a layer of this kind may have, for "did you mean". */
export function layerKeys(kind: LayerKind): string[] {
  return [...SETTING_NAMES, ...HOOK_NAMES, ...(kind === 'preset' ? ['name'] : [])];
}
