import { defineConfig } from 'hostd';

export default defineConfig({ app: './app.mjs', bind: '127.0.0.1:0', workers: 2 });
