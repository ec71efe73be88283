// The dispatch scenario's handler: `/burn` keeps the CPU busy for 50 ms (a slow request in a
// real app: a report, a big JSON, a sync crypto call); everything else answers at once.
export default function handler(req, res) {
  if (req.url === '/burn') {
    const end = performance.now() + 50;
    while (performance.now() < end);
  }
  res.setHeader('content-type', 'text/plain');
  res.end('ok\n');
}
