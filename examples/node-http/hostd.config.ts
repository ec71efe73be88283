import { defineConfig } from 'hostd';

export default defineConfig({
  app: './src/app.ts',
  bind: '127.0.0.1:8000',
  workers: 2,
  env: { GREETING: 'hello' },
  worker_exit: ({ worker, reason, log }) => log.info(`worker ${worker.id} done (${reason})`),
});
