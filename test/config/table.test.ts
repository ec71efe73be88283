import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderAll } from '../../scripts/render.ts';
import { envName, flagName, HOOK_NAMES, HOOKS, HOST_EVENT_NAMES, HOST_EVENTS, POLICY_DOCS, SECTIONS, SETTING_NAMES, SETTINGS, settingsWithCli } from '../../src/config/settings.ts';
import { host } from '../../src/host.ts';
import { REPO } from '../helpers/project.ts';

const version = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;

describe('the settings table', () => {
  it.each(renderAll(version).map((f) => [f.path, f.content] as const))('%s matches the table (run `npm run generate`)', (path, content) => {
    expect(readFileSync(join(REPO, path), 'utf8')).toBe(content);
  });

  it('gives every setting a section, a doc line and a default its own schema accepts', () => {
    for (const name of SETTING_NAMES) {
      const row = SETTINGS[name];
      expect(SECTIONS, name).toContain(row.section);
      expect(row.doc.length, name).toBeGreaterThan(10);
      if (name !== 'app' && name !== 'extends') expect(row.kind.schema.safeParse(row.default).success, `${name} default`).toBe(true);
    }
  });

  it('has no flag or short alias twice', () => {
    const flags = settingsWithCli().map(flagName);
    expect(new Set(flags).size).toBe(flags.length);
    const shorts = SETTING_NAMES.map((n) => SETTINGS[n].short).filter(Boolean);
    expect(new Set(shorts).size).toBe(shorts.length);
    expect(envName('graceful_timeout')).toBe('HOSTD_GRACEFUL_TIMEOUT');
    expect(flagName('graceful_timeout')).toBe('--graceful-timeout');
  });

  it('lists the hooks of SPEC section 2 in lifecycle order, each with a documented policy', () => {
    expect(HOOK_NAMES).toEqual([
      'on_starting',
      'pre_fork',
      'post_fork',
      'post_worker_init',
      'when_ready',
      'pre_request',
      'post_request',
      'on_reload',
      'nworkers_changed',
      'worker_int',
      'worker_exit',
      'child_exit',
      'on_exit',
    ]);
    for (const name of HOOK_NAMES) expect(POLICY_DOCS[HOOKS[name].onError], name).toBeTruthy();
  });

  it('says when each hook and event runs as the end of a sentence, for the docs, the hover and the JSON Schema', () => {
    const rows = [...HOOK_NAMES.map((name) => [name, HOOKS[name]] as const), ...HOST_EVENT_NAMES.map((name) => [name, HOST_EVENTS[name]] as const)];
    for (const [name, row] of rows) {
      const sentence = `Runs in the ${row.runsIn} ${row.when}.`;
      expect(row.when, `${name}: "${sentence}"`).toMatch(/^(before|after|when|once|on|as)\b/);
      expect(sentence, name).not.toMatch(/\s{2}|\.\.|;\./);
    }
    const generated = renderAll(version).map((f) => f.content).join('\n');
    for (const name of HOOK_NAMES) expect(generated).toContain(`Runs in the ${HOOKS[name].runsIn} ${HOOKS[name].when}.`);
  });

  it('has a row for every event host.on() takes, and host.on() takes every row', () => {
    for (const name of HOST_EVENT_NAMES) expect(() => host.on(name, () => {})).toThrow(expect.objectContaining({ code: 'HOSTD_ERR_NOT_RUNNING' }));
    expect(() => host.on('nope' as 'shutdown', () => {})).toThrow(expect.objectContaining({ code: 'HOSTD_ERR_UNKNOWN_EVENT' }));
  });

  it('carries the settings SPEC section 1 names, with its defaults', () => {
    const expected: Record<string, unknown> = {
      bind: ['127.0.0.1:8000'],
      workers: 1,
      timeout: 30,
      graceful_timeout: 30,
      keepalive: 5,
      max_requests: 0,
      max_requests_jitter: 0,
      hook_timeout: 30,
      pidfile: null,
      proc_name: 'hostd',
      env: {},
      accesslog: null,
      errorlog: '-',
      loglevel: 'info',
      extends: [],
      allow_app_control: false,
    };
    for (const [name, value] of Object.entries(expected)) expect(SETTINGS[name as keyof typeof SETTINGS].default, name).toEqual(value);
  });
});
