// The app as PM2 runs it in cluster mode: each instance listens on $PORT itself.
const { createServer } = require('node:http');

createServer((req, res) => {
  res.setHeader('content-type', 'text/plain');
  res.end('hello world\n');
}).listen(Number(process.env.PORT), '127.0.0.1');
