/**
 * The settings property of test/config/settings.property.test.ts, a few runs through the
 * real CLI: a generated value in the config file on disk, a HOSTD_* variable or a flag makes
 * `hostd check` answer as resolveConfig does in-process: exit 1 with the same problems, one
 * documented line each and no stack; or exit 0, with `print-config --json` showing the
 * value resolveConfig resolved.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/resolve.ts';
import { envName, flagName, SETTING_NAMES } from '../../src/config/settings.ts';
import { ConfigInvalidError, formatIssue } from '../../src/errors.ts';
import { counted } from '../../src/text.ts';
import { hostd, printConfig } from '../helpers/cli.ts';
import { project } from '../helpers/project.ts';
import { configText, type Delivery, deliveriesVia, fuzzParameters, RUNS, sameValue, type Via, viasFor } from '../helpers/settings-values.ts';

/** A setting and a value for it from `via`, as a real command line and environment can carry it (no NUL byte). */
function cases(via: Via) {
  const names = SETTING_NAMES.filter((name) => viasFor(name, { realCommandLine: true }).includes(via));
  return fc
    .constantFrom(...names)
    .chain((name) => deliveriesVia(name, via).map((d) => ({ name, d })))
    .filter(({ d }) => d.via === 'file' || !(d.via === 'env' ? [d.text] : d.texts).some((t) => t.includes('\0')));
}

/** The project, environment and arguments that carry `d` to hostd. */
function carry(name: (typeof SETTING_NAMES)[number], d: Delivery): { dir: string; env: Record<string, string>; args: string[] } {
  const file = d.via === 'file' ? { [`hostd.config.${d.format}`]: configText(d.format, name, d.value) } : { 'hostd.config.json': '{}' };
  return {
    dir: project(file),
    env: d.via === 'env' ? { [envName(name)]: d.text } : {},
    // `--name=TEXT`, so that a text starting with a dash is the flag's value, not another option.
    args: d.via === 'flag' ? d.texts.map((text) => `${flagName(name)}=${text}`) : [],
  };
}

describe('each setting through the real CLI', () => {
  it.each<[string, Via]>([
    ['the config file', 'file'],
    ['a HOSTD_* variable', 'env'],
    ['a flag', 'flag'],
  ])('from %s, answers as resolveConfig does: one documented line per problem and exit 1, or the value in print-config', async (_, via) => {
    await fc.assert(
      fc.asyncProperty(cases(via), async ({ name, d }) => {
        const { dir, env, args } = carry(name, d);
        const flags = d.via === 'flag' ? { [name]: d.texts } : {};
        const expected = await resolveConfig({ command: 'check', cwd: dir, requireFile: true, flags, env }).then(
          (config) => config,
          (error: unknown) => (error instanceof ConfigInvalidError ? error : Promise.reject(error)),
        );
        const result = await hostd(['check', ...args], { cwd: dir, env });
        if (expected instanceof ConfigInvalidError) {
          const lines = expected.issues.map(formatIssue);
          expect({ code: result.code, stdout: result.stdout, stderr: result.stderr.trimEnd().split('\n') }).toEqual({
            code: 1,
            stdout: '',
            stderr: [...lines, `✗ the config is invalid (${counted(lines.length, 'problem')})`],
          });
          expect(result.stderr).not.toMatch(/^ {4}at |internal error/m);
          return;
        }
        expect(result.code, result.stderr).toBe(0);
        const shown = (await printConfig(dir, env, args)).settings[name]!.value;
        expect(sameValue(shown, expected.settings[name]), `print-config shows ${JSON.stringify(shown)}`).toBe(true);
      }),
      fuzzParameters(Math.max(3, RUNS / 15), 30_000),
    );
  });
});
