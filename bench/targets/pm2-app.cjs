// The app as PM2 runs it in cluster mode: each instance listens on $PORT itself. PM2's
// graceful reload sends SIGINT and expects the app to close its server and exit (its docs'
// "Graceful Stop"): without this handler PM2 kills the instance after kill_timeout, with its
// connections, and "failed requests during reloads" would measure the missing handler.
const { createServer } = require('node:http');

const server = createServer((req, res) => {
  res.setHeader('content-type', 'text/plain');
  res.end('hello world\n');
}).listen(Number(process.env.PORT), '127.0.0.1');

process.on('SIGINT', () => server.close(() => process.exit(0)));
