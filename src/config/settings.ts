/**
 * THE table. Every setting and every hook hostd knows is one row here; the zod schema,
 * the TypeScript declarations (options.generated.ts), the CLI flags and `--help`, the
 * `HOSTD_*` env names, the JSON Schema and docs/settings.md are all derived from it.
 * To add a setting, add a row and run `npm run generate`.
 */
import { MAX_COUNT, MAX_WORKERS } from './bounds.ts';
import {
  appSpec,
  fileMode,
  groupName,
  binds,
  choice,
  controlSocket,
  flag,
  integer,
  type Kind,
  logTarget,
  mebibytes,
  nodeFlags,
  optionalBind,
  optionalPath,
  peerList,
  presetList,
  seconds,
  stringRecord,
  text,
  urlPath,
  pathList,
  workerCount,
} from './kinds.ts';
import { bindCollisions, bindOverlap } from './binds.ts';
import { printablePath } from '../paths.ts';

export const SECTIONS = [
  'App',
  'Server socket',
  'Worker processes',
  'HTTP',
  'TLS',
  'Deployment',
  'Process',
  'Logging',
  'Development',
  'Presets and control',
] as const;
export type Section = (typeof SECTIONS)[number];


export interface SettingRow<In = unknown, Out = In> {
  readonly section: Section;
  readonly kind: Kind<In, Out>;
  /** The built-in default (the lowest layer). */
  readonly default: Out;
  /** One line for docs, `--help` and the editor. */
  readonly doc: string;
  /** Longer notes for docs and the editor only. */
  readonly details?: string;
  /** A one-letter flag alias. */
  readonly short?: string;
  /** False when the setting cannot come from a flag or `HOSTD_*` variable. */
  readonly cli?: boolean;
  /** False when the setting cannot be written in a config file or preset: it is needed before the file is loaded. */
  readonly file?: boolean;
}

/** The kind alone decides a row's types; the default must fit them. */
function setting<In, Out>(row: Omit<SettingRow<In, Out>, 'default'> & { readonly default: NoInfer<Out> }): SettingRow<In, Out> {
  return row;
}

