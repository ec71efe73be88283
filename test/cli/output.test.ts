import { describe, expect, it } from 'vitest';
import { colorEnabled, styleFor, table } from '../../src/cli/output.ts';

const tty = { isTTY: true } as NodeJS.WriteStream;
const pipe = { isTTY: false } as NodeJS.WriteStream;

describe('terminal output', () => {
  it.each([
    [tty, {}, true],
    [pipe, {}, false],
    [tty, { NO_COLOR: '1' }, false],
    [tty, { NO_COLOR: '' }, true],
    [pipe, { FORCE_COLOR: '1' }, true],
    [tty, { FORCE_COLOR: '0' }, false],
    [tty, { TERM: 'dumb' }, false],
  ] as const)('colour on %o with %o: %s', (stream, env, expected) => {
    expect(colorEnabled(stream, env)).toBe(expected);
  });

  it('styles only when colour is on', () => {
    expect(styleFor(pipe).red('x')).toBe('x');
  });

  it('lines up columns, ignoring colour codes', () => {
    expect(table([['a', '\x1b[31mred\x1b[39m', 'z'], ['long-name', 'b', 'y']])).toEqual(['a          \x1b[31mred\x1b[39m  z', 'long-name  b    y']);
  });
});
