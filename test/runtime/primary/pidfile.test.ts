import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HostdError } from '../../../src/errors.ts';
import { removePidfile, writePidfile } from '../../../src/runtime/primary/pidfile.ts';
import { tempDir } from '../../helpers/project.ts';

describe('the pidfile', () => {
  it('is written atomically, and removed only while it is ours', () => {
    const dir = tempDir();
    const path = join(dir, 'hostd.pid');
    writePidfile(path);
    expect(readFileSync(path, 'utf8')).toBe(`${process.pid}\n`);
    expect(readdirSync(dir)).toEqual(['hostd.pid']);
    removePidfile(path);
    expect(readdirSync(dir)).toEqual([]);
  });

  it.each([
    ['an empty directory', false],
    ['a directory with files', true],
  ])('says the path is a directory, and leaves nothing behind, when it is %s', (_what, withFiles) => {
    const dir = tempDir();
    const path = join(dir, 'hostd.pid');
    mkdirSync(path);
    if (withFiles) writeFileSync(join(path, 'keep'), '');
    const error = (() => {
      try {
        writePidfile(path);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(HostdError);
    expect(error).toMatchObject({ code: 'HOSTD_ERR_PIDFILE', message: `cannot write pidfile ${path}: it is a directory` });
    expect(readdirSync(dir)).toEqual(['hostd.pid']);
  });
});
