// Generated from src/config/settings.ts by `npm run generate`; edit the table, not this file.
import type { HookOption } from '../hooks/contexts.ts';
import type { PresetInput } from './types.ts';

/** Every setting name. */
export type SettingName = "app" | "bind" | "unix_mode" | "unix_group" | "sticky_sessions" | "forwarded_allow_ips" | "proxy_protocol" | "dispatch" | "backlog" | "workers" | "timeout" | "graceful_timeout" | "keepalive" | "max_requests" | "max_requests_jitter" | "boot_timeout" | "max_memory" | "reload_batch" | "worker_exec_argv" | "hook_timeout" | "request_timeout" | "headers_timeout" | "max_header_size" | "limit_request_line" | "limit_request_fields" | "limit_request_field_size" | "limit_request_body" | "send_timeout" | "readiness_path" | "liveness_path" | "drain_delay" | "sd_notify" | "certfile" | "keyfile" | "ca_certs" | "cert_reqs" | "config_timeout" | "chdir" | "pidfile" | "proc_name" | "env" | "accesslog" | "errorlog" | "access_log_format" | "loglevel" | "log_format" | "reload" | "reload_extra_files" | "show_errors" | "metrics_bind" | "extends" | "control_socket" | "allow_app_control";

/** Every hook name, in lifecycle order. */
export type HookName = "on_starting" | "pre_fork" | "post_fork" | "post_worker_init" | "when_ready" | "pre_request" | "post_request" | "on_reload" | "nworkers_changed" | "worker_int" | "worker_exit" | "child_exit" | "on_exit";

