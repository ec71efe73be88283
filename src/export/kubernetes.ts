/**
 * `hostd export kubernetes`: a Deployment and a Service that agree with the config:
 * probes on readiness_path / liveness_path, terminationGracePeriodSeconds covering the
 * whole graceful stop (drain_delay included), a preStop pause only when the config has no
 * drain_delay to keep the pod serving while it leaves the Service's endpoints, and CPU
 * resources that match `workers`.
 */
import { stringify } from 'yaml';
import { parseBind } from '../config/binds.ts';
import type { ResolvedConfig } from '../config/types.ts';
import { configShape, platformStopTimeout, stopPlan } from '../config/stop-plan.ts';
import { HostdError } from '../errors.ts';
import { counted } from '../text.ts';
import { type ExportedFile, generatedHeader, stopComment } from './systemd.ts';

export interface KubernetesExport {
  readonly name: string;
  readonly image: string;
  readonly replicas: number;
  /** CPUs per pod when `workers` is "auto" (hostd then runs one worker per CPU of the limit). */
  readonly cpus: number;
  /** Memory per worker, in MiB; the primary gets one share too. */
  readonly memoryPerWorker: number;
  /** The container's command. */
  readonly command: readonly string[];
}

/** How long Kubernetes takes to notice a pod left the endpoints, when hostd does not bridge it (drain_delay 0). */
const ENDPOINT_PROPAGATION_SECONDS = 5;

const LOOPBACK = /^(127\.|::1$|localhost$)/;

/**
 * The first TCP address the config binds with a fixed port, off loopback: what a container
 * exposes. Loopback only is an error, as nothing outside the container would reach it.
 * `preset` names the preset that binds every interface.
 */
export function containerBind(binds: readonly string[], preset: string): { readonly host: string | null; readonly port: number } {
  const tcp = binds.flatMap((text) => {
    const parsed = parseBind(text);
    return parsed.ok && parsed.bind.type === 'tcp' && parsed.bind.port > 0 ? [parsed.bind] : [];
  });
  const reachable = tcp.find((bind) => bind.host === null || !LOOPBACK.test(bind.host));
  if (reachable) return reachable;
  const loopback = tcp[0];
  if (loopback) {
    throw new HostdError(
      'HOSTD_ERR_EXPORT',
      `bind: ${loopback.host}:${loopback.port} is reachable only from inside the container; extend the ${preset} preset (0.0.0.0:$PORT), or bind ":${loopback.port}"`,
    );
  }
  throw new HostdError('HOSTD_ERR_EXPORT', `the config binds no TCP port a container can expose (bind: "0.0.0.0:8000", or use the ${preset} preset)`);
}

/** The metrics port to expose and scrape, and a note when Prometheus could not reach it from outside the pod. */
function metricsPort(metricsBind: string | null): { port: number | null; note: string | null } {
  if (metricsBind === null) return { port: null, note: null };
  const parsed = parseBind(metricsBind);
  if (!parsed.ok || parsed.bind.type !== 'tcp' || parsed.bind.port === 0) {
    return { port: null, note: `# metrics_bind (${metricsBind}) is not a fixed TCP port: no metrics port or scrape annotations.` };
  }
  const host = parsed.bind.host;
  const loopback = host !== null && (host === 'localhost' || host.startsWith('127.') || host === '::1');
  return { port: parsed.bind.port, note: loopback ? `# metrics_bind listens on ${host}: Prometheus cannot reach it from outside the pod (bind 0.0.0.0:${parsed.bind.port}).` : null };
}

export function exportKubernetes(config: ResolvedConfig, options: KubernetesExport): ExportedFile[] {
  const s = config.settings;
  const { port } = containerBind(s.bind, 'kubernetes');
  const workers = s.workers === 'auto' ? options.cpus : s.workers;
  const plan = stopPlan(s, configShape(config.hooks), 'graceful');
  // Kubernetes has no "infinity": with hook_timeout 0, five minutes.
  const stopTimeout = platformStopTimeout(plan) ?? 300;
  const needsPreStop = s.drain_delay <= 0;
  const probe = (path: string | null, periodSeconds: number, failureThreshold: number) =>
    path === null ? undefined : { httpGet: { path, port: 'http' }, periodSeconds, failureThreshold, timeoutSeconds: 2 };

  const metrics = metricsPort(s.metrics_bind);
  const container = {
    name: options.name,
    image: options.image,
    command: [...options.command],
    ports: [{ name: 'http', containerPort: port }, ...(metrics.port === null ? [] : [{ name: 'metrics', containerPort: metrics.port }])],
    env: [
      { name: 'PORT', value: String(port) },
      { name: 'NODE_ENV', value: 'production' },
    ],
    // Readiness must fail within drain_delay for the pod to leave the endpoints before hostd stops accepting.
    readinessProbe: probe(s.readiness_path, 1, 1),
    livenessProbe: probe(s.liveness_path, 10, 3),
    resources: {
      requests: { cpu: String(workers), memory: `${(workers + 1) * options.memoryPerWorker}Mi` },
      limits: { cpu: String(workers), memory: `${(workers + 1) * options.memoryPerWorker}Mi` },
    },
    ...(needsPreStop ? { lifecycle: { preStop: { sleep: { seconds: ENDPOINT_PROPAGATION_SECONDS } } } } : {}),
  };

  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: options.name, labels: { app: options.name } },
    spec: {
      replicas: options.replicas,
      selector: { matchLabels: { app: options.name } },
      // A new pod is ready before an old one is stopped; hostd drains the old one without dropping a request.
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: {
          labels: { app: options.name },
          // The annotations Prometheus's usual kubernetes_sd pod scrape config selects on.
          ...(metrics.port === null ? {} : { annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(metrics.port), 'prometheus.io/path': '/metrics' } }),
        },
        spec: {
          terminationGracePeriodSeconds: stopTimeout + (needsPreStop ? ENDPOINT_PROPAGATION_SECONDS : 0),
          containers: [container],
        },
      },
    },
  };
  const service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: options.name, labels: { app: options.name } },
    spec: { selector: { app: options.name }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
  };

  const header = [
    generatedHeader('kubernetes', config),
    `# hostd runs ${counted(workers, 'worker')} per pod${s.workers === 'auto' ? ` (workers: "auto" follows the CPU limit, ${options.cpus})` : ''}.`,
    needsPreStop
      ? `# drain_delay is 0, so a preStop pause of ${ENDPOINT_PROPAGATION_SECONDS} s lets the pod leave the endpoints before SIGTERM.`
      : `# No preStop: on SIGTERM hostd answers ${s.readiness_path ?? 'readiness'} with 503 for ${s.drain_delay} s while it keeps serving.`,
    '# terminationGracePeriodSeconds:',
    ...stopComment(plan),
    ...(plan.total === null ? ['# Kubernetes needs a number: 300 s.'] : []),
    ...(needsPreStop ? [`# and the preStop pause, ${ENDPOINT_PROPAGATION_SECONDS} s.`] : []),
    ...(metrics.note === null ? [] : [metrics.note]),
  ].join('\n');
  return [{ name: `${options.name}.yaml`, content: `${header}\n${stringify(deployment)}---\n${stringify(service)}` }];
}
