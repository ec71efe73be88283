/**
 * Every setting has an end-to-end test through the real CLI that fails if the setting has no
 * effect. This is the list of where each one's is; a setting added to the table without an
 * entry here fails this test, by name. Each listed file must run hostd and name the setting
 * (as a config key or as its flag).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SETTINGS, type SettingName } from '../src/config/settings.ts';
import { REPO } from './helpers/project.ts';

const EFFECT: Record<SettingName, string> = {
  app: 'test/cli/check-app.test.ts',
  bind: 'test/runtime/apps.test.ts',
  unix_mode: 'test/runtime/hardening.test.ts',
  unix_group: 'test/runtime/hardening.test.ts',
  sticky_sessions: 'test/runtime/sticky.test.ts',
  forwarded_allow_ips: 'test/runtime/proxy.test.ts',
  proxy_protocol: 'test/runtime/proxy.test.ts',
  dispatch: 'test/runtime/dispatch.test.ts',
  backlog: 'test/runtime/backlog.test.ts',
  workers: 'test/runtime/settings-effects.test.ts',
  timeout: 'test/faults/stop-paths.test.ts',
  graceful_timeout: 'test/runtime/websockets.test.ts',
  keepalive: 'test/runtime/settings-effects.test.ts',
  max_requests: 'test/runtime/settings-effects.test.ts',
  max_requests_jitter: 'test/runtime/settings-effects.test.ts',
  boot_timeout: 'test/runtime/generations.test.ts',
  max_memory: 'test/runtime/max-memory.test.ts',
  reload_batch: 'test/runtime/reload-batch.test.ts',
  worker_exec_argv: 'test/runtime/worker-flags.test.ts',
  hook_timeout: 'test/faults/hooks.test.ts',
  request_timeout: 'test/runtime/http-limits.test.ts',
  headers_timeout: 'test/runtime/http-limits.test.ts',
  max_header_size: 'test/runtime/http-limits.test.ts',
  limit_request_line: 'test/runtime/http-limits.test.ts',
  limit_request_fields: 'test/runtime/http-limits.test.ts',
  limit_request_field_size: 'test/runtime/http-limits.test.ts',
  limit_request_body: 'test/runtime/http-limits.test.ts',
  send_timeout: 'test/runtime/http-limits.test.ts',
  readiness_path: 'test/presets/kubernetes.test.ts',
  liveness_path: 'test/presets/kubernetes.test.ts',
  drain_delay: 'test/presets/kubernetes.test.ts',
  sd_notify: 'test/presets/systemd.test.ts',
  certfile: 'test/runtime/settings-effects.test.ts',
  keyfile: 'test/runtime/settings-effects.test.ts',
  ca_certs: 'test/runtime/mtls.test.ts',
  cert_reqs: 'test/runtime/mtls.test.ts',
  chdir: 'test/runtime/releases.test.ts',
  config_timeout: 'test/runtime/hardening.test.ts',
  pidfile: 'test/runtime/supervision.test.ts',
  proc_name: 'test/runtime/lifecycle.test.ts',
  env: 'test/cli/check-app.test.ts',
  accesslog: 'test/runtime/settings-effects.test.ts',
  errorlog: 'test/runtime/settings-effects.test.ts',
  access_log_format: 'test/runtime/requests.test.ts',
  loglevel: 'test/runtime/settings-effects.test.ts',
  log_format: 'test/runtime/requests.test.ts',
  reload: 'test/runtime/generations.test.ts',
  reload_extra_files: 'test/runtime/settings-effects.test.ts',
  show_errors: 'test/presets/paas-development.test.ts',
  metrics_bind: 'test/runtime/metrics.test.ts',
  extends: 'test/cli/print-config.test.ts',
  control_socket: 'test/cli/control.test.ts',
  allow_app_control: 'test/runtime/host.test.ts',
};

describe('every setting has an end-to-end test of its effect', () => {
  it('names each setting of the table without an entry', () => {
    const missing = Object.keys(SETTINGS).filter((name) => !Object.hasOwn(EFFECT, name));
    expect(missing, `settings without an end-to-end test of their effect: ${missing.join(', ')}`).toEqual([]);
  });

  it.each(Object.entries(EFFECT))('%s: %s runs hostd with it', (name, file) => {
    expect(Object.hasOwn(SETTINGS, name), `${name} is not a setting any more`).toBe(true);
    const path = join(REPO, file);
    expect(existsSync(path), file).toBe(true);
    const text = readFileSync(path, 'utf8');
    expect(text, `${file} starts no hostd`).toMatch(/startHostd\(|hostd\(\[/);
    const flag = `--${name.replaceAll('_', '-')}`;
    expect(new RegExp(`\\b${name}\\s*:`).test(text) || text.includes(flag), `${file} never sets ${name}`).toBe(true);
  });
});
