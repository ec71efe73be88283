import { describe, expect, it } from 'vitest';
import { SETTINGS, type SettingName } from '../../src/config/settings.ts';

/** Reads `texts` as a flag or env var for `name` and validates the result. */
function fromText(name: SettingName, ...texts: string[]): { ok: true; value: unknown } | { ok: false } {
  const kind = SETTINGS[name].kind;
  const parsed = kind.schema.safeParse(kind.fromText!(texts));
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false };
}

describe('values from flags and environment variables', () => {
  it.each<[SettingName, string[], unknown]>([
    ['workers', ['4'], 4],
    ['workers', ['auto'], 'auto'],
    ['timeout', ['2.5'], 2.5],
    ['max_requests', ['0'], 0],
    ['bind', ['127.0.0.1:1', '[::1]:2'], ['127.0.0.1:1', '[::1]:2']],
    ['bind', ['127.0.0.1:1,127.0.0.1:2'], ['127.0.0.1:1', '127.0.0.1:2']],
    ['env', ['A=1', 'B=x=y'], { A: '1', B: 'x=y' }],
    ['env', ['A=1,B=2'], { A: '1', B: '2' }],
    ['allow_app_control', ['true'], true],
    ['allow_app_control', ['off'], false],
    ['loglevel', ['debug'], 'debug'],
    ['pidfile', ['/tmp/x.pid'], '/tmp/x.pid'],
    ['workers', ['1', '3'], 3],
  ])('%s %j → %j', (name, texts, value) => {
    expect(fromText(name, ...texts)).toEqual({ ok: true, value });
  });

  it.each<[SettingName, string[]]>([
    ['workers', ['0']],
    ['workers', ['two']],
    ['workers', ['1.5']],
    ['timeout', ['-1']],
    ['timeout', ['']],
    ['bind', ['localhost']],
    ['env', ['NOVALUE']],
    ['allow_app_control', ['maybe']],
    ['loglevel', ['verbose']],
  ])('%s %j is rejected', (name, texts) => {
    expect(fromText(name, ...texts)).toEqual({ ok: false });
  });
});
