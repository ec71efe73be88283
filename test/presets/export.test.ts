import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import module from 'node:module';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { configShape, PLATFORM_MARGIN_SECONDS, platformStopTimeout, stopPlan, type StopSettings } from '../../src/config/stop-plan.ts';
import { hostd, resolvedSettings } from '../helpers/cli.ts';
import { project, REPO } from '../helpers/project.ts';
import { startHostd } from '../helpers/run.ts';

const APP = { 'app.mjs': 'export default (q, s) => s.end("ok");\n' };
/** Whether the Node running the tests (and hostd, started with it) has a compile cache (22.1+). */
const SUPPORTS_COMPILE_CACHE = typeof (module as { enableCompileCache?: unknown }).enableCompileCache === 'function';

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

  it('exposes the first address off loopback, and exits 1 when every address is on loopback', async () => {
    const two = project({ ...APP, 'hostd.config.ts': "export default { app: './app.mjs', bind: ['127.0.0.1:8000', '0.0.0.0:9000'] };\n" });
    expect((await kubernetes(two)).container.ports).toEqual([{ name: 'http', containerPort: 9000 }]);
    const local = project({ ...APP, 'hostd.config.ts': "export default { app: './app.mjs', bind: 'localhost:8000' };\n" });
    const result = await hostd(['export', 'kubernetes'], { cwd: local });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('bind: localhost:8000 is reachable only from inside the container; extend the kubernetes preset (0.0.0.0:$PORT), or bind ":8000"');
  });

  it('resolves the config from --chdir, as hostd run does, wherever it runs', async () => {
    const dir = project({ ...APP, 'hostd.config.ts': "export default { app: './app.mjs', bind: '0.0.0.0:9000' };\n" });
    const result = await hostd(['export', 'kubernetes', '--chdir', dir], { cwd: project({}) });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('containerPort: 9000');
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
    // The project's own hostd, relative to WorkingDirectory: nothing of the machine that exported.
    expect(service.get('ExecStart')).toEqual(['/usr/bin/env node_modules/.bin/hostd run --config hostd.config.ts']);
    expect(service.get('WorkingDirectory')).toEqual(['/srv/api']);
    expect(result.stdout).not.toContain(dir);
  });

  it('with --socket, writes a .socket holding the binds, and the service listens on the fds systemd passes', async () => {
    const dir = systemdProject("bind: ['127.0.0.1:8080', 'unix:/run/api.sock']");
    mkdirSync(join(dir, 'deploy'));
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

/** The Dockerfile's instructions, by keyword (a repeated keyword gives every argument). */
function dockerfile(text: string): Map<string, string[]> {
  const instructions = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const m = /^([A-Z]+) (.*)$/.exec(line);
    if (m) instructions.set(m[1]!, [...(instructions.get(m[1]!) ?? []), m[2]!]);
  }
  return instructions;
}

describe('hostd export docker', () => {
  it('writes a Dockerfile whose signal, probe, port and stop timeout agree with the config', async () => {
    const dir = project({ ...APP, 'hostd.config.ts': "import kubernetes from 'hostd/presets/kubernetes';\nexport default { extends: [kubernetes({ port: 9100, drain_delay: 4 })], app: './app.mjs', liveness_path: '/alive' };\n" });
    const s = await resolvedSettings(dir);
    const result = await hostd(['export', 'docker'], { cwd: dir });
    expect(result.code, result.stderr).toBe(0);
    const file = dockerfile(result.stdout);
    // SIGTERM is hostd's graceful stop.
    expect(file.get('STOPSIGNAL')).toEqual(['SIGTERM']);
    expect(file.get('EXPOSE')).toEqual(['9100']);
    expect(file.get('ENV')).toEqual(['NODE_ENV=production PORT=9100']);
    // The probe hostd answers, asked over loopback inside the container, with what the image has (node).
    const healthcheck = file.get('HEALTHCHECK')![0]!;
    const command = JSON.parse(healthcheck.slice(healthcheck.indexOf('CMD ') + 4)) as string[];
    expect(command.slice(0, 2)).toEqual(['node', '-e']);
    expect(command[2]).toContain("fetch('http://127.0.0.1:9100/alive')");
    // hostd itself is PID 1 (the exec form), started from the project's own node_modules.
    expect(file.get('CMD')).toEqual(['["node_modules/.bin/hostd", "run"]']);
    // The stop timeout to give Docker is the stop plan's, as for the other platforms.
    const derived = platformStopTimeout(stopPlan(s as unknown as StopSettings, configShape({ post_request: [], worker_int: [], worker_exit: [], child_exit: [], on_exit: [] }), 'graceful'));
    expect(derived).toBe(stopWorstCase(s) + PLATFORM_MARGIN_SECONDS);
    expect(result.stdout).toContain(`docker run --stop-timeout ${derived} -p 9100:9100 IMAGE`);
    expect(result.stdout).toContain(`stop_grace_period: ${derived}s`);
  });

  it('HEALTHCHECK\'s command asks the probe of a running hostd: 0 while it serves, 1 once it is gone', async () => {
    const dir = project({ ...APP, 'hostd.config.ts': "import kubernetes from 'hostd/presets/kubernetes';\nexport default { extends: [kubernetes()], app: './app.mjs', workers: 1 };\n" });
    const server = startHostd(dir, ['-b', '127.0.0.1:0']);
    const port = new URL(await server.ready()).port;
    const result = await hostd(['export', 'docker', '-b', `0.0.0.0:${port}`], { cwd: dir });
    expect(result.code, result.stderr).toBe(0);
    const healthcheck = dockerfile(result.stdout).get('HEALTHCHECK')![0]!;
    const [command, ...args] = JSON.parse(healthcheck.slice(healthcheck.indexOf('CMD ') + 4)) as string[];
    expect(command).toBe('node');
    const probe = () => new Promise<number | null>((resolve) => execFile(process.execPath, args, { timeout: 10_000 }, (error) => resolve(error ? ((error as { code?: number }).code ?? null) : 0)));
    expect(await probe()).toBe(0);
    // A fast stop: the preset's drain_delay would keep it answering for seconds.
    await server.stop('SIGINT');
    expect(await probe()).toBe(1);
  });

  it('fits the docker preset\'s stop window; no HEALTHCHECK without a probe path', async () => {
    const dir = project({ ...APP, 'hostd.config.ts': "import docker from 'hostd/presets/docker';\nexport default { extends: [docker({ stop_timeout: 45 })], app: './app.mjs' };\n" });
    const result = await hostd(['export', 'docker', '--from', 'node:22-alpine'], { cwd: dir });
    expect(result.code, result.stderr).toBe(0);
    const file = dockerfile(result.stdout);
    expect(file.get('FROM')).toEqual(['node:22-alpine']);
    expect(file.get('EXPOSE')).toEqual(['8000']);
    expect(file.has('HEALTHCHECK')).toBe(false);
    expect(result.stdout).toContain('# No HEALTHCHECK: the config sets neither liveness_path nor readiness_path');
    const timeout = Number(/--stop-timeout (\d+)/.exec(result.stdout)![1]);
    expect(timeout).toBeGreaterThan(30);
    expect(timeout).toBeLessThanOrEqual(45);
  });

  it('is what docs/deploy/docker.md shows for its config, with the stop timeout it states', async () => {
    const doc = readFileSync(join(REPO, 'docs', 'deploy', 'docker.md'), 'utf8');
    const config = /```ts\n([\s\S]*?)```/.exec(doc)![1]!;
    const shown = /```dockerfile\n([\s\S]*?)```/.exec(doc)![1]!;
    const dir = project({ 'dist/app.js': APP['app.mjs'], 'hostd.config.ts': config });
    const result = await hostd(['export', 'docker', '--from', 'node:20-slim'], { cwd: dir });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.split('\n').filter((line) => line !== '' && !line.startsWith('#')).join('\n') + '\n').toBe(shown);
    const derived = /--stop-timeout (\d+)/.exec(result.stdout)![1];
    expect(doc).toContain(`docker run --stop-timeout ${derived} -p 8000:8000 api`);
    expect(doc).toContain(`(${derived} s for the config above)`);
  });

  it('builds an image that starts warm and serves from a read-only filesystem', async () => {
    // What a process has loaded: Node's compile cache folder, and whether jiti (which a config missing from the transform cache needs on Node 20).
    const facts = "JSON.stringify({ compileCache: module.getCompileCacheDir?.() ?? null, jiti: Object.keys(createRequire(import.meta.url).cache).some((f) => f.includes('/node_modules/jiti/')) })";
    const dir = project({
      'app.mjs': `import module, { createRequire } from 'node:module';\nexport default (req, res) => res.end(${facts});\n`,
      'hostd.config.ts': `import module, { createRequire } from 'node:module';\nimport { defineConfig } from 'hostd';\nconst workers: number = 1;\nexport default defineConfig({ app: './app.mjs', bind: ':0', workers, when_ready: () => console.log(\`primary \${${facts}}\`) });\n`,
    });
    const steps = (await hostd(['export', 'docker', '-b', ':8000'], { cwd: dir })).stdout.split('\n').filter((line) => line.startsWith('RUN '));
    expect(steps.at(-1)).toBe('RUN node_modules/.bin/hostd check --warm');
    // Exporting evaluated the config, which cached its transform: the image starts without it.
    rmSync(join(dir, 'node_modules', '.cache'), { recursive: true, force: true });
    const built = await hostd(['check', '--warm'], { cwd: dir, env: { NODE_ENV: 'production' } });
    expect(built.code, built.stderr).toBe(0);
    expect(built.stdout).toMatch(/warmed +the config's transforms/);

    // The container: the project, hostd's node_modules and /tmp read-only, no HOME.
    const readOnly = [dir, join(REPO, 'node_modules'), '/tmp'].map((folder) => `mount --bind -o ro ${folder} ${folder}`).join(' && ');
    const prefix = ['unshare', '--user', '--map-root-user', '--mount', 'sh', '-c', `${readOnly} && exec env -u HOME -u XDG_CACHE_HOME "$@"`, 'sh'];
    const run = startHostd(dir, [], { prefix, env: { NODE_ENV: 'production' } });
    const url = await run.ready();
    const expected = { compileCache: SUPPORTS_COMPILE_CACHE ? expect.stringMatching(new RegExp(`^${join(REPO, 'node_modules', '.cache', 'hostd', 'compile')}/`)) : null, jiti: false };
    expect(JSON.parse(await (await fetch(url)).text())).toEqual(expected);
    expect(JSON.parse((await run.waitForOutput(/^primary (.*)$/m))[1]!)).toEqual(expected);
    expect(await run.stop()).toEqual({ code: 0, signal: null });
    // Nothing went wrong but the control socket, which needs a writable /tmp (docs/deploy/docker.md).
    expect(run.output.split('\n').filter((line) => /\[(?:WARNING|ERROR|CRITICAL)\]/.test(line))).toEqual([expect.stringMatching(/\[WARNING\] control socket: listen EROFS/)]);
  });

  it('exits 1 when the config listens on loopback only, which nothing outside the container reaches', async () => {
    const dir = project({ ...APP, 'hostd.config.ts': "export default { app: './app.mjs', bind: '127.0.0.1:8000' };\n" });
    const result = await hostd(['export', 'docker'], { cwd: dir });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('bind: 127.0.0.1:8000 is reachable only from inside the container; extend the docker preset (0.0.0.0:$PORT), or bind ":8000"');
    expect(result.stdout).toBe('');
  });
});

describe('exported files travel', () => {
  const config = "import kubernetes from 'hostd/presets/kubernetes';\nexport default { extends: [kubernetes()], app: './app.mjs' };\n";

  it.each(['systemd', 'systemd --socket', 'kubernetes', 'docker'])('hostd export %s names no folder of the machine that exported', async (args) => {
    const dir = project({ ...APP, 'hostd.config.ts': config });
    const result = await hostd(['export', ...args.split(' ')], { cwd: dir });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('from hostd.config.ts;');
    // Neither the project's folder nor hostd's own (where the CLI and node run from).
    for (const local of [dir, realpathSync(dir), REPO, process.execPath]) expect(result.stdout).not.toContain(local);
  });

  it('systemd: WorkingDirectory is where the service runs, given as an absolute path', async () => {
    const dir = project({ ...APP, 'hostd.config.ts': config });
    const service = unit((await hostd(['export', 'systemd', '--working-directory', '/opt/api'], { cwd: dir })).stdout);
    expect(service.get('WorkingDirectory')).toEqual(['/opt/api']);
    const relative = await hostd(['export', 'systemd', '--working-directory', 'api'], { cwd: dir });
    expect(relative.code).toBe(2);
    expect(relative.stderr).toContain('--working-directory: expected an absolute path (systemd takes no other), got "api"');
  });

  it('the exported command repeats the setting flags the files were made with', async () => {
    const dir = project({ ...APP, 'hostd.config.ts': config });
    const docker = dockerfile((await hostd(['export', 'docker', '-b', ':9000', '--graceful-timeout', '5'], { cwd: dir })).stdout);
    expect(docker.get('EXPOSE')).toEqual(['9000']);
    expect(docker.get('CMD')).toEqual(['["node_modules/.bin/hostd", "run", "--bind", ":9000", "--graceful-timeout", "5"]']);
    const service = unit((await hostd(['export', 'systemd', '--workers', '3', '--no-reload'], { cwd: dir })).stdout);
    expect(service.get('ExecStart')).toEqual(['/usr/bin/env node_modules/.bin/hostd run --config hostd.config.ts --workers 3 --no-reload']);
    // With --socket, the sockets systemd passes are the binds.
    const socketed = unit((await hostd(['export', 'systemd', '--socket', '-b', '127.0.0.1:9000'], { cwd: dir })).stdout);
    expect(socketed.get('ExecStart')).toEqual(['/usr/bin/env node_modules/.bin/hostd run --config hostd.config.ts --bind fd://3']);
    expect(socketed.get('ListenStream')).toEqual(['127.0.0.1:9000']);
  });

  it('--out into a folder that does not exist is an error naming it, and creates nothing', async () => {
    const dir = project({ ...APP, 'hostd.config.ts': config });
    const result = await hostd(['export', 'kubernetes', '--out', 'deploy/k8s'], { cwd: dir });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('--out: deploy/k8s is not a folder that exists');
    expect(existsSync(join(dir, 'deploy'))).toBe(false);
  });

  it('--help lists the command\'s own options; setting flags stay with run, and still work', async () => {
    const dir = project({ ...APP, 'hostd.config.ts': config });
    const help = await hostd(['export', '--help'], { cwd: dir });
    expect(help.code).toBe(0);
    for (const own of ['--out <dir>', '--socket', '--image <image>', '--from <image>', 'hostd export docker']) expect(help.stdout).toContain(own);
    for (const setting of ['-w, --workers', '--graceful-timeout', '-b, --bind', 'Worker processes options:']) expect(help.stdout).not.toContain(setting);
    expect(help.stdout).toContain('Setting flags (--workers, --bind, ...) work as in `hostd run`: see `hostd run --help` or docs/settings.md.');
    expect((await hostd(['run', '--help'], { cwd: dir })).stdout).toContain('--graceful-timeout <seconds>');
    const { container } = await kubernetes(dir, '--workers', '3');
    expect(container.resources.limits.cpu).toBe('3');
    // Misspelt, they are still suggested.
    expect((await hostd(['export', 'docker', '--graceful-timout', '3'], { cwd: dir })).stderr).toContain('Did you mean --graceful-timeout?');
  });
});
