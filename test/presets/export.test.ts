import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { configShape, PLATFORM_MARGIN_SECONDS, stopPlan, type StopSettings } from '../../src/config/stop-plan.ts';
import { hostd, resolvedSettings } from '../helpers/cli.ts';
import { project } from '../helpers/project.ts';

const APP = { 'app.mjs': 'export default (q, s) => s.end("ok");\n' };

type Settings = Record<string, unknown>;


/** The longest graceful stop the stop plan allows a config without hooks (the app's handlers assumed, as the export does). */
function stopWorstCase(s: Settings): number {
  return stopPlan(s as unknown as StopSettings, configShape({ post_request: [], worker_int: [], worker_exit: [], child_exit: [], on_exit: [] }), 'graceful').total!;
}

interface Container {
  ports: { name: string; containerPort: number }[];
  readinessProbe?: { httpGet: { path: string; port: string }; periodSeconds: number; failureThreshold: number };
  livenessProbe?: { httpGet: { path: string; port: string } };
  resources: { requests: { cpu: string }; limits: { cpu: string } };
  lifecycle?: { preStop: { sleep: { seconds: number } } };
  image: string;
}

async function kubernetes(dir: string, ...flags: string[]) {
  const result = await hostd(['export', 'kubernetes', ...flags], { cwd: dir });
  expect(result.code, result.stderr).toBe(0);
  const [deployment, service] = parseAllDocuments(result.stdout).map((d) => d.toJS()) as [
    { kind: string; spec: { replicas: number; strategy: { rollingUpdate: { maxUnavailable: number } }; template: { metadata: { annotations?: Record<string, string> }; spec: { terminationGracePeriodSeconds: number; containers: Container[] } } } },
    { kind: string; spec: { ports: { targetPort: string }[] } },
  ];
  return { deployment, service, container: deployment.spec.template.spec.containers[0]! };
}

