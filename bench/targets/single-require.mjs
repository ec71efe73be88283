// bench/targets/single.mjs with node:http loaded by require() rather than imported (see cluster-require.mjs).
import { createRequire } from 'node:module';
import handler from '../app.mjs';

const { createServer } = createRequire(import.meta.url)('node:http');
const server = createServer(handler).listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
