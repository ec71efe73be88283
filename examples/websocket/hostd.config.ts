import { defineConfig } from 'hostd';

export default defineConfig({
  app: './src/app.ts',
  bind: '127.0.0.1:8000',
  workers: 2,
  // How long an app that ignores `draining` keeps its sockets at a stop; this one closes them at once.
  graceful_timeout: 30,
  accesslog: '-',
});
