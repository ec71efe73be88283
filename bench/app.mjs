// The handler every target serves, so only the host around it differs.
export default function handler(req, res) {
  res.setHeader('content-type', 'text/plain');
  res.end('hello world\n');
}