export const SETTINGS = {
  app: setting({
    section: 'App',
    kind: appSpec(),
    default: null,
    doc: 'The app module, `./src/app.ts` or `./src/app.ts#name` (the export, `default` if omitted). Required to run.',
    details:
      'The export is a Node request listener `(req, res) => void`, an object with `fetch(request)`, or a factory (sync or async) returning either, called once per worker after `post_fork` with `{ server, worker }` (the type `AppFactory`): `server` is the worker\'s `http.Server` (`https.Server` with `certfile`), for WebSocket servers to attach to (`new WebSocketServer({ server })` with ws, `new Server(server)` with socket.io); hostd feeds it connections once the worker is ready, so do not call `listen()` on it. `worker` is `{ id, pid, age, generation, booted_at }`. An upgrade request (a WebSocket handshake) goes to the app\'s own `upgrade` listener, not through the request pipeline: `pre_request`, `post_request` and `host.on(\'request\')` do not run for it, and the access log has a line with the status the app answered (101 when it accepted). Likewise, requests a library answers itself on the server (socket.io answers its own path, `/socket.io/`, for its polling transport, and passes other requests on) do not go through the pipeline: no request hooks and no access-log line for them. A relative path is taken from the config file\'s folder. `hostd run APP` sets it too.\n\nExport an Express or Hono app as it is; for Koa, export `app.callback()`; for Fastify, export a factory: `export default async () => { const app = Fastify(); /* routes */ await app.ready(); return (req, res) => app.server.emit(\'request\', req, res); }`. A CommonJS `module.exports = { app }` is `./app.js#app`. The app does not call `listen()`: hostd binds the sockets, and a `listen()` while the app loads fails the load. `hostd check` loads the app as a worker does and names the fix for each of these.',
  }),
  bind: setting({
    section: 'Server socket',
    kind: binds(),
    default: ['127.0.0.1:8000'],
    short: 'b',
    doc: 'Where to listen: `HOST:PORT`, `:PORT`, `[::1]:PORT`, `unix:/path.sock` or `fd://N`; one or a list.',
    details:
      'Port 0 picks a free port (logged at start). `fd://N` listens on an inherited file descriptor. Repeat `-b` for several; `HOSTD_BIND` takes a comma-separated list.\n\nTwo binds that are the same address are a config problem (`hostd check` names both), not an "address already in use" at start; the same goes for `metrics_bind` and a custom `control_socket` against every bind. The same address: the same port (not 0) on hosts that overlap as Linux binds them: `:PORT` and `[::]:PORT` take the port on every IPv4 and IPv6 address (Node listens dual-stack), so they collide with any host on that port; `0.0.0.0:PORT` takes it on every IPv4 address, so it collides with IPv4 hosts but not with `[::1]`; `[::ffff:127.0.0.1]` is `127.0.0.1`; IPv6 addresses are compared in their canonical form. Host names are compared by name only, never looked up: `localhost:8000` beside `127.0.0.1:8000` is not caught. The same `unix:` path, or the same `fd://N`, is the same address too.',
  }),
  unix_mode: setting({
    section: 'Server socket',
    kind: fileMode(),
    default: null,
    doc: 'The permissions of `unix:` sockets hostd creates, in octal (`"660"`: owner and group may connect); null leaves them to the umask.',
    details: 'Set while the socket is created, so it never exists with wider permissions.',
  }),
  unix_group: setting({
    section: 'Server socket',
    kind: groupName(),
    default: null,
    doc: 'The group (name or id) that owns `unix:` sockets hostd creates, so a proxy in that group can connect; null leaves it as created.',
  }),
  sticky_sessions: setting({
    section: 'Server socket',
    kind: flag(),
    default: false,
    doc: 'Send every connection from one client address to the same worker, instead of following `dispatch`.',
    details:
      "For apps that keep a session in a worker's memory across connections: socket.io's polling transport, which needs every request of a session to reach the worker that holds it. Each client address belongs to one worker slot; a slot's replacement worker (after a crash, `max_requests`, a reload) takes the same addresses, and while it boots they go to the other workers. Changing the number of workers (TTIN, TTOU, a reload) moves some addresses to other slots. Behind a TCP balancer that sends a PROXY protocol header (`proxy_protocol`), the client it names is the address (the primary reads the header before it picks a worker, with hostd's native helper). Behind an HTTP proxy every connection comes from the proxy's address (the primary does not read HTTP headers), so one worker gets them all: spread the load at the proxy instead (sticky by cookie or client address there, to several hostd instances or ports), or keep sessions out of worker memory (socket.io's adapters).",
  }),
  forwarded_allow_ips: setting({
    section: 'Server socket',
    kind: peerList(),
    default: ['127.0.0.1', '::1'],
    doc: 'The peers believed when they say who the client is: their `X-Forwarded-For`, `X-Forwarded-Proto` and `Forwarded` headers, and their PROXY protocol headers. IP addresses and CIDR ranges, IPv4 and IPv6; `"unix"` for peers on a unix socket; `"*"` for any peer.',
    details:
      'The client as hostd understands it is `ctx.client` in `pre_request` and `post_request` and `host.client(req)` for app code (`{ address, port, proto, verified }`), and the access log\'s `%(h)s`. Headers are read right to left from a listed peer: each hop that is itself listed may speak for the one before it, and the first one that is not is the client (RFC 7239 `Forwarded` when present, else `X-Forwarded-For` with `X-Forwarded-Proto`). From any other peer the headers are not believed, and a malformed one is ignored, never an error. hostd does not remove them: an app that reads them itself must trust the same peers (docs/deploy/behind-a-proxy.md).',
  }),
  proxy_protocol: setting({
    section: 'Server socket',
    kind: flag(),
    default: false,
    doc: 'Every connection from a `forwarded_allow_ips` peer begins with a PROXY protocol header (HAProxy\'s, version 1 or 2, told apart): the client it names is the connection\'s, for the app (`req.socket.remoteAddress`, `remotePort`), the access log, sticky sessions and every hook.',
    details:
      'For TCP load balancers that pass connections through (AWS NLB, HAProxy in TCP mode with `send-proxy-v2`, Google\'s TCP proxy). The header must arrive within `headers_timeout` and be well formed; a connection without one, or with a malformed one, is closed and counted in `hostd_proxy_protocol_errors_total`, and nothing else changes. A v2 `LOCAL` header (a health check from the balancer itself) keeps the peer\'s own address; a v2 SSL TLV makes the client\'s scheme https. On an HTTPS bind the header comes before the TLS handshake. Connections from peers not listed are taken as they are, without a header.',
  }),
  dispatch: setting({
    section: 'Server socket',
    kind: choice(['least_busy', 'round_robin']),
    default: 'least_busy',
    doc: 'How the primary picks the worker for each connection: the least busy one, or each in turn.',
    details:
      "`least_busy` (like Puma's `wait_for_less_busy_worker` and nginx's `least_conn`): a connection goes to a worker that has taken every connection sent to it so far, the one of those holding the fewest open connections (ties in turn); while every worker is still taking its last one (their event loops busy), it waits in the primary for the first that does. A worker blocked on a slow request gets no new clients meanwhile. The primary counts what it sent to each worker and what each closed (workers report closes in batches, at most one message per 10 ms, under `least_busy` only). `round_robin` hands connections in turn, whatever each worker is doing: with 5% of requests burning 50 ms of CPU it served about 0.55× the requests of `least_busy` at 1.8× its p99; with every request fast and a new connection each, it costs a little less, since workers send no close counts (docs/performance.md). With `sticky_sessions`, the client's address picks the worker and this setting does not apply.",
  }),
  backlog: setting({
    section: 'Server socket',
    kind: integer(1, 65535),
    default: 2048,
    doc: 'The most connections waiting for a worker: in the kernel before the primary accepts them, and in the primary before a worker takes them.',
    details:
      'The primary accepts connections as they come and hands each to a worker; while no worker can take one (none is ready yet, or under `dispatch: least_busy` every worker is still taking its last), accepted connections wait in the primary, up to this many. Past that the primary closes new ones at once instead of holding them unanswered.',
  }),
  workers: setting({
    section: 'Worker processes',
    kind: workerCount(MAX_WORKERS, 'auto'),
    default: 1,
    short: 'w',
    doc: 'How many worker processes serve requests; `"auto"` = the usable CPUs, honouring a cgroup CPU quota.',
  }),
  timeout: setting({
    section: 'Worker processes',
    // A heartbeat comes every timeout / 4, at most every 20 ms: under a second, busy workers miss it.
    kind: seconds(1, { offOrMin: true }),
    default: 30,
    short: 't',
    doc: 'A worker whose event loop is blocked (no heartbeat) this long is killed and replaced; 0 turns the check off.',
  }),
  graceful_timeout: setting({
    section: 'Worker processes',
    kind: seconds(),
    default: 30,
    doc: 'How long a stopping worker may drain in-flight requests before it is killed.',
  }),
  keepalive: setting({
    section: 'Worker processes',
    kind: seconds(),
    default: 5,
    doc: 'How long an idle keep-alive connection is kept open; 0 closes connections after each response. Less than `headers_timeout`.',
    details:
      'Behind a load balancer or a reverse proxy that reuses its connections to hostd, set it above the idle timeout of the balancer, so that the balancer always closes an idle connection first: otherwise a request it sends as hostd closes the connection fails with a 502 (docs/deploy/behind-a-proxy.md has the figures of the common balancers). `headers_timeout` must then be greater still.',
  }),
  max_requests: setting({
    section: 'Worker processes',
    kind: integer(0, MAX_COUNT),
    default: 0,
    doc: 'Recycle a worker after it has served this many requests (a replacement starts first); 0 = never.',
  }),
  max_requests_jitter: setting({
    section: 'Worker processes',
    kind: integer(0, MAX_COUNT),
    default: 0,
    doc: 'Add a random 0..N to `max_requests` per worker, so workers do not all recycle at once.',
  }),
  boot_timeout: setting({
    section: 'Worker processes',
    kind: seconds(),
    default: 60,
    doc: 'How long a new worker may take to become ready (the config loaded, `post_fork`, the app loaded, `post_worker_init`); past it the worker is killed and counted as a boot failure. 0 = no limit.',
    details: 'While a worker boots, the log says every 10 s what it is doing. A stop does not wait for a booting worker to finish booting: it has no requests to drain.',
  }),
  max_memory: setting({
    section: 'Worker processes',
    // 2^31 - 1 MiB: far above any machine, and a whole number a double holds in bytes.
    kind: mebibytes(2 ** 31 - 1),
    default: 0,
    doc: 'Replace a worker whose RSS stays above this many MiB for 3 heartbeats in a row; 0 = off. `"auto"`: the cgroup memory limit, less the primary, shared by the workers with a tenth kept back.',
    details:
      'Replacement first, as for `max_requests`: the new worker boots and takes the old one\'s connections, then the old one drains (reason `max_memory` in `worker_exit`, `child_exit` and the log). One memory replacement at a time, so a leak in every worker does not restart them all at once. RSS is sampled with the heartbeat. `"auto"` without a cgroup memory limit is off, and the log says so.',
  }),
  reload_batch: setting({
    section: 'Worker processes',
    kind: workerCount(MAX_WORKERS, 'all'),
    default: 'all',
    doc: 'How many workers a reload replaces at a time: `"all"` starts the whole new generation beside the old one; N replaces N slots at a time.',
    details:
      'With N, each batch of the new generation boots while the old workers serve; once it is ready it takes connections and the old workers of those slots drain and leave, then the next batch starts. At most `workers` + N workers are alive during a reload instead of twice `workers`, for a reload that fits in a small memory limit; it takes longer, and both generations serve while it runs. A batch that cannot boot rolls the whole reload back: the new workers leave and the old generation takes their slots again.',
  }),
  worker_exec_argv: setting({
    section: 'Worker processes',
    kind: nodeFlags(),
    default: [],
    doc: 'Node flags for the worker processes (not the primary), as in `["--max-old-space-size=512", "--enable-source-maps"]`.',
    details:
      '`--inspect` or `--inspect-brk` without a port listens on 127.0.0.1 at 9229 + the worker\'s id (worker 1 at 9230, and its replacements after it), and the log says where. `--max-old-space-size=auto` gives each worker a share of the cgroup memory limit: three quarters of it, divided among the workers and the primary (left out, with a log line, where there is no limit). Flags here do not reach the primary, unlike `NODE_OPTIONS`. On the command line, give each flag as `--worker-exec-argv=--inspect`.',
  }),
  hook_timeout: setting({
    section: 'Worker processes',
    kind: seconds(),
    default: 30,
    doc: "Deadline for each lifecycle hook call (not the request hooks); the hook's `signal` aborts then. 0 = none.",
  }),
  request_timeout: setting({
    section: 'HTTP',
    kind: seconds(0.001, { offOrMin: true }),
    default: 300,
    doc: 'How long a client may take to send a whole request, head and body, before it is answered 408 and the connection closed; 0 = no limit.',
    details:
      'The time the app takes to answer does not count, nor does a keep-alive connection idle between requests (`keepalive` closes those). Checked every quarter of the shorter of `headers_timeout` and `request_timeout` (no less often than every 30 s, no more often than every 50 ms), so a client is cut at most a quarter of its limit late. An app still reading the body sees the request aborted; if its response is under way, the connection is closed without a 408.',
  }),
  headers_timeout: setting({
    section: 'HTTP',
    kind: seconds(0.001, { offOrMin: true }),
    default: 60,
    doc: 'How long a client may take to send the request headers before it is answered 408 and the connection closed: from the first byte of the request, or, on a new connection, from when a worker received it (a connection that sends nothing is closed too), or on a keep-alive connection from the end of the previous response (Node counts the idle time too). Greater than `keepalive`, at most `request_timeout`; 0 = no limit.',
  }),
  max_header_size: setting({
    section: 'HTTP',
    // Node's HTTP parser holds it in 32 bits; a larger value would wrap to a small one.
    kind: integer(1024, 2 ** 31 - 1),
    default: 16384,
    doc: 'The request head a worker accepts, in bytes: a request whose URL and header names and values add up to this much is answered 431 (the method, separators and line ends do not count).',
  }),
  limit_request_line: setting({
    section: 'HTTP',
    kind: integer(0, 2 ** 31 - 1),
    default: 8190,
    doc: 'The longest request line (method, URL and version, with the spaces between), in bytes; a longer one is answered 414 and the connection closed. 0 = no limit beyond `max_header_size`.',
    details: 'The request-head limits are checked before anything else in the worker sees the request: the readiness and liveness probes, the request hooks and the app. A refused request is logged at debug, not in the access log, and does not count toward `max_requests`.',
  }),
  limit_request_fields: setting({
    section: 'HTTP',
    kind: integer(0, 32768),
    default: 100,
    doc: 'The most header fields a request may have; more are answered 431 and the connection closed. 0 = no limit (Node then keeps the first 2000 and drops the rest).',
  }),
  limit_request_field_size: setting({
    section: 'HTTP',
    kind: integer(0, 2 ** 31 - 1),
    default: 8190,
    doc: 'The longest header field (its name and value), in bytes; a longer one is answered 431 and the connection closed. 0 = no limit beyond `max_header_size`.',
  }),
  limit_request_body: setting({
    section: 'HTTP',
    kind: integer(0, Number.MAX_SAFE_INTEGER),
    default: 0,
    doc: 'The largest request body, in bytes. A larger `Content-Length` is answered 413 before the app sees the request; a chunked body is cut when it passes the limit (413 if no response was started, else the connection is closed, and the app sees the request aborted). 0 = no limit.',
    details: 'A client that sends `Expect: 100-continue` with a `Content-Length` over the limit gets the 413 instead of `100 Continue`, before it sends the body.',
  }),
  send_timeout: setting({
    section: 'HTTP',
    kind: seconds(0.001, { offOrMin: true }),
    default: 60,
    doc: 'How long a response may wait on a client that takes none of it (no byte leaves the worker) before the connection is closed; 0 = no limit.',
    details:
      "nginx's `send_timeout`: the time between two writes that make progress, not for the whole response. A client that stops reading holds a connection and the response's memory; this lets it go, with a TCP reset (a plain close would leave the kernel trying to deliver the rest). Checked every quarter of the limit, so a connection goes at most a quarter of it late; a connection upgraded to another protocol (a WebSocket) is held to it too.",
  }),
  readiness_path: setting({
    section: 'Deployment',
    kind: urlPath(),
    default: null,
    doc: 'A path hostd answers itself in every worker, before the app: 200 while the instance takes traffic, 503 once it is draining.',
    details: 'For load balancers and Kubernetes readiness probes. It stays 503 from SIGTERM on (during `drain_delay` too) and while a worker drains.',
  }),
  liveness_path: setting({
    section: 'Deployment',
    kind: urlPath(),
    default: null,
    doc: "A path hostd answers itself in every worker, before the app: 200 while the worker's event loop runs.",
    details: 'For Kubernetes liveness probes. A worker whose event loop is blocked does not answer; hostd also replaces it after `timeout`.',
  }),
  drain_delay: setting({
    section: 'Deployment',
    kind: seconds(),
    default: 0,
    doc: 'On SIGTERM, keep serving this long with readiness_path answering 503, so load balancers stop sending traffic first; then stop gracefully.',
  }),
  sd_notify: setting({
    section: 'Deployment',
    kind: flag(),
    default: false,
    doc: 'Tell systemd about readiness, reloads and stops through $NOTIFY_SOCKET, and answer its watchdog (WATCHDOG_USEC).',
    details: "Sent from the primary itself by hostd's native helper (`NotifyAccess=main`); where it is not built, through the `systemd-notify` tool (needs `NotifyAccess=all`). See docs/deploy/systemd.md.",
  }),
  certfile: setting({
    section: 'TLS',
    kind: optionalPath(),
    default: null,
    doc: 'PEM certificate (chain) file; with `keyfile`, every bind serves HTTPS.',
  }),
  keyfile: setting({
    section: 'TLS',
    kind: optionalPath(),
    default: null,
    doc: 'PEM private key file for `certfile`.',
  }),
  ca_certs: setting({
    section: 'TLS',
    kind: optionalPath(),
    default: null,
    doc: 'PEM file of the CA certificates that client certificates must be signed by (mutual TLS); needs `certfile` and a `cert_reqs` other than `"none"`.',
    details:
      'Only these CAs are trusted for client certificates, not the system\'s or Node\'s own. `hostd check`, the start and every reload read it and refuse a file that cannot be read or holds no CA certificate (a private key, a leaf certificate, text that is not PEM).',
  }),
  cert_reqs: setting({
    section: 'TLS',
    kind: choice(['none', 'optional', 'required']),
    default: 'none',
    doc: 'Whether a worker asks TLS clients for a certificate: `"none"`; `"optional"` (asked for, and a client without one, or with one `ca_certs` did not sign, is served unverified); `"required"` (a client without a certificate signed by `ca_certs` is refused at the handshake).',
    details:
      "The app reads the client's certificate with `req.socket.getPeerCertificate()`, and whether it was verified as `host.client(req).verified` (or `req.socket.authorized`); the request hooks as `ctx.client.verified`. A refused handshake is logged at `loglevel: \"debug\"` with the peer and OpenSSL's reason (anyone can cause one, so not above it). As gunicorn's `cert_reqs`, with names instead of Python's `ssl` numbers.",
  }),
  config_timeout: setting({
    section: 'Process',
    kind: seconds(0.001, { offOrMin: true }),
    default: 30,
    file: false,
    doc: 'How long loading the config file may take (its top-level awaits, an exported async function); past it every command exits 1 naming the file, and a reload is rejected. 0 = no limit.',
    details: 'Only a flag or `HOSTD_CONFIG_TIMEOUT`: it bounds loading the file, so the file cannot set it.',
  }),
  chdir: setting({
    section: 'Process',
    kind: optionalPath(),
    default: null,
    file: false,
    doc: 'The folder hostd works in: the primary changes to it before it looks for the config file, and again at every reload, so a release folder behind a symlink (`/srv/app/current`) is followed. null: the working directory hostd started in.',
    details:
      "Only a flag or `HOSTD_CHDIR`: the config file is found from it, so the file cannot set it. A relative path is taken from the working directory. The folder is kept as named, symlinks and all (the working directory too, as the shell named it in `$PWD`), and entered anew at each reload: workers started by the reload run in the release it points to then and load the app and its packages from there. A reload that cannot enter it (the folder is gone) fails, naming it, and the old generation keeps serving. `hostd check`, `hostd print-config` and `hostd export` enter it too before they evaluate the config, so a config that reads `process.cwd()` sees what it sees under `hostd run`; the control commands (`hostd status`, `hostd reload`, ...) take `--chdir` too. See docs/deploy/releases.md.",
  }),
  pidfile: setting({
    section: 'Process',
    kind: optionalPath(),
    default: null,
    short: 'p',
    doc: "A file to write the primary's pid to, after the sockets are bound; removed at exit.",
    details: 'Its folder must exist: a missing one is a config problem (`hostd check` says so), not a failure at start.',
  }),
  proc_name: setting({
    section: 'Process',
    kind: text('<name>'),
    default: 'hostd',
    short: 'n',
    doc: 'Names the processes: `hostd primary [NAME]`, `hostd worker N [NAME]` (the default name adds nothing: `hostd primary`).',
    details: 'The name comes after the words that tell the processes apart, and only when it fits whole: on Linux a title reuses the memory of the launch command, so after a short one (`node dist/cli.js run`) `ps` shows `hostd primary` alone.',
  }),
  env: setting({
    section: 'Process',
    kind: stringRecord(),
    default: {},
    short: 'e',
    doc: "Variables set in every worker's environment; later layers add to earlier ones.",
  }),
  accesslog: setting({
    section: 'Logging',
    kind: logTarget(),
    default: null,
    doc: 'Where the access log goes: `"-"` for stdout, a file path, or null for none.',
    details: 'Its folder must exist: a missing one is a config problem (`hostd check` says so), not a failure at start.',
  }),
  errorlog: setting({
    section: 'Logging',
    kind: logTarget(),
    default: '-',
    doc: 'Where the error log goes: `"-"` for stderr, or a file path (reopened on SIGUSR1).',
    details: 'Its folder must exist: a missing one is a config problem (`hostd check` says so), not a failure at start.',
  }),
  access_log_format: setting({
    section: 'Logging',
    kind: text('<format>'),
    default: '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"',
    doc: "Access log line, in gunicorn's `%(atom)s` format: h r m U q H s b B f a t T D M L p {name}i {name}o.",
  }),
  loglevel: setting({
    section: 'Logging',
    kind: choice(['debug', 'info', 'warning', 'error', 'critical']),
    default: 'info',
    doc: 'The least severe error-log level written. `debug` also traces every hook call.',
  }),
  log_format: setting({
    section: 'Logging',
    kind: choice(['text', 'json']),
    default: 'text',
    doc: 'Log lines as readable text, or as JSON objects one per line (both logs).',
  }),
  reload: setting({
    section: 'Development',
    kind: flag(),
    default: false,
    doc: "Restart the workers (a reload, keeping the primary and the sockets) when a file in the app's folder or reload_extra_files changes.",
    details: 'Changes are debounced; `node_modules` and dot-folders are ignored. For development: in production, send SIGHUP.',
  }),
  reload_extra_files: setting({
    section: 'Development',
    kind: pathList(),
    default: [],
    doc: "More files or folders to watch with reload (the app's folder and the config file are always watched).",
  }),
  show_errors: setting({
    section: 'Development',
    kind: flag(),
    default: false,
    doc: 'Answer a request that failed with the error and its stack instead of a bare 500. For development only: it shows your code to the client.',
  }),
  metrics_bind: setting({
    section: 'Logging',
    kind: optionalBind(),
    default: null,
    doc: "Where the primary serves Prometheus metrics (`GET /metrics`): one address in `bind`'s forms, not one of the binds, or null for none.",
    details:
      "hostd's own metrics (workers by state, requests, connections waiting, exits, reloads, hook durations, each worker's memory and event loop) and, when the app uses prom-client, the app's default registry merged across workers, in one scrape. OpenMetrics when the scraper asks for it. Not a bind for the app: nothing else is served there. See docs/observability.md.",
  }),
  extends: setting({
    section: 'Presets and control',
    kind: presetList(),
    default: [],
    cli: false,
    doc: 'Presets applied beneath this file, in order; their hooks run before the file\'s own.',
    details:
      'Each item is a preset from `definePreset`, a preset module\'s default export (called with no options), or a name: a preset hostd ships (`"kubernetes"`, called with no options), a package whose default export is a preset, or a module\'s path (`"./presets/acme.ts"`). `print-config` shows presets by name, so what it shows can be written back; a name that is neither shipped nor installed is an error that shows the import to write.',
  }),
  control_socket: setting({
    section: 'Presets and control',
    kind: controlSocket(),
    default: 'auto',
    doc: 'The unix socket `hostd status`, `hostd reload`, `hostd stop` and `hostd scale` use to reach the running primary; `"auto"`: a private one, named from the config file\'s path; null: none.',
    details:
      '`"auto"` puts it in `$XDG_RUNTIME_DIR/hostd/`, or `/tmp/hostd-UID/`, a folder only its owner can use (hostd checks that before it listens), so the commands run in the project find the primary started from it. Whatever the setting, the primary leaves a record in that folder of where its socket is (or that it has none), so the commands find it from the config file\'s location alone, without evaluating the file, which may no longer parse (see docs/observability.md). The socket is mode 0600 and removed at exit, and so is the record. Like signals, it keeps out other users, not code running as the same user: the workers are not told where it is.',
  }),
  allow_app_control: setting({
    section: 'Presets and control',
    kind: flag(),
    default: false,
    doc: 'Let app code call `host.reload()` and `host.stop()`, and use the control socket; each call is logged with the worker that made it.',
    details:
      'Without it, a worker, or any process below one at any depth, that connects to the control socket is refused, and so is a peer the primary cannot place (it exited first, its ancestry cannot be read); each refusal is logged with the peer\'s pid. The primary asks the kernel who connected, with hostd\'s native helper; where that is not built, it says at start that app code can use the socket (see docs/observability.md).',
  }),
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each row keeps its own kind types
} as const satisfies Record<string, SettingRow<any, any>>;

