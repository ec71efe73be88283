// The client side of the scrape scenario, run on the load generator's CPU, as two processes so
// that reading large scrapes never delays the measuring of the app's latency:
//   node probe.mjs latency APP_URL SECONDS       paced requests on 4 keep-alive connections, each one's latency
//   node probe.mjs scrape METRICS_URL SECONDS N  N scrapes that start together every second
// Each prints one JSON line.
import { Agent, get } from 'node:http';

const [mode, url, secondsArg, concurrencyArg] = process.argv.slice(2);
const end = performance.now() + Number(secondsArg) * 1000;

function request(options) {
  return new Promise((resolve) => {
    const began = performance.now();
    get(url, options, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, ms: performance.now() - began, body: Buffer.concat(chunks) }));
    }).on('error', () => resolve({ status: 0, ms: performance.now() - began, body: Buffer.alloc(0) }));
  });
}

async function latency() {
  const CONNECTIONS = 4;
  /** Each connection sends a request every PACE_MS (800 requests/s in all), well below what 2 workers serve. */
  const PACE_MS = 5;
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const latencies = [];
  let errors = 0;
  const connection = async () => {
    for (let next = performance.now(); performance.now() < end; ) {
      const { status, ms } = await request({ agent });
      if (status === 200) latencies.push(ms);
      else errors++;
      next += PACE_MS;
      const wait = next - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      else next = performance.now();
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, connection));
  agent.destroy();
  return { latencies, errors };
}

/** A complete scrape has both workers' app metrics: the last series counted twice (labels in either order). */
const BOTH = ['app_series_total{code="204",route="/r19999"} 2\n', 'app_series_total{route="/r19999",code="204"} 2\n'].map((line) => Buffer.from(line));

async function scrape() {
  const concurrency = Number(concurrencyArg);
  const scrapes = [];
  const pending = [];
  for (let at = performance.now(); at < end; at += 1000) {
    const wait = at - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    for (let i = 0; i < concurrency; i++) {
      pending.push(
        request({ agent: false }).then(({ status, ms, body }) => {
          scrapes.push({ ms, ok: status === 200, complete: status === 200 && BOTH.some((line) => body.includes(line)), bytes: body.length });
        }),
      );
    }
  }
  await Promise.all(pending);
  return { scrapes };
}

process.stdout.write(`${JSON.stringify(mode === 'latency' ? await latency() : await scrape())}\n`);
