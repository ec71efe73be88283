import { defineConfig } from 'hostd';

// The baseline of the PROXY protocol rounds: the same load, without a header.
export default defineConfig({ app: '../app.mjs', bind: '127.0.0.1:0', workers: 2 });
