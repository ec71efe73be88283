import { buildJsonSchema } from '../../config/json-schema.ts';
import { VERSION } from '../../version.ts';
import { out } from '../output.ts';

export function schemaCommand(): number {
  out.json(buildJsonSchema(VERSION));
  return 0;
}
