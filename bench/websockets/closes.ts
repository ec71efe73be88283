import { defineConfig } from 'hostd';

// Closes its sockets on draining; graceful_timeout 2 s, which a prompt stop never reaches.
export default defineConfig({ app: './app.mjs', bind: '127.0.0.1:0', workers: 2, graceful_timeout: 2, env: { CLOSE: '1' } });
