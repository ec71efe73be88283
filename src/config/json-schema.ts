import { FILE_SETTING_NAMES, HOOK_NAMES, HOOKS, SETTINGS } from './settings.ts';

/**
 * The JSON Schema of a config file, derived from the settings table: what `hostd schema`
 * prints and `schema/hostd.schema.json` holds. In JSON, hooks are module references
 * (`"./hooks.js#postFork"`) and presets are module names.
 */
export function buildJsonSchema(version: string): Record<string, unknown> {
  const properties: Record<string, unknown> = {
    $schema: { type: 'string', description: 'The JSON Schema this file follows (for editors).' },
  };
  for (const name of FILE_SETTING_NAMES) {
    const row = SETTINGS[name];
    properties[name] = {
      ...row.kind.json,
      description: stripMarkdown(row.doc),
      markdownDescription: row.doc,
      ...(name === 'extends' || name === 'app' ? {} : { default: row.default }),
    };
  }
  for (const name of HOOK_NAMES) {
    const row = HOOKS[name];
    const doc = `Hook, runs in the ${row.runsIn} ${row.when}.`;
    properties[name] = { $ref: '#/definitions/hook', description: doc, markdownDescription: doc };
  }
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: `https://unpkg.com/hostd@${version}/schema/hostd.schema.json`,
    title: 'hostd config',
    description: 'Settings and hooks for hostd. Generated from the settings table; do not edit.',
    type: 'object',
    additionalProperties: false,
    properties,
    definitions: {
      hookRef: {
        type: 'string',
        pattern: '^[^#]+(#[A-Za-z_$][A-Za-z0-9_$]*)?$',
        description: 'A module and export, "./hooks.js#postFork" (the default export without #name).',
      },
      hook: { anyOf: [{ $ref: '#/definitions/hookRef' }, { type: 'array', items: { $ref: '#/definitions/hookRef' } }] },
    },
  };
}

function stripMarkdown(doc: string): string {
  return doc.replaceAll('`', '');
}
