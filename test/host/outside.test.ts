import { describe, expect, it } from 'vitest';
import { host } from '../../src/index.ts';

describe('host outside hostd', () => {
  it('says plainly that it is not running', () => {
    expect(host.running).toBe(false);
    expect(host.worker).toBeNull();
    expect(host.capabilities).toEqual([]);
  });

  it('refuses subscriptions that would never fire, so a library can fall back', () => {
    expect(() => host.on('shutdown', () => {})).toThrow(expect.objectContaining({ code: 'HOSTD_ERR_NOT_RUNNING' }));
    expect(() => host.on('shutdown', () => {})).toThrow(/not a hostd worker, so it would never happen; check host\.running/);
    expect(() => host.on('nope' as 'shutdown', () => {})).toThrow(/unknown event "nope"/);
    expect(() => host.reload()).toThrow(expect.objectContaining({ code: 'HOSTD_ERR_NOT_RUNNING' }));
    expect(() => host.stop()).toThrow(expect.objectContaining({ code: 'HOSTD_ERR_NOT_RUNNING' }));
    expect(() => host.off('shutdown', () => {})).not.toThrow();
  });
});
