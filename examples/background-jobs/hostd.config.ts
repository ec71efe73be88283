import { defineConfig } from 'hostd';

export default defineConfig({
  app: './src/app.ts',
  bind: '127.0.0.1:8000',
  workers: 2,
  // The shutdown handler may take this long to finish the current job and flush.
  hook_timeout: 10,
  graceful_timeout: 10,
});
