import { defineConfig } from 'hostd';

// One worker: a request sent while it is replaced waits in the primary for the replacement (bench: worker replacement).
export default defineConfig({ app: '../app.mjs', bind: '127.0.0.1:0', workers: 1 });
