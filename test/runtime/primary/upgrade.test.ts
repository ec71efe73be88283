/**
 * What a new primary reads of its inheritance (HOSTD_UPGRADE): untrusted input, valid or no
 * upgrade at all; and whether the old primary said it answers `upgraded` (an older hostd does not).
 */
import { describe, expect, it } from 'vitest';
import { takeInheritance, UPGRADE_VARIABLE } from '../../../src/runtime/primary/upgrade.ts';

const FROM = { pid: 4181, version: '0.1.0', at: '2026-12-07T02:00:00.000Z' };
const take = (value: unknown) => takeInheritance({ [UPGRADE_VARIABLE]: typeof value === 'string' ? value : JSON.stringify(value) });

describe('takeInheritance', () => {
  it('reads what the old primary handed over, and takes the variable out of the environment', () => {
    const env: Record<string, string | undefined> = { [UPGRADE_VARIABLE]: JSON.stringify({ from: FROM, binds: [['127.0.0.1:8000', 3]], metrics: 4, acknowledges: true }) };
    expect(takeInheritance(env)).toEqual({ from: FROM, binds: new Map([['127.0.0.1:8000', 3]]), metrics: 4, acknowledges: true });
    expect(UPGRADE_VARIABLE in env).toBe(false);
    expect(takeInheritance(env)).toBeNull();
  });

  it('an old primary that does not say it answers (a hostd from before the answer) is one that does not', () => {
    expect(take({ from: FROM, binds: [['127.0.0.1:8000', 3]], metrics: null })).toMatchObject({ acknowledges: false });
    expect(take({ from: FROM, binds: [], metrics: null, acknowledges: false })).toMatchObject({ acknowledges: false });
  });

  it.each([
    ['not JSON', '{'],
    ['not an object', 7],
    ['no from', { binds: [], metrics: null }],
    ['a pid that is not one', { from: { ...FROM, pid: -1 }, binds: [], metrics: null }],
    ['binds not a list', { from: FROM, binds: {}, metrics: null }],
    ['a standard stream as a bind', { from: FROM, binds: [['127.0.0.1:8000', 1]], metrics: null }],
    ['a metrics descriptor that is not one', { from: FROM, binds: [], metrics: 'x' }],
    ['acknowledges not a boolean', { from: FROM, binds: [], metrics: null, acknowledges: 'yes' }],
    ['acknowledges null', { from: FROM, binds: [], metrics: null, acknowledges: null }],
    ['too long', 'x'.repeat(64 * 1024 + 1)],
  ])('is no inheritance at all when malformed: %s', (_what, value) => {
    expect(take(value)).toBeNull();
  });
});
