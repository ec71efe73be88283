import { defineConfig } from 'hostd';

// The scrape scenario (bench/scrape): 2 workers of 100k series each, scraped on metrics_bind.
export default defineConfig({
  app: './app.mjs',
  bind: '127.0.0.1:0',
  metrics_bind: '127.0.0.1:0',
  workers: 2,
  timeout: 2,
});
