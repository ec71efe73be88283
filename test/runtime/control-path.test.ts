/** When a control socket file may be removed: only when nothing will ever answer on it (runtime/control-path.ts). */
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { judgeFailure, listenerBoundAt, probeSocket } from '../../src/runtime/control-path.ts';
import { tempDir } from '../helpers/project.ts';

describe('a control socket that fails to answer', () => {
  it('is stale only when refused with no listener left at its path, or gone', async () => {
    const path = join(tempDir(), 'control.sock');
    expect(judgeFailure(path, 'ENOENT')).toEqual({ state: 'stale' });
    expect(judgeFailure(path, 'ECONNREFUSED')).toEqual({ state: 'stale' });
    for (const code of ['EAGAIN', 'ECONNRESET', 'EPIPE', 'EACCES', 'EMFILE', undefined]) expect(judgeFailure(path, code).state).toBe('unsure');
    expect(judgeFailure(path, 'EAGAIN')).toEqual({ state: 'unsure', why: 'its queue of connections is full (EAGAIN)' });
  });

  it('is not stale while a process listens at its path, whatever connecting said', async () => {
    const path = join(tempDir(), 'control.sock');
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(path, resolve));
    try {
      expect(listenerBoundAt(path)).toBe(true);
      expect(await probeSocket(path)).toEqual({ state: 'answers' });
      expect(judgeFailure(path, 'ECONNREFUSED').state).toBe('unsure');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(listenerBoundAt(path)).toBe(false);
    expect(await probeSocket(path)).toEqual({ state: 'stale' });
  });
});
