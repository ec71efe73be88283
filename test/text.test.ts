import { describe, expect, it } from 'vitest';
import { displayPath, printablePath } from '../src/paths.ts';
import { escapeControls, quote } from '../src/text.ts';

describe('text hostd did not write, made safe to print', () => {
  it('leaves an ordinary path as it is, and quotes one with control characters', () => {
    expect(printablePath('/srv/app/hostd.config.ts')).toBe('/srv/app/hostd.config.ts');
    expect(printablePath('/srv/é ü/日本.ts')).toBe('/srv/é ü/日本.ts');
    expect(printablePath('/tmp/a\nb\x1b[2J.sock')).toBe('"/tmp/a\\nb\\u001b[2J.sock"');
    // What JSON.stringify leaves raw: DEL, C1 controls (a one-byte CSI), line separators, bidi overrides.
    expect(printablePath('a\x7fb\x9bc\u2028d\u202ee')).toBe('"a\\u007fb\\u009bc\\u2028d\\u202ee"');
    expect(displayPath('/work/p/x\ty.ts', '/work/p')).toBe('"x\\ty.ts"');
  });

  it('quotes as JSON that reads back to the text', () => {
    const text = 'a"b\\c\n\x1b\x9b\u2029';
    expect(JSON.parse(quote(text))).toBe(text);
  });

  it("escapes a system message's control characters in place, keeping it one line", () => {
    expect(escapeControls("EISDIR: illegal operation on a directory, open '/tmp/x\n\x1b[31my'")).toBe("EISDIR: illegal operation on a directory, open '/tmp/x\\n\\u001b[31my'");
  });
});