/** The settings a config file or preset may set; each is optional and has a default. */
export interface UserSettings {
  /**
   * The app module, `./src/app.ts` or `./src/app.ts#name` (the export, `default` if omitted). Required to run.
   *
   * The export is a Node request listener `(req, res) => void`, an object with `fetch(request)`, or a factory (sync or async) returning either, called once per worker after `post_fork` with `{ server, worker }` (the type `AppFactory`): `server` is the worker's `http.Server` (`https.Server` with `certfile`), for WebSocket servers to attach to (`new WebSocketServer({ server })` with ws, `new Server(server)` with socket.io); hostd feeds it connections once the worker is ready, so do not call `listen()` on it. `worker` is `{ id, pid, age, generation, booted_at }`. An upgrade request (a WebSocket handshake) goes to the app's own `upgrade` listener, not through the request pipeline: `pre_request`, `post_request` and `host.on('request')` do not run for it, and the access log has a line with the status the app answered (101 when it accepted). Likewise, requests a library answers itself on the server (socket.io answers its own path, `/socket.io/`, for its polling transport, and passes other requests on) do not go through the pipeline: no request hooks and no access-log line for them. A relative path is taken from the config file's folder. `hostd run APP` sets it too.
   *
   * Export an Express or Hono app as it is; for Koa, export `app.callback()`; for Fastify, export a factory: `export default async () => { const app = Fastify(); /* routes *\/ await app.ready(); return (req, res) => app.server.emit('request', req, res); }`. A CommonJS `module.exports = { app }` is `./app.js#app`. The app does not call `listen()`: hostd binds the sockets, and a `listen()` while the app loads fails the load. `hostd check` loads the app as a worker does and names the fix for each of these.
   *
   * Flag `--app <module[#export]>`, env `HOSTD_APP`.
   * @default none (required to run)
   */
  app?: string;
  /**
   * Where to listen: `HOST:PORT`, `:PORT`, `[::1]:PORT`, `unix:/path.sock` or `fd://N`; one or a list.
   *
   * Port 0 picks a free port (logged at start). `fd://N` listens on an inherited file descriptor. Repeat `-b` for several; `HOSTD_BIND` takes a comma-separated list.
   *
   * Two binds that are the same address are a config problem (`hostd check` names both), not an "address already in use" at start; the same goes for `metrics_bind` and a custom `control_socket` against every bind. The same address: the same port (not 0) on hosts that overlap as Linux binds them: `:PORT` and `[::]:PORT` take the port on every IPv4 and IPv6 address (Node listens dual-stack), so they collide with any host on that port; `0.0.0.0:PORT` takes it on every IPv4 address, so it collides with IPv4 hosts but not with `[::1]`; `[::ffff:127.0.0.1]` is `127.0.0.1`; IPv6 addresses are compared in their canonical form. Host names are compared by name only, never looked up: `localhost:8000` beside `127.0.0.1:8000` is not caught. The same `unix:` path, or the same `fd://N`, is the same address too.
   *
   * Flag `-b, --bind <address>`, env `HOSTD_BIND`.
   * @default ["127.0.0.1:8000"]
   */
  bind?: string | string[];
  /**
   * The permissions of `unix:` sockets hostd creates, in octal (`"660"`: owner and group may connect); null leaves them to the umask.
   *
   * Set while the socket is created, so it never exists with wider permissions.
   *
   * Flag `--unix-mode <mode>`, env `HOSTD_UNIX_MODE`.
   * @default null
   */
  unix_mode?: string | number | null;
  /**
   * The group (name or id) that owns `unix:` sockets hostd creates, so a proxy in that group can connect; null leaves it as created.
   *
   * Flag `--unix-group <group>`, env `HOSTD_UNIX_GROUP`.
   * @default null
   */
  unix_group?: string | number | null;
  /**
   * Send every connection from one client address to the same worker, instead of following `dispatch`.
   *
   * For apps that keep a session in a worker's memory across connections: socket.io's polling transport, which needs every request of a session to reach the worker that holds it. Each client address belongs to one worker slot; a slot's replacement worker (after a crash, `max_requests`, a reload) takes the same addresses, and while it boots they go to the other workers. Changing the number of workers (TTIN, TTOU, a reload) moves some addresses to other slots. Behind a TCP balancer that sends a PROXY protocol header (`proxy_protocol`), the client it names is the address (the primary reads the header before it picks a worker, with hostd's native helper). Behind an HTTP proxy every connection comes from the proxy's address (the primary does not read HTTP headers), so one worker gets them all: spread the load at the proxy instead (sticky by cookie or client address there, to several hostd instances or ports), or keep sessions out of worker memory (socket.io's adapters).
   *
   * Flag `--sticky-sessions`, env `HOSTD_STICKY_SESSIONS`.
   * @default false
   */
  sticky_sessions?: boolean;
  /**
   * The peers believed when they say who the client is: their `X-Forwarded-For`, `X-Forwarded-Proto` and `Forwarded` headers, and their PROXY protocol headers. IP addresses and CIDR ranges, IPv4 and IPv6; `"unix"` for peers on a unix socket; `"*"` for any peer.
   *
   * The client as hostd understands it is `ctx.client` in `pre_request` and `post_request` and `host.client(req)` for app code (`{ address, port, proto, verified }`), and the access log's `%(h)s`. Headers are read right to left from a listed peer: each hop that is itself listed may speak for the one before it, and the first one that is not is the client (RFC 7239 `Forwarded` when present, else `X-Forwarded-For` with `X-Forwarded-Proto`). From any other peer the headers are not believed, and a malformed one is ignored, never an error. hostd does not remove them: an app that reads them itself must trust the same peers (docs/deploy/behind-a-proxy.md).
   *
   * Flag `--forwarded-allow-ips <address>`, env `HOSTD_FORWARDED_ALLOW_IPS`.
   * @default ["127.0.0.1","::1"]
   */
  forwarded_allow_ips?: "*" | string[];
  /**
   * Every connection from a `forwarded_allow_ips` peer begins with a PROXY protocol header (HAProxy's, version 1 or 2, told apart): the client it names is the connection's, for the app (`req.socket.remoteAddress`, `remotePort`), the access log, sticky sessions and every hook.
   *
   * For TCP load balancers that pass connections through (AWS NLB, HAProxy in TCP mode with `send-proxy-v2`, Google's TCP proxy). The header must arrive within `headers_timeout` and be well formed; a connection without one, or with a malformed one, is closed and counted in `hostd_proxy_protocol_errors_total`, and nothing else changes. A v2 `LOCAL` header (a health check from the balancer itself) keeps the peer's own address; a v2 SSL TLV makes the client's scheme https. On an HTTPS bind the header comes before the TLS handshake. Connections from peers not listed are taken as they are, without a header.
   *
   * Flag `--proxy-protocol`, env `HOSTD_PROXY_PROTOCOL`.
   * @default false
   */
  proxy_protocol?: boolean;
  /**
   * How the primary picks the worker for each connection: the least busy one, or each in turn.
   *
   * `least_busy` (like Puma's `wait_for_less_busy_worker` and nginx's `least_conn`): a connection goes to a worker that has taken every connection sent to it so far, the one of those holding the fewest open connections (ties in turn); while every worker is still taking its last one (their event loops busy), it waits in the primary for the first that does. A worker blocked on a slow request gets no new clients meanwhile. The primary counts what it sent to each worker and what each closed (workers report closes in batches, at most one message per 10 ms, under `least_busy` only). `round_robin` hands connections in turn, whatever each worker is doing: with 5% of requests burning 50 ms of CPU it served about 0.55× the requests of `least_busy` at 1.8× its p99; with every request fast and a new connection each, it costs a little less, since workers send no close counts (docs/performance.md). With `sticky_sessions`, the client's address picks the worker and this setting does not apply.
   *
   * Flag `--dispatch <least_busy|round_robin>`, env `HOSTD_DISPATCH`.
   * @default "least_busy"
   */
  dispatch?: "least_busy" | "round_robin";
  /**
   * The most connections waiting for a worker: in the kernel before the primary accepts them, and in the primary before a worker takes them.
   *
   * The primary accepts connections as they come and hands each to a worker; while no worker can take one (none is ready yet, or under `dispatch: least_busy` every worker is still taking its last), accepted connections wait in the primary, up to this many. Past that the primary closes new ones at once instead of holding them unanswered.
   *
   * Flag `--backlog <n>`, env `HOSTD_BACKLOG`.
   * @default 2048
   */
  backlog?: number;
  /**
   * How many worker processes serve requests; `"auto"` = the usable CPUs, honouring a cgroup CPU quota.
   *
   * Flag `-w, --workers <n|auto>`, env `HOSTD_WORKERS`.
   * @default 1
   */
  workers?: number | "auto";
  /**
   * A worker whose event loop is blocked (no heartbeat) this long is killed and replaced; 0 turns the check off.
   *
   * Flag `-t, --timeout <seconds>`, env `HOSTD_TIMEOUT`.
   * @default 30
   */
  timeout?: number;
  /**
   * How long a stopping worker may drain in-flight requests before it is killed.
   *
   * Flag `--graceful-timeout <seconds>`, env `HOSTD_GRACEFUL_TIMEOUT`.
   * @default 30
   */
  graceful_timeout?: number;
  /**
   * How long an idle keep-alive connection is kept open; 0 closes connections after each response. Less than `headers_timeout`.
   *
   * Behind a load balancer or a reverse proxy that reuses its connections to hostd, set it above the idle timeout of the balancer, so that the balancer always closes an idle connection first: otherwise a request it sends as hostd closes the connection fails with a 502 (docs/deploy/behind-a-proxy.md has the figures of the common balancers). `headers_timeout` must then be greater still.
   *
   * Flag `--keepalive <seconds>`, env `HOSTD_KEEPALIVE`.
   * @default 5
   */
  keepalive?: number;
  /**
   * Recycle a worker after it has served this many requests (a replacement starts first); 0 = never.
   *
   * Flag `--max-requests <n>`, env `HOSTD_MAX_REQUESTS`.
   * @default 0
   */
  max_requests?: number;
  /**
   * Add a random 0..N to `max_requests` per worker, so workers do not all recycle at once.
   *
   * Flag `--max-requests-jitter <n>`, env `HOSTD_MAX_REQUESTS_JITTER`.
   * @default 0
   */
  max_requests_jitter?: number;
  /**
   * How long a new worker may take to become ready (the config loaded, `post_fork`, the app loaded, `post_worker_init`); past it the worker is killed and counted as a boot failure. 0 = no limit.
   *
   * While a worker boots, the log says every 10 s what it is doing. A stop does not wait for a booting worker to finish booting: it has no requests to drain.
   *
   * Flag `--boot-timeout <seconds>`, env `HOSTD_BOOT_TIMEOUT`.
   * @default 60
   */
  boot_timeout?: number;
  /**
   * Replace a worker whose RSS stays above this many MiB for 3 heartbeats in a row; 0 = off. `"auto"`: the cgroup memory limit, less the primary, shared by the workers with a tenth kept back.
   *
   * Replacement first, as for `max_requests`: the new worker boots and takes the old one's connections, then the old one drains (reason `max_memory` in `worker_exit`, `child_exit` and the log). One memory replacement at a time, so a leak in every worker does not restart them all at once. RSS is sampled with the heartbeat. `"auto"` without a cgroup memory limit is off, and the log says so.
   *
   * Flag `--max-memory <MiB|auto>`, env `HOSTD_MAX_MEMORY`.
   * @default 0
   */
  max_memory?: number | "auto";
  /**
   * How many workers a reload replaces at a time: `"all"` starts the whole new generation beside the old one; N replaces N slots at a time.
   *
   * With N, each batch of the new generation boots while the old workers serve; once it is ready it takes connections and the old workers of those slots drain and leave, then the next batch starts. At most `workers` + N workers are alive during a reload instead of twice `workers`, for a reload that fits in a small memory limit; it takes longer, and both generations serve while it runs. A batch that cannot boot rolls the whole reload back: the new workers leave and the old generation takes their slots again.
   *
   * Flag `--reload-batch <n|all>`, env `HOSTD_RELOAD_BATCH`.
   * @default "all"
   */
  reload_batch?: number | "all";
  /**
   * Node flags for the worker processes (not the primary), as in `["--max-old-space-size=512", "--enable-source-maps"]`.
   *
   * `--inspect` or `--inspect-brk` without a port listens on 127.0.0.1 at 9229 + the worker's id (worker 1 at 9230, and its replacements after it), and the log says where. `--max-old-space-size=auto` gives each worker a share of the cgroup memory limit: three quarters of it, divided among the workers and the primary (left out, with a log line, where there is no limit). Flags here do not reach the primary, unlike `NODE_OPTIONS`. On the command line, give each flag as `--worker-exec-argv=--inspect`.
   *
   * Flag `--worker-exec-argv <flag>`, env `HOSTD_WORKER_EXEC_ARGV`.
   * @default []
   */
  worker_exec_argv?: string[];
  /**
   * Deadline for each lifecycle hook call (not the request hooks); the hook's `signal` aborts then. 0 = none.
   *
   * Flag `--hook-timeout <seconds>`, env `HOSTD_HOOK_TIMEOUT`.
   * @default 30
   */
  hook_timeout?: number;
  /**
   * How long a client may take to send a whole request, head and body, before it is answered 408 and the connection closed; 0 = no limit.
   *
   * The time the app takes to answer does not count, nor does a keep-alive connection idle between requests (`keepalive` closes those). Checked every quarter of the shorter of `headers_timeout` and `request_timeout` (no less often than every 30 s, no more often than every 50 ms), so a client is cut at most a quarter of its limit late. An app still reading the body sees the request aborted; if its response is under way, the connection is closed without a 408.
   *
   * Flag `--request-timeout <seconds>`, env `HOSTD_REQUEST_TIMEOUT`.
   * @default 300
   */
  request_timeout?: number;
  /**
   * How long a client may take to send the request headers before it is answered 408 and the connection closed: from the first byte of the request, or, on a new connection, from when a worker received it (a connection that sends nothing is closed too), or on a keep-alive connection from the end of the previous response (Node counts the idle time too). Greater than `keepalive`, at most `request_timeout`; 0 = no limit.
   *
   * Flag `--headers-timeout <seconds>`, env `HOSTD_HEADERS_TIMEOUT`.
   * @default 60
   */
  headers_timeout?: number;
  /**
   * The request head a worker accepts, in bytes: a request whose URL and header names and values add up to this much is answered 431 (the method, separators and line ends do not count).
   *
   * Flag `--max-header-size <n>`, env `HOSTD_MAX_HEADER_SIZE`.
   * @default 16384
   */
  max_header_size?: number;
  /**
   * The longest request line (method, URL and version, with the spaces between), in bytes; a longer one is answered 414 and the connection closed. 0 = no limit beyond `max_header_size`.
   *
   * The request-head limits are checked before anything else in the worker sees the request: the readiness and liveness probes, the request hooks and the app. A refused request is logged at debug, not in the access log, and does not count toward `max_requests`.
   *
   * Flag `--limit-request-line <n>`, env `HOSTD_LIMIT_REQUEST_LINE`.
   * @default 8190
   */
  limit_request_line?: number;
  /**
   * The most header fields a request may have; more are answered 431 and the connection closed. 0 = no limit (Node then keeps the first 2000 and drops the rest).
   *
   * Flag `--limit-request-fields <n>`, env `HOSTD_LIMIT_REQUEST_FIELDS`.
   * @default 100
   */
  limit_request_fields?: number;
  /**
   * The longest header field (its name and value), in bytes; a longer one is answered 431 and the connection closed. 0 = no limit beyond `max_header_size`.
   *
   * Flag `--limit-request-field-size <n>`, env `HOSTD_LIMIT_REQUEST_FIELD_SIZE`.
   * @default 8190
   */
  limit_request_field_size?: number;
  /**
   * The largest request body, in bytes. A larger `Content-Length` is answered 413 before the app sees the request; a chunked body is cut when it passes the limit (413 if no response was started, else the connection is closed, and the app sees the request aborted). 0 = no limit.
   *
   * A client that sends `Expect: 100-continue` with a `Content-Length` over the limit gets the 413 instead of `100 Continue`, before it sends the body.
   *
   * Flag `--limit-request-body <n>`, env `HOSTD_LIMIT_REQUEST_BODY`.
   * @default 0
   */
  limit_request_body?: number;
  /**
   * How long a response may wait on a client that takes none of it (no byte leaves the worker) before the connection is closed; 0 = no limit.
   *
   * nginx's `send_timeout`: the time between two writes that make progress, not for the whole response. A client that stops reading holds a connection and the response's memory; this lets it go, with a TCP reset (a plain close would leave the kernel trying to deliver the rest). Checked every quarter of the limit, so a connection goes at most a quarter of it late; a connection upgraded to another protocol (a WebSocket) is held to it too.
   *
   * Flag `--send-timeout <seconds>`, env `HOSTD_SEND_TIMEOUT`.
   * @default 60
   */
  send_timeout?: number;
  /**
   * A path hostd answers itself in every worker, before the app: 200 while the instance takes traffic, 503 once it is draining.
   *
   * For load balancers and Kubernetes readiness probes. It stays 503 from SIGTERM on (during `drain_delay` too) and while a worker drains.
   *
   * Flag `--readiness-path <path>`, env `HOSTD_READINESS_PATH`.
   * @default null
   */
  readiness_path?: string | null;
  /**
   * A path hostd answers itself in every worker, before the app: 200 while the worker's event loop runs.
   *
   * For Kubernetes liveness probes. A worker whose event loop is blocked does not answer; hostd also replaces it after `timeout`.
   *
   * Flag `--liveness-path <path>`, env `HOSTD_LIVENESS_PATH`.
   * @default null
   */
  liveness_path?: string | null;
  /**
   * On SIGTERM, keep serving this long with readiness_path answering 503, so load balancers stop sending traffic first; then stop gracefully.
   *
   * Flag `--drain-delay <seconds>`, env `HOSTD_DRAIN_DELAY`.
   * @default 0
   */
  drain_delay?: number;
  /**
   * Tell systemd about readiness, reloads and stops through $NOTIFY_SOCKET, and answer its watchdog (WATCHDOG_USEC).
   *
   * Sent from the primary itself by hostd's native helper (`NotifyAccess=main`); where it is not built, through the `systemd-notify` tool (needs `NotifyAccess=all`). See docs/deploy/systemd.md.
   *
   * Flag `--sd-notify`, env `HOSTD_SD_NOTIFY`.
   * @default false
   */
  sd_notify?: boolean;
  /**
   * PEM certificate (chain) file; with `keyfile`, every bind serves HTTPS.
   *
   * Flag `--certfile <path>`, env `HOSTD_CERTFILE`.
   * @default null
   */
  certfile?: string | null;
  /**
   * PEM private key file for `certfile`.
   *
   * Flag `--keyfile <path>`, env `HOSTD_KEYFILE`.
   * @default null
   */
  keyfile?: string | null;
  /**
   * PEM file of the CA certificates that client certificates must be signed by (mutual TLS); needs `certfile` and a `cert_reqs` other than `"none"`.
   *
   * Only these CAs are trusted for client certificates, not the system's or Node's own. `hostd check`, the start and every reload read it and refuse a file that cannot be read or holds no CA certificate (a private key, a leaf certificate, text that is not PEM).
   *
   * Flag `--ca-certs <path>`, env `HOSTD_CA_CERTS`.
   * @default null
   */
  ca_certs?: string | null;
  /**
   * Whether a worker asks TLS clients for a certificate: `"none"`; `"optional"` (asked for, and a client without one, or with one `ca_certs` did not sign, is served unverified); `"required"` (a client without a certificate signed by `ca_certs` is refused at the handshake).
   *
   * The app reads the client's certificate with `req.socket.getPeerCertificate()`, and whether it was verified as `host.client(req).verified` (or `req.socket.authorized`); the request hooks as `ctx.client.verified`. A refused handshake is logged at `loglevel: "debug"` with the peer and OpenSSL's reason (anyone can cause one, so not above it). As gunicorn's `cert_reqs`, with names instead of Python's `ssl` numbers.
   *
   * Flag `--cert-reqs <none|optional|required>`, env `HOSTD_CERT_REQS`.
   * @default "none"
   */
  cert_reqs?: "none" | "optional" | "required";
  /**
   * A file to write the primary's pid to, after the sockets are bound; removed at exit.
   *
   * Its folder must exist: a missing one is a config problem (`hostd check` says so), not a failure at start.
   *
   * Flag `-p, --pidfile <path>`, env `HOSTD_PIDFILE`.
   * @default null
   */
  pidfile?: string | null;
  /**
   * Names the processes: `hostd primary [NAME]`, `hostd worker N [NAME]` (the default name adds nothing: `hostd primary`).
   *
   * The name comes after the words that tell the processes apart, and only when it fits whole: on Linux a title reuses the memory of the launch command, so after a short one (`node dist/cli.js run`) `ps` shows `hostd primary` alone.
   *
   * Flag `-n, --proc-name <name>`, env `HOSTD_PROC_NAME`.
   * @default "hostd"
   */
  proc_name?: string;
  /**
   * Variables set in every worker's environment; later layers add to earlier ones.
   *
   * Flag `-e, --env <KEY=VALUE>`, env `HOSTD_ENV`.
   * @default {}
   */
  env?: Record<string, string>;
  /**
   * Where the access log goes: `"-"` for stdout, a file path, or null for none.
   *
   * Its folder must exist: a missing one is a config problem (`hostd check` says so), not a failure at start.
   *
   * Flag `--accesslog <path|->`, env `HOSTD_ACCESSLOG`.
   * @default null
   */
  accesslog?: "-" | (string & {}) | null;
  /**
   * Where the error log goes: `"-"` for stderr, or a file path (reopened on SIGUSR1).
   *
   * Its folder must exist: a missing one is a config problem (`hostd check` says so), not a failure at start.
   *
   * Flag `--errorlog <path|->`, env `HOSTD_ERRORLOG`.
   * @default "-"
   */
  errorlog?: "-" | (string & {}) | null;
  /**
   * Access log line, in gunicorn's `%(atom)s` format: h r m U q H s b B f a t T D M L p {name}i {name}o.
   *
   * Flag `--access-log-format <format>`, env `HOSTD_ACCESS_LOG_FORMAT`.
   * @default "%(h)s %(l)s %(u)s %(t)s \"%(r)s\" %(s)s %(b)s \"%(f)s\" \"%(a)s\""
   */
  access_log_format?: string;
  /**
   * The least severe error-log level written. `debug` also traces every hook call.
   *
   * Flag `--loglevel <debug|info|warning|error|critical>`, env `HOSTD_LOGLEVEL`.
   * @default "info"
   */
  loglevel?: "debug" | "info" | "warning" | "error" | "critical";
  /**
   * Log lines as readable text, or as JSON objects one per line (both logs).
   *
   * Flag `--log-format <text|json>`, env `HOSTD_LOG_FORMAT`.
   * @default "text"
   */
  log_format?: "text" | "json";
  /**
   * Restart the workers (a reload, keeping the primary and the sockets) when a file in the app's folder or reload_extra_files changes.
   *
   * Changes are debounced; `node_modules` and dot-folders are ignored. For development: in production, send SIGHUP.
   *
   * Flag `--reload`, env `HOSTD_RELOAD`.
   * @default false
   */
  reload?: boolean;
  /**
   * More files or folders to watch with reload (the app's folder and the config file are always watched).
   *
   * Flag `--reload-extra-files <path>`, env `HOSTD_RELOAD_EXTRA_FILES`.
   * @default []
   */
  reload_extra_files?: string[];
  /**
   * Answer a request that failed with the error and its stack instead of a bare 500. For development only: it shows your code to the client.
   *
   * Flag `--show-errors`, env `HOSTD_SHOW_ERRORS`.
   * @default false
   */
  show_errors?: boolean;
  /**
   * Where the primary serves Prometheus metrics (`GET /metrics`): one address in `bind`'s forms, not one of the binds, or null for none.
   *
   * hostd's own metrics (workers by state, requests, connections waiting, exits, reloads, hook durations, each worker's memory and event loop) and, when the app uses prom-client, the app's default registry merged across workers, in one scrape. OpenMetrics when the scraper asks for it. Not a bind for the app: nothing else is served there. See docs/observability.md.
   *
   * Flag `--metrics-bind <address>`, env `HOSTD_METRICS_BIND`.
   * @default null
   */
  metrics_bind?: string | null;
  /**
   * Presets applied beneath this file, in order; their hooks run before the file's own.
   *
   * Each item is a preset from `definePreset`, a preset module's default export (called with no options), or a name: a preset hostd ships (`"kubernetes"`, called with no options), a package whose default export is a preset, or a module's path (`"./presets/acme.ts"`). `print-config` shows presets by name, so what it shows can be written back; a name that is neither shipped nor installed is an error that shows the import to write.
   * @default []
   */
  extends?: PresetInput | PresetInput[];
  /**
   * The unix socket `hostd status`, `hostd reload`, `hostd stop` and `hostd scale` use to reach the running primary; `"auto"`: a private one, named from the config file's path; null: none.
   *
   * `"auto"` puts it in `$XDG_RUNTIME_DIR/hostd/`, or `/tmp/hostd-UID/`, a folder only its owner can use (hostd checks that before it listens), so the commands run in the project find the primary started from it. Whatever the setting, the primary leaves a record in that folder of where its socket is (or that it has none), so the commands find it from the config file's location alone, without evaluating the file, which may no longer parse (see docs/observability.md). The socket is mode 0600 and removed at exit, and so is the record. Like signals, it keeps out other users, not code running as the same user: the workers are not told where it is.
   *
   * Flag `--control-socket <path|auto>`, env `HOSTD_CONTROL_SOCKET`.
   * @default "auto"
   */
  control_socket?: "auto" | (string & {}) | null;
  /**
   * Let app code call `host.reload()` and `host.stop()`, and use the control socket; each call is logged with the worker that made it.
   *
   * Without it, a worker, or any process below one at any depth, that connects to the control socket is refused, and so is a peer the primary cannot place (it exited first, its ancestry cannot be read); each refusal is logged with the peer's pid. The primary asks the kernel who connected, with hostd's native helper; where that is not built, it says at start that app code can use the socket (see docs/observability.md).
   *
   * Flag `--allow-app-control`, env `HOSTD_ALLOW_APP_CONTROL`.
   * @default false
   */
  allow_app_control?: boolean;
}

