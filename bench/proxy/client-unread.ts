import { defineConfig } from 'hostd';

// client-read.ts's hook, reading a field that costs nothing instead of ctx.client: the baseline.
let last: unknown;

export default defineConfig({
  app: '../app.mjs',
  bind: '127.0.0.1:0',
  workers: 2,
  pre_request: (ctx) => {
    last = ctx.req;
  },
});
