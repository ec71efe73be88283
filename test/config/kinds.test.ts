import { describe, expect, it } from 'vitest';
import { SETTINGS, type SettingName } from '../../src/config/settings.ts';
import { grouped } from '../../src/config/kinds.ts';

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
    ['env', ['A=1, B= 2'], { A: '1', B: ' 2' }],
    ['allow_app_control', ['true'], true],
    ['allow_app_control', ['off'], false],
    ['loglevel', ['debug'], 'debug'],
    ['pidfile', ['/tmp/x.pid'], '/tmp/x.pid'],
    ['workers', ['1', '3'], 3],
    ['timeout', ['0'], 0],
    ['graceful_timeout', ['.5'], 0.5],
    ['graceful_timeout', ['2147483'], 2147483],
    ['unix_mode', ['660'], 0o660],
    ['unix_mode', ['0640'], 0o640],
    ['unix_group', ['www-data'], 'www-data'],
    ['unix_group', ['33'], 33],
    ['timeout', ['-0'], 0],
    ['max_requests', ['-0'], 0],
  ])('%s %j → %j', (name, texts, value) => {
    expect(fromText(name, ...texts)).toEqual({ ok: true, value });
  });

  it.each<SettingName>(['timeout', 'graceful_timeout', 'max_requests', 'unix_mode', 'unix_group'])('%s: -0 in a file resolves to 0, as print-config shows it', (name) => {
    expect(Object.is(SETTINGS[name].kind.schema.parse(-0), 0)).toBe(true);
  });

  it.each<[SettingName, string[]]>([
    ['workers', ['0']],
    ['workers', ['two']],
    ['workers', ['1.5']],
    ['timeout', ['-1']],
    ['timeout', ['']],
    ['bind', ['localhost']],
    ['env', ['NOVALUE']],
    ['env', ['A=1,__proto__=x']],
    ['allow_app_control', ['maybe']],
    ['loglevel', ['verbose']],
    // Decimal notation only.
    ['timeout', ['0x10']],
    ['timeout', ['0b1']],
    ['timeout', ['1e30']],
    ['timeout', ['Infinity']],
    ['max_requests', ['1e3']],
    // What the runtime cannot honour: timers overflow past 2^31 - 1 ms, HTTP timeouts take whole ms.
    ['graceful_timeout', ['2200000']],
    ['hook_timeout', ['2200000']],
    ['keepalive', ['2200000']],
    ['headers_timeout', ['0.0005']],
    ['request_timeout', ['1.0005']],
    ['timeout', ['0.01']],
    ['max_header_size', ['4294968320']],
    ['workers', [String(2 ** 31)]],
    ['unix_mode', ['999']],
    // The system ends a path at a NUL byte; Node refuses one only when it opens it, in a worker.
    ['pidfile', ['/tmp/a\0b.pid']],
    ['accesslog', ['/tmp/a\0b.log']],
    ['errorlog', ['/tmp/a\0b.log']],
    ['certfile', ['/tmp/a\0b.pem']],
    ['reload_extra_files', ['src,a\0b']],
    ['bind', ['unix:/tmp/a\0b.sock']],
    ['unix_group', ['no spaces']],
  ])('%s %j is rejected', (name, texts) => {
    expect(fromText(name, ...texts)).toEqual({ ok: false });
  });
});

describe('grouped numbers in messages', () => {
  it('group thousands as en-US does', () => {
    for (const n of [0, 7, 999, 1000, 65535, 1234567, 2147483647, -12345]) expect(grouped(n)).toBe(n.toLocaleString('en-US'));
  });
});