describe('hostd export kubernetes', () => {
  it('writes a Deployment and a Service that agree with the kubernetes preset', async () => {
    const dir = project({ ...APP, 'hostd.config.ts': "import kubernetes from 'hostd/presets/kubernetes';\nexport default { extends: [kubernetes({ drain_delay: 4 })], app: './app.mjs' };\n" });
    const s = await resolvedSettings(dir);
    const { deployment, service, container } = await kubernetes(dir, '--image', 'registry.example/api:7', '--cpus', '4', '--replicas', '3');
    expect([deployment.kind, service.kind]).toEqual(['Deployment', 'Service']);
    expect(deployment.spec.replicas).toBe(3);
    expect(deployment.spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
    expect(container.image).toBe('registry.example/api:7');

    // The grace period covers the whole stop, drain_delay included.
    const grace = deployment.spec.template.spec.terminationGracePeriodSeconds;
    expect(grace).toBeGreaterThan((s.graceful_timeout as number) + (s.drain_delay as number));
    expect(grace).toBeGreaterThanOrEqual(stopWorstCase(s));

    // Probes on the preset's paths; readiness fails within drain_delay, so the pod leaves the endpoints first.
    expect(container.readinessProbe!.httpGet.path).toBe(s.readiness_path);
    expect(container.livenessProbe!.httpGet.path).toBe(s.liveness_path);
    expect(container.readinessProbe!.periodSeconds * container.readinessProbe!.failureThreshold).toBeLessThan(s.drain_delay as number);
    // hostd answers readiness with 503 during drain_delay itself: no preStop needed.
    expect(container.lifecycle).toBeUndefined();

    // The port the config binds, exposed and targeted by name; CPUs match workers ("auto" follows the limit).
    expect(container.ports).toEqual([{ name: 'http', containerPort: 8000 }]);
    expect(service.spec.ports[0]!.targetPort).toBe('http');
    expect(s.workers).toBe('auto');
    expect(container.resources.limits.cpu).toBe('4');
    expect(container.resources.requests.cpu).toBe('4');
  });

  it('adds a preStop pause only where needed: no drain_delay; resources follow a fixed worker count', async () => {
    const dir = project({ ...APP, 'hostd.config.ts': "export default { app: './app.mjs', bind: '0.0.0.0:9000', workers: 3, graceful_timeout: 12 };\n" });
    const s = await resolvedSettings(dir);
    const { deployment, container } = await kubernetes(dir);
    const preStop = container.lifecycle!.preStop.sleep.seconds;
    expect(preStop).toBeGreaterThan(0);
    expect(deployment.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(stopWorstCase(s) + preStop);
    expect(container.readinessProbe).toBeUndefined();
    expect(container.ports[0]!.containerPort).toBe(9000);
    expect(container.resources.limits.cpu).toBe('3');
  });

  it('with metrics_bind, exposes the metrics port and annotates the pod for Prometheus; without it, neither', async () => {
    const dir = project({ ...APP, 'hostd.config.ts': "export default { app: './app.mjs', bind: '0.0.0.0:9000', metrics_bind: '0.0.0.0:9100' };\n" });
    const { deployment, container } = await kubernetes(dir);
    expect(container.ports).toEqual([
      { name: 'http', containerPort: 9000 },
      { name: 'metrics', containerPort: 9100 },
    ]);
    expect(deployment.spec.template.metadata.annotations).toEqual({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9100', 'prometheus.io/path': '/metrics' });

    const plain = project({ ...APP, 'hostd.config.ts': "export default { app: './app.mjs', bind: '0.0.0.0:9000' };\n" });
    const without = await kubernetes(plain);
    expect(without.container.ports).toEqual([{ name: 'http', containerPort: 9000 }]);
    expect(without.deployment.spec.template.metadata.annotations).toBeUndefined();
  });

  it('exits 1 when there is no TCP port to expose', async () => {
    const dir = project({ ...APP, 'hostd.config.ts': "export default { app: './app.mjs', bind: 'unix:/tmp/x.sock' };\n" });
    const result = await hostd(['export', 'kubernetes'], { cwd: dir });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/no TCP port a container can expose/);
  });
});

/** `Key=Value` lines of a unit file, by key (a repeated key gives every value). */
function unit(text: string): Map<string, string[]> {
  const keys = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (m) keys.set(m[1]!, [...(keys.get(m[1]!) ?? []), m[2]!]);
  }
  return keys;
}

describe('hostd export systemd', () => {
  const systemdProject = (extra = '') =>
    project({ ...APP, 'hostd.config.ts': `import systemd from 'hostd/presets/systemd';\nexport default { extends: [systemd()], app: './app.mjs', timeout: 20, ${extra} };\n` });

  it('writes a notify service whose timeouts, signals and watchdog agree with the config', async () => {
    const dir = systemdProject("graceful_timeout: 25, drain_delay: 3, bind: '127.0.0.1:8080'");
    const s = await resolvedSettings(dir);
    const result = await hostd(['export', 'systemd', '--name', 'api'], { cwd: dir });
    expect(result.code, result.stderr).toBe(0);
    const service = unit(result.stdout);
    expect(service.get('Type')).toEqual(['notify']);
    expect(service.get('NotifyAccess')).toEqual(['main']);
    expect(service.get('WatchdogSec')).toEqual(['20']);
    expect(service.get('ExecReload')).toEqual(['/bin/kill -HUP $MAINPID']);
    expect(service.get('KillSignal')).toEqual(['SIGTERM']);
    expect(service.get('KillMode')).toEqual(['mixed']);
    expect(Number(service.get('TimeoutStopSec')![0])).toBeGreaterThanOrEqual(stopWorstCase(s) + PLATFORM_MARGIN_SECONDS);
    // The file says how its number was computed, term by term.
    expect(result.stdout).toContain(`# drain_delay 3 s + graceful_timeout 25 s + post_request wait 30 s + host.on('shutdown') 1 × 30 s + kill grace 1 s = ${stopWorstCase(s)} s;`);
    expect(service.get('ExecStart')![0]).toMatch(new RegExp(` run --config ${join(dir, 'hostd.config.ts').replaceAll('/', '\\/')}$`));
    expect(service.get('WorkingDirectory')).toEqual([dir]);
  });

  it('with --socket, writes a .socket holding the binds, and the service listens on the fds systemd passes', async () => {
    const dir = systemdProject("bind: ['127.0.0.1:8080', 'unix:/run/api.sock']");
    const result = await hostd(['export', 'systemd', '--socket', '--name', 'api', '--out', 'deploy'], { cwd: dir });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe('wrote deploy/api.service\nwrote deploy/api.socket\n');
    const service = unit(readFileSync(join(dir, 'deploy', 'api.service'), 'utf8'));
    const socket = unit(readFileSync(join(dir, 'deploy', 'api.socket'), 'utf8'));
    expect(socket.get('ListenStream')).toEqual(['127.0.0.1:8080', '/run/api.sock']);
    expect(service.get('Requires')).toEqual(['api.socket']);
    expect(service.get('ExecStart')![0]).toMatch(/ --bind fd:\/\/3 --bind fd:\/\/4$/);
  });

  it('writes a plain service when the config does not use sd_notify', async () => {
    const dir = project({ ...APP, 'hostd.config.ts': "export default { app: './app.mjs', hook_timeout: 0 };\n" });
    const service = unit((await hostd(['export', 'systemd'], { cwd: dir })).stdout);
    expect(service.get('Type')).toEqual(['exec']);
    expect(service.has('WatchdogSec')).toBe(false);
    expect(service.get('TimeoutStopSec')).toEqual(['infinity']);
  });
});
