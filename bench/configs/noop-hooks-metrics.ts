import { defineConfig } from 'hostd';

// noop-hooks.ts with metrics_bind: the bench scrapes it every second while measuring.
export default defineConfig({
  app: '../app.mjs',
  bind: '127.0.0.1:0',
  metrics_bind: '127.0.0.1:0',
  workers: 2,
  pre_request: () => {},
  post_request: () => {},
});
