// One node:http process serving bench/app.mjs: no host at all. Prints "listening PORT".
import { createServer } from 'node:http';
import handler from '../app.mjs';

const server = createServer(handler).listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
