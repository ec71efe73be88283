/**
 * `hostd export docker`: a Dockerfile that agrees with the config: hostd runs as PID 1
 * (exec form, so it gets the stop signal and reaps orphans), STOPSIGNAL is the graceful
 * stop's SIGTERM, HEALTHCHECK asks the probe hostd answers, EXPOSE is the port it binds,
 * the stop timeout to give `docker run` comes from the stop plan, and the image is built
 * with hostd's caches filled (`hostd check --warm`).
 */
import { isIP } from 'node:net';
import type { ResolvedConfig } from '../config/types.ts';
import { configShape, platformStopTimeout, stopPlan } from '../config/stop-plan.ts';
import { containerBind } from './kubernetes.ts';
import { type ExportedFile, generatedHeader, stopComment } from './systemd.ts';

export interface DockerExport {
  /** The base image (`node:20-slim`). */
  readonly from: string;
  /** Setting flags for `hostd run`. */
  readonly args: readonly string[];
}

/** Docker has no "no limit" for a stop either: with hook_timeout 0, five minutes (as the Kubernetes export). */
const UNBOUNDED_STOP_SECONDS = 300;

export function exportDocker(config: ResolvedConfig, options: DockerExport): ExportedFile[] {
  const s = config.settings;
  const bind = containerBind(s.bind, 'docker');
  // The probe is asked from inside the container: over loopback when hostd listens on every interface.
  const probeHost = bind.host === null || bind.host === '0.0.0.0' || bind.host === '::' ? '127.0.0.1' : bind.host;
  const origin = `http://${isIP(probeHost) === 6 ? `[${probeHost}]` : probeHost}:${bind.port}`;
  const probePath = s.liveness_path ?? s.readiness_path;
  const plan = stopPlan(s, configShape(config.hooks), 'graceful');
  const stopTimeout = platformStopTimeout(plan) ?? UNBOUNDED_STOP_SECONDS;

  // node:*-slim has neither curl nor wget; Node's fetch asks the probe.
  const url = `${origin}${probePath ?? ''}`.replace(/['\\]/g, '\\$&');
  const probeScript = `fetch('${url}').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))`;
  const lines = [
    generatedHeader('docker', config),
    `# Run it with the stop timeout hostd needs: docker run --stop-timeout ${stopTimeout} -p ${bind.port}:${bind.port} IMAGE`,
    `# (Compose: stop_grace_period: ${stopTimeout}s). The stop timeout:`,
    ...stopComment(plan),
    ...(plan.total === null ? [`# Docker needs a number: ${UNBOUNDED_STOP_SECONDS} s.`] : []),
    '# Keep node_modules out of the build context (a .dockerignore with node_modules), so that',
    '# COPY . . does not replace the packages installed for the image.',
    `FROM ${options.from}`,
    'WORKDIR /app',
    'COPY package*.json ./',
    'RUN npm ci --omit=dev',
    'COPY . .',
    `ENV NODE_ENV=production PORT=${bind.port}`,
    "# The last build step fills hostd's caches (the config's transforms, Node's compiled code of",
    '# hostd and the app), so that a container starts warm, and reads them on a read-only',
    '# filesystem. It loads the app: add --no-app if the app cannot be loaded while building.',
    'RUN node_modules/.bin/hostd check --warm',
    `EXPOSE ${bind.port}`,
    "# hostd's graceful stop: stop accepting, drain, run the exit hooks.",
    'STOPSIGNAL SIGTERM',
    ...(probePath === null
      ? ['# No HEALTHCHECK: the config sets neither liveness_path nor readiness_path (the kubernetes preset sets both).']
      : [
          `# hostd answers ${probePath} itself, before the app${probePath === s.readiness_path ? ', with 503 while it stops' : ''}.`,
          `HEALTHCHECK --interval=10s --timeout=3s --start-period=${Math.max(5, Math.ceil(s.boot_timeout))}s --retries=3 CMD ${JSON.stringify(['node', '-e', probeScript])}`,
        ]),
    '# The exec form: hostd is PID 1, so it receives the stop signal itself and reaps orphaned',
    '# processes with its native helper. If it warns at start that it cannot reap (the helper',
    '# did not load in this image), run the container with --init (Compose: init: true).',
    `CMD [${['node_modules/.bin/hostd', 'run', ...options.args].map((arg) => JSON.stringify(arg)).join(', ')}]`,
    '',
  ];
  return [{ name: 'Dockerfile', content: lines.join('\n') }];
}

