import { defineConfig } from 'hostd';

export default defineConfig({
  app: './src/app.ts',
  bind: '127.0.0.1:8000',
  workers: 2,
});
