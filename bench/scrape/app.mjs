// An app with 100k series in its prom-client registry (issue 24, item 5): one counter with a
// route and a code label, 20,000 × 5 values. Each request answers at once.
import client from 'prom-client';

export const SERIES = 100_000;
const series = new client.Counter({ name: 'app_series_total', help: 'One of 100k series.', labelNames: ['route', 'code'] });
for (let i = 0; i < SERIES; i++) series.inc({ route: `/r${i % 20_000}`, code: String(200 + Math.floor(i / 20_000)) });

export default function handler(req, res) {
  res.setHeader('content-type', 'text/plain');
  res.end('hello world\n');
}