export type SettingName = keyof typeof SETTINGS;
export const SETTING_NAMES = Object.keys(SETTINGS) as SettingName[];

/** The settings a config file or preset may write (all but those needed before the file is loaded). */
export const FILE_SETTING_NAMES = SETTING_NAMES.filter((name) => SETTINGS[name].file !== false);

/** `--graceful-timeout` for `graceful_timeout`: the one place a flag name is made. */
export function flagName(name: SettingName): string {
  return `--${name.replaceAll('_', '-')}`;
}

/** `HOSTD_GRACEFUL_TIMEOUT` for `graceful_timeout`: the one place an env name is made. */
export function envName(name: SettingName): string {
  return `HOSTD_${name.toUpperCase()}`;
}

/** The settings that have a flag and a `HOSTD_*` variable. */
export function settingsWithCli(): SettingName[] {
  return SETTING_NAMES.filter((name) => SETTINGS[name].cli !== false && SETTINGS[name].kind.fromText);
}

/** Several problems found by one rule, as its one message. */
const joined = (problems: readonly string[]): string | undefined => (problems.length === 0 ? undefined : problems.join('; '));

/** Checks that span settings; each returns a message, naming the keys, when the pair is wrong. */
export const RULES: ReadonlyArray<{
  readonly keys: readonly SettingName[];
  readonly check: (s: { [K in SettingName]: unknown }) => string | undefined;
}> = [
  {
    keys: ['certfile', 'keyfile'],
    check: (s) => ((s.certfile === null) !== (s.keyfile === null) ? 'certfile and keyfile must be set together' : undefined),
  },
  {
    keys: ['ca_certs', 'certfile'],
    check: (s) => (s.ca_certs !== null && s.certfile === null ? 'ca_certs needs certfile and keyfile: client certificates are asked for over TLS only' : undefined),
  },
  {
    keys: ['ca_certs', 'cert_reqs'],
    check: (s) => (s.ca_certs !== null && s.cert_reqs === 'none' ? 'ca_certs has no effect with cert_reqs "none": set cert_reqs to "optional" or "required" to ask clients for a certificate' : undefined),
  },
  {
    keys: ['cert_reqs', 'ca_certs'],
    // Without it, Node would verify client certificates against its public CAs: any certificate bought anywhere would pass.
    check: (s) => (s.cert_reqs !== 'none' && s.ca_certs === null ? `cert_reqs ${JSON.stringify(s.cert_reqs)} needs ca_certs, the CAs that sign your clients' certificates` : undefined),
  },
  {
    keys: ['readiness_path', 'liveness_path'],
    check: (s) => (s.readiness_path !== null && s.readiness_path === s.liveness_path ? 'readiness_path and liveness_path must differ' : undefined),
  },
  {
    keys: ['headers_timeout', 'keepalive'],
    check: (s) => {
      const headers = s.headers_timeout as number;
      const keepalive = s.keepalive as number;
      // Measured on Node 20 to 26: an idle keep-alive connection is closed at headersTimeout, before keepAliveTimeout.
      return headers > 0 && keepalive > 0 && headers <= keepalive
        ? `headers_timeout (${headers}) must be greater than keepalive (${keepalive}): Node counts the time a keep-alive connection waits for its next request against headers_timeout, so it would close the connection first`
        : undefined;
    },
  },
  {
    keys: ['headers_timeout', 'request_timeout'],
    check: (s) => {
      const headers = s.headers_timeout as number;
      const request = s.request_timeout as number;
      return request > 0 && headers > request ? `headers_timeout (${headers}) must not exceed request_timeout (${request})` : undefined;
    },
  },
  {
    keys: ['bind'],
    check: (s) => joined(bindCollisions(s.bind as string[])),
  },
  {
    keys: ['metrics_bind', 'bind'],
    check: (s) => {
      const metrics = s.metrics_bind as string | null;
      if (metrics === null) return undefined;
      const clashes = (s.bind as string[]).flatMap((bind) => {
        const why = bindOverlap(metrics, bind);
        if (why === null) return [];
        return [bind === metrics ? `metrics_bind ${printablePath(metrics)} is also in bind: the metrics endpoint needs an address of its own` : `metrics_bind ${printablePath(metrics)} and bind ${printablePath(bind)} cannot both listen: ${why}`];
      });
      return joined([...new Set(clashes)]);
    },
  },
  {
    keys: ['control_socket', 'metrics_bind', 'bind'],
    check: (s) => {
      const path = s.control_socket as string | null;
      if (path === null || path === 'auto') return undefined;
      const binds = s.bind as string[];
      const clash = [...binds, ...(s.metrics_bind === null ? [] : [s.metrics_bind as string])].find((address) => bindOverlap(`unix:${path}`, address) !== null);
      if (clash === undefined) return undefined;
      return `control_socket ${printablePath(path)} is also ${binds.includes(clash) ? 'in bind' : 'metrics_bind'} (${printablePath(clash)}): the control socket needs a path of its own`;
    },
  },
  ...(['limit_request_line', 'limit_request_field_size'] as const).map((key) => ({
    keys: [key, 'max_header_size'] as const,
    check: (s: { [K in SettingName]: unknown }) => {
      const limit = s[key] as number;
      const max = s.max_header_size as number;
      // Node counts the URL and every header name and value against max_header_size, and refuses first: above it, the limit is dead.
      return limit > max ? `${key} (${limit}) must not exceed max_header_size (${max}): a request head of max_header_size bytes is answered 431 before ${key} is checked` : undefined;
    },
  })),
];

// The hooks and host.on() events: their table is its own module, free of zod, for the worker.
export * from './hooks-table.ts';
