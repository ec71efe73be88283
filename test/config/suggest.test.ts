import { describe, expect, it } from 'vitest';
import { didYouMean, editDistance, suggest } from '../../src/config/suggest.ts';
import { HOOK_NAMES, SETTING_NAMES } from '../../src/config/settings.ts';

const KEYS = [...SETTING_NAMES, ...HOOK_NAMES];

describe('suggest', () => {
  it.each([
    ['wrokers', 'workers'],
    ['worker', 'workers'],
    ['pre_frok', 'pre_fork'],
    ['preFork', 'pre_fork'],
    ['post-fork', 'post_fork'],
    ['gracefull_timeout', 'graceful_timeout'],
    ['keepAlive', 'keepalive'],
    ['onStarting', 'on_starting'],
    ['binds', 'bind'],
  ])('%s → %s', (input, expected) => {
    expect(suggest(input, KEYS)).toBe(expected);
  });

  it('suggests nothing for unrelated names', () => {
    expect(suggest('database', KEYS)).toBeUndefined();
    expect(didYouMean('zzz', KEYS)).toBe('');
  });

  it('counts a swap of neighbours as one edit', () => {
    expect(editDistance('ab', 'ba')).toBe(1);
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });
});
