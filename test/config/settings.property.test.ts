/**
 * Every setting in the table, fed generated values (wrong types, bounds and their
 * neighbours, NaN, ±Infinity, -0, numbers written in hex or with an exponent, odd unicode,
 * prototype keys, lists, null) from each source: the kind's schema alone, then the config
 * file, a HOSTD_* variable and a flag through resolveConfig. Whatever is accepted must be
 * something the runtime can honour; whatever is refused must be reported in the one-line
 * form. The CLI runs of the same generators are in test/cli/settings.property.test.ts.
 */
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { describeValue, toConfigIssues } from '../../src/config/issues.ts';
import { type ConfigInputs, resolveConfig } from '../../src/config/resolve.ts';
import { envName, SETTING_NAMES, SETTINGS, settingsWithCli } from '../../src/config/settings.ts';
import { ConfigInvalidError, formatIssue } from '../../src/errors.ts';
import { project } from '../helpers/project.ts';
import {
  configText,
  delivered,
  deliveriesFor,
  expectWellFormedProblems,
  fuzzParameters,
  inputProblem,
  runtimeProblem,
  RUNS,
  textsFor,
  valuesFor,
} from '../helpers/settings-values.ts';

/** Object.prototype as it was: a `__proto__` key must never reach it. */
const prototypeKeys = Object.getOwnPropertyNames(Object.prototype).sort();

afterAll(() => {
  expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeKeys);
});

describe("each setting's kind, on its own", () => {
  it.each(SETTING_NAMES)('%s: a value its schema accepts is one the runtime can honour; one it refuses reads "expected ..., got ..."', (name) => {
    const kind = SETTINGS[name].kind;
    fc.assert(
      fc.property(valuesFor(name), (value) => {
        const parsed = kind.schema.safeParse(value, { reportInput: true });
        if (parsed.success) {
          expect(inputProblem(name, value), `${name} = ${describeValue(value)}`).toBeNull();
          // The preset names are made later, by the layers.
          if (name !== 'extends') expect(runtimeProblem(name, parsed.data), `${name} = ${describeValue(value)}`).toBeNull();
          return;
        }
        const issues = toConfigIssues(parsed.error.issues, 'hostd.config.json', [], [name]);
        expectWellFormedProblems(issues, issues.map(formatIssue).join('\n'), { name, source: 'hostd.config.json', input: value, fromText: false });
      }),
      fuzzParameters(RUNS * 5),
    );
  });

  it.each(settingsWithCli())('%s: flag or variable text it accepts is one the runtime can honour', (name) => {
    const kind = SETTINGS[name].kind;
    fc.assert(
      fc.property(textsFor(name), (text) => {
        const input = kind.fromText!([text]);
        const parsed = kind.schema.safeParse(input, { reportInput: true });
        if (parsed.success) {
          expect(inputProblem(name, input), `${name} from ${JSON.stringify(text)}`).toBeNull();
          expect(runtimeProblem(name, parsed.data), `${name} from ${JSON.stringify(text)}`).toBeNull();
        }
        else for (const issue of toConfigIssues(parsed.error.issues, 'X', [])) expect(issue.message).toMatch(/^expected [^\n\r]+, got [^\n\r]+$/);
      }),
      fuzzParameters(RUNS * 5),
    );
  });
});

describe('each setting, from a config file, a HOSTD_* variable and a flag (resolveConfig)', () => {
  // One project for every case: the file's text is handed to resolveConfig as a replayed source, not written.
  const dir = project({});

  it.each(SETTING_NAMES)('%s', async (name) => {
    await fc.assert(
      fc.asyncProperty(deliveriesFor(name), async (d) => {
        const file = d.via === 'file' ? join(dir, `hostd.config.${d.format}`) : undefined;
        const inputs: ConfigInputs = {
          command: 'check',
          cwd: dir,
          requireFile: false,
          configFile: file,
          modules: d.via === 'file' ? { [file!]: configText(d.format, name, d.value) } : undefined,
          env: d.via === 'env' ? { [envName(name)]: d.text } : {},
          flags: d.via === 'flag' ? { [name]: d.texts } : {},
        };
        const what = delivered(name, d, d.via === 'file' ? `hostd.config.${d.format}` : '');
        let config;
        try {
          config = await resolveConfig(inputs);
        } catch (error) {
          expect(error, `${what.source}: ${String(error)}`).toBeInstanceOf(ConfigInvalidError);
          const invalid = error as ConfigInvalidError;
          expectWellFormedProblems(invalid.issues, invalid.message, what);
          return;
        }
        expect(config.sources[name], 'an accepted value is the one in effect').toBe(d.via === 'file' && d.value === undefined ? 'default' : what.source);
        expect(inputProblem(name, what.input), `${what.source} ${name} = ${describeValue(what.input)}`).toBeNull();
        expect(runtimeProblem(name, config.settings[name]), `${what.source} ${name} = ${describeValue(what.input)}`).toBeNull();
      }),
      fuzzParameters(RUNS),
    );
  });
});
