import { defineConfig } from 'hostd';

// Ignores draining: its sockets stay open until graceful_timeout (2 s) destroys them.
export default defineConfig({ app: './app.mjs', bind: '127.0.0.1:0', workers: 2, graceful_timeout: 2 });
