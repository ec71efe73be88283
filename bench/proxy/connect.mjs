// A load generator that opens a connection per request over raw node:net sockets, as a TCP
// balancer does: each connection writes one payload (an optional PROXY header and a GET with
// `Connection: close`), reads the answer until the server closes, and the next one opens.
//   node connect.mjs HOST PORT SECONDS CONCURRENCY < payloads.json
// payloads.json is an array of latin1 strings, used in turn: the bench builds them, with or
// without a header, so that both variants run this same code. Bounded: it stops starting
// connections after SECONDS (or MAX_CONNECTIONS), a connection that takes TIMEOUT_MS is
// destroyed and counted as an error, and the process exits by SECONDS + HARD_STOP_MS whatever
// happens. Prints one JSON line: { requests, errors, seconds, rps, p50, p99 } (milliseconds).
import { connect } from 'node:net';

const MAX_CONNECTIONS = 2_000_000;
const TIMEOUT_MS = 5_000;
const HARD_STOP_MS = 15_000;

const [host, portArg, secondsArg, concurrencyArg] = process.argv.slice(2);
const port = Number(portArg);
const seconds = Number(secondsArg);
const concurrency = Number(concurrencyArg);
if (!host || !(port > 0) || !(seconds > 0) || !(concurrency > 0)) {
  process.stderr.write('usage: node connect.mjs HOST PORT SECONDS CONCURRENCY < payloads.json\n');
  process.exit(2);
}

let input = '';
for await (const chunk of process.stdin) input += chunk;
const payloads = JSON.parse(input).map((text) => Buffer.from(text, 'latin1'));
if (payloads.length === 0) throw new Error('no payloads on stdin');

// A 200 answer begins with these bytes.
const OK = Buffer.from('HTTP/1.1 200 ', 'latin1');

const latencies = [];
let errors = 0;
let started = 0;

/** One connection: the payload out, the answer in until the server closes; resolves either way. */
function once(payload) {
  return new Promise((resolve) => {
    const began = performance.now();
    const socket = connect({ host, port, noDelay: true });
    let head = Buffer.alloc(0);
    let failed = false;
    socket.setTimeout(TIMEOUT_MS, () => {
      failed = true;
      socket.destroy();
    });
    socket.write(payload);
    socket.on('data', (chunk) => {
      if (head.length < OK.length) head = Buffer.concat([head, chunk]).subarray(0, OK.length);
    });
    socket.on('error', () => (failed = true));
    socket.on('close', () => {
      if (!failed && head.equals(OK)) latencies.push(performance.now() - began);
      else errors++;
      resolve();
    });
  });
}

const begin = performance.now();
const end = begin + seconds * 1000;
setTimeout(() => {
  process.stderr.write(`connect.mjs: still running ${HARD_STOP_MS} ms after its ${seconds} s; exiting\n`);
  process.exit(1);
}, seconds * 1000 + HARD_STOP_MS).unref();

async function slot() {
  while (performance.now() < end && started < MAX_CONNECTIONS) await once(payloads[started++ % payloads.length]);
}
await Promise.all(Array.from({ length: concurrency }, slot));
const elapsed = (performance.now() - begin) / 1000;

const sorted = Float64Array.from(latencies).sort();
const quantile = (q) => (sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]);
process.stdout.write(`${JSON.stringify({ requests: latencies.length, errors, seconds: elapsed, rps: latencies.length / elapsed, p50: quantile(0.5), p99: quantile(0.99) })}\n`);
