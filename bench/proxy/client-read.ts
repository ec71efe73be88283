import { defineConfig } from 'hostd';

// A pre_request hook that reads ctx.client. Requests carry X-Forwarded-For and come from
// 127.0.0.1, which the default forwarded_allow_ips trusts, so the header is walked.
let last: unknown;

export default defineConfig({
  app: '../app.mjs',
  bind: '127.0.0.1:0',
  workers: 2,
  pre_request: (ctx) => {
    last = ctx.client;
  },
});