/** Every setting after resolution: defaults applied, lists normalised, paths absolute. */
export interface ResolvedSettings {
  /**
   * The app module, `./src/app.ts` or `./src/app.ts#name` (the export, `default` if omitted). Required to run.
   */
  readonly app: string | null;
  /**
   * Where to listen: `HOST:PORT`, `:PORT`, `[::1]:PORT`, `unix:/path.sock` or `fd://N`; one or a list.
   */
  readonly bind: string[];
  /**
   * The permissions of `unix:` sockets hostd creates, in octal (`"660"`: owner and group may connect); null leaves them to the umask.
   */
  readonly unix_mode: number | null;
  /**
   * The group (name or id) that owns `unix:` sockets hostd creates, so a proxy in that group can connect; null leaves it as created.
   */
  readonly unix_group: string | number | null;
  /**
   * Send every connection from one client address to the same worker, instead of following `dispatch`.
   */
  readonly sticky_sessions: boolean;
  /**
   * The peers believed when they say who the client is: their `X-Forwarded-For`, `X-Forwarded-Proto` and `Forwarded` headers, and their PROXY protocol headers. IP addresses and CIDR ranges, IPv4 and IPv6; `"unix"` for peers on a unix socket; `"*"` for any peer.
   */
  readonly forwarded_allow_ips: "*" | string[];
  /**
   * Every connection from a `forwarded_allow_ips` peer begins with a PROXY protocol header (HAProxy's, version 1 or 2, told apart): the client it names is the connection's, for the app (`req.socket.remoteAddress`, `remotePort`), the access log, sticky sessions and every hook.
   */
  readonly proxy_protocol: boolean;
  /**
   * How the primary picks the worker for each connection: the least busy one, or each in turn.
   */
  readonly dispatch: "least_busy" | "round_robin";
  /**
   * The most connections waiting for a worker: in the kernel before the primary accepts them, and in the primary before a worker takes them.
   */
  readonly backlog: number;
  /**
   * How many worker processes serve requests; `"auto"` = the usable CPUs, honouring a cgroup CPU quota.
   */
  readonly workers: number | "auto";
  /**
   * A worker whose event loop is blocked (no heartbeat) this long is killed and replaced; 0 turns the check off.
   */
  readonly timeout: number;
  /**
   * How long a stopping worker may drain in-flight requests before it is killed.
   */
  readonly graceful_timeout: number;
  /**
   * How long an idle keep-alive connection is kept open; 0 closes connections after each response. Less than `headers_timeout`.
   */
  readonly keepalive: number;
  /**
   * Recycle a worker after it has served this many requests (a replacement starts first); 0 = never.
   */
  readonly max_requests: number;
  /**
   * Add a random 0..N to `max_requests` per worker, so workers do not all recycle at once.
   */
  readonly max_requests_jitter: number;
  /**
   * How long a new worker may take to become ready (the config loaded, `post_fork`, the app loaded, `post_worker_init`); past it the worker is killed and counted as a boot failure. 0 = no limit.
   */
  readonly boot_timeout: number;
  /**
   * Replace a worker whose RSS stays above this many MiB for 3 heartbeats in a row; 0 = off. `"auto"`: the cgroup memory limit, less the primary, shared by the workers with a tenth kept back.
   */
  readonly max_memory: number | "auto";
  /**
   * How many workers a reload replaces at a time: `"all"` starts the whole new generation beside the old one; N replaces N slots at a time.
   */
  readonly reload_batch: number | "all";
  /**
   * Node flags for the worker processes (not the primary), as in `["--max-old-space-size=512", "--enable-source-maps"]`.
   */
  readonly worker_exec_argv: string[];
  /**
   * Deadline for each lifecycle hook call (not the request hooks); the hook's `signal` aborts then. 0 = none.
   */
  readonly hook_timeout: number;
  /**
   * How long a client may take to send a whole request, head and body, before it is answered 408 and the connection closed; 0 = no limit.
   */
  readonly request_timeout: number;
  /**
   * How long a client may take to send the request headers before it is answered 408 and the connection closed: from the first byte of the request, or, on a new connection, from when a worker received it (a connection that sends nothing is closed too), or on a keep-alive connection from the end of the previous response (Node counts the idle time too). Greater than `keepalive`, at most `request_timeout`; 0 = no limit.
   */
  readonly headers_timeout: number;
  /**
   * The request head a worker accepts, in bytes: a request whose URL and header names and values add up to this much is answered 431 (the method, separators and line ends do not count).
   */
  readonly max_header_size: number;
  /**
   * The longest request line (method, URL and version, with the spaces between), in bytes; a longer one is answered 414 and the connection closed. 0 = no limit beyond `max_header_size`.
   */
  readonly limit_request_line: number;
  /**
   * The most header fields a request may have; more are answered 431 and the connection closed. 0 = no limit (Node then keeps the first 2000 and drops the rest).
   */
  readonly limit_request_fields: number;
  /**
   * The longest header field (its name and value), in bytes; a longer one is answered 431 and the connection closed. 0 = no limit beyond `max_header_size`.
   */
  readonly limit_request_field_size: number;
  /**
   * The largest request body, in bytes. A larger `Content-Length` is answered 413 before the app sees the request; a chunked body is cut when it passes the limit (413 if no response was started, else the connection is closed, and the app sees the request aborted). 0 = no limit.
   */
  readonly limit_request_body: number;
  /**
   * How long a response may wait on a client that takes none of it (no byte leaves the worker) before the connection is closed; 0 = no limit.
   */
  readonly send_timeout: number;
  /**
   * A path hostd answers itself in every worker, before the app: 200 while the instance takes traffic, 503 once it is draining.
   */
  readonly readiness_path: string | null;
  /**
   * A path hostd answers itself in every worker, before the app: 200 while the worker's event loop runs.
   */
  readonly liveness_path: string | null;
  /**
   * On SIGTERM, keep serving this long with readiness_path answering 503, so load balancers stop sending traffic first; then stop gracefully.
   */
  readonly drain_delay: number;
  /**
   * Tell systemd about readiness, reloads and stops through $NOTIFY_SOCKET, and answer its watchdog (WATCHDOG_USEC).
   */
  readonly sd_notify: boolean;
  /**
   * PEM certificate (chain) file; with `keyfile`, every bind serves HTTPS.
   */
  readonly certfile: string | null;
  /**
   * PEM private key file for `certfile`.
   */
  readonly keyfile: string | null;
  /**
   * PEM file of the CA certificates that client certificates must be signed by (mutual TLS); needs `certfile` and a `cert_reqs` other than `"none"`.
   */
  readonly ca_certs: string | null;
  /**
   * Whether a worker asks TLS clients for a certificate: `"none"`; `"optional"` (asked for, and a client without one, or with one `ca_certs` did not sign, is served unverified); `"required"` (a client without a certificate signed by `ca_certs` is refused at the handshake).
   */
  readonly cert_reqs: "none" | "optional" | "required";
  /**
   * How long loading the config file may take (its top-level awaits, an exported async function); past it every command exits 1 naming the file, and a reload is rejected. 0 = no limit.
   */
  readonly config_timeout: number;
  /**
   * The folder hostd works in: the primary changes to it before it looks for the config file, and again at every reload, so a release folder behind a symlink (`/srv/app/current`) is followed. null: the working directory hostd started in.
   */
  readonly chdir: string | null;
  /**
   * A file to write the primary's pid to, after the sockets are bound; removed at exit.
   */
  readonly pidfile: string | null;
  /**
   * Names the processes: `hostd primary [NAME]`, `hostd worker N [NAME]` (the default name adds nothing: `hostd primary`).
   */
  readonly proc_name: string;
  /**
   * Variables set in every worker's environment; later layers add to earlier ones.
   */
  readonly env: Record<string, string>;
  /**
   * Where the access log goes: `"-"` for stdout, a file path, or null for none.
   */
  readonly accesslog: string | null;
  /**
   * Where the error log goes: `"-"` for stderr, or a file path (reopened on SIGUSR1).
   */
  readonly errorlog: string | null;
  /**
   * Access log line, in gunicorn's `%(atom)s` format: h r m U q H s b B f a t T D M L p {name}i {name}o.
   */
  readonly access_log_format: string;
  /**
   * The least severe error-log level written. `debug` also traces every hook call.
   */
  readonly loglevel: "debug" | "info" | "warning" | "error" | "critical";
  /**
   * Log lines as readable text, or as JSON objects one per line (both logs).
   */
  readonly log_format: "text" | "json";
  /**
   * Restart the workers (a reload, keeping the primary and the sockets) when a file in the app's folder or reload_extra_files changes.
   */
  readonly reload: boolean;
  /**
   * More files or folders to watch with reload (the app's folder and the config file are always watched).
   */
  readonly reload_extra_files: string[];
  /**
   * Answer a request that failed with the error and its stack instead of a bare 500. For development only: it shows your code to the client.
   */
  readonly show_errors: boolean;
  /**
   * Where the primary serves Prometheus metrics (`GET /metrics`): one address in `bind`'s forms, not one of the binds, or null for none.
   */
  readonly metrics_bind: string | null;
  /**
   * Presets applied beneath this file, in order; their hooks run before the file's own.
   */
  readonly extends: string[];
  /**
   * The unix socket `hostd status`, `hostd reload`, `hostd stop` and `hostd scale` use to reach the running primary; `"auto"`: a private one, named from the config file's path; null: none.
   */
  readonly control_socket: string | null;
  /**
   * Let app code call `host.reload()` and `host.stop()`, and use the control socket; each call is logged with the worker that made it.
   */
  readonly allow_app_control: boolean;
}

/** Every lifecycle hook: a function or an array of functions, run in order, awaited. */
export interface UserHooks {
  /**
   * Runs in the primary before the sockets are bound and any worker is forked.
   *
   * Context: the common fields.
   * Deadline: `hook_timeout` per function. If it throws or passes it: start aborted: workers stopped, `on_exit` runs, exit code 1.
   */
  on_starting?: HookOption<"on_starting">;
  /**
   * Runs in the primary before each worker process is started.
   *
   * Context adds: `worker`.
   * Deadline: `hook_timeout` per function. If it throws or passes it: that worker is not started; counts as a boot failure.
   */
  pre_fork?: HookOption<"pre_fork">;
  /**
   * Runs in the worker as soon as a new worker process has loaded its config, before the app is loaded.
   *
   * Context adds: `worker`.
   * Deadline: `hook_timeout` per function. If it throws or passes it: the worker exits with code 3 (boot error) and is replaced with backoff.
   */
  post_fork?: HookOption<"post_fork">;
  /**
   * Runs in the worker after the app is loaded, before the worker accepts connections.
   *
   * Context adds: `worker`, `app`.
   * Deadline: `hook_timeout` per function. If it throws or passes it: the worker exits with code 3 (boot error) and is replaced with backoff.
   */
  post_worker_init?: HookOption<"post_worker_init">;
  /**
   * Runs in the primary once, after all initial workers accept connections.
   *
   * Context adds: `workers`.
   * Deadline: `hook_timeout` per function. If it throws or passes it: start aborted: workers stopped, `on_exit` runs, exit code 1.
   */
  when_ready?: HookOption<"when_ready">;
  /**
   * Runs in the worker before the app sees a request; it may answer the request itself (e.g. 503).
   *
   * Context adds: `worker`, `req`, `res`, `request_id`, `client`.
   * If it throws: 500 to the client (if nothing was sent yet), logged; `post_request` still runs.
   */
  pre_request?: HookOption<"pre_request">;
  /**
   * Runs in the worker after the response finished or the client went away.
   *
   * Context adds: `worker`, `req`, `res`, `request_id`, `client`, `status`, `duration_ms`, `error`, `aborted`.
   * If it throws: logged with the hook name and stack; nothing else changes.
   */
  post_request?: HookOption<"post_request">;
  /**
   * Runs in the primary on a reload (SIGHUP), after the new config loaded and validated, before new workers start.
   *
   * Context adds: `previous`.
   * Deadline: `hook_timeout` per function. If it throws or passes it: reload abandoned; the old config and workers keep serving.
   */
  on_reload?: HookOption<"on_reload">;
  /**
   * Runs in the primary when the number of workers changed (TTIN, TTOU, a reload).
   *
   * Context adds: `new`, `old`.
   * Deadline: `hook_timeout` per function. If it throws or passes it: logged with the hook name and stack; nothing else changes.
   */
  nworkers_changed?: HookOption<"nworkers_changed">;
  /**
   * Runs in the worker when the worker begins a fast stop (SIGINT or SIGQUIT).
   *
   * Context adds: `worker`.
   * Deadline: `hook_timeout` per function (at most 3 s in a fast stop, 1 s after a second stop signal). If it throws or passes it: logged with the hook name and stack; nothing else changes.
   */
  worker_int?: HookOption<"worker_int">;
  /**
   * Runs in the worker after the worker stopped accepting and drained in-flight requests, as the last thing before it exits.
   *
   * Context adds: `worker`, `reason`.
   * Deadline: `hook_timeout` per function (at most 3 s in a fast stop, 1 s after a second stop signal). If it throws or passes it: logged with the hook name and stack; nothing else changes.
   */
  worker_exit?: HookOption<"worker_exit">;
  /**
   * Runs in the primary after any worker process ended, including SIGKILL, crash and timeout.
   *
   * Context adds: `worker`, `exit_code`, `exit_signal`, `reason`, `stack`.
   * Deadline: `hook_timeout` per function (at most 3 s in a fast stop, 1 s after a second stop signal). If it throws or passes it: logged with the hook name and stack; nothing else changes.
   */
  child_exit?: HookOption<"child_exit">;
  /**
   * Runs in the primary once, as the last thing before the primary exits, whatever the path.
   *
   * Context adds: `exit_code`, `reason`.
   * Deadline: `hook_timeout` per function (at most 3 s in a fast stop, 1 s after a second stop signal). If it throws or passes it: logged with the hook name and stack; nothing else changes.
   */
  on_exit?: HookOption<"on_exit">;
}
