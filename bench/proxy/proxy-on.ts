import { defineConfig } from 'hostd';

// Every connection from 127.0.0.1 (trusted by the default forwarded_allow_ips) begins with a PROXY header.
export default defineConfig({ app: '../app.mjs', bind: '127.0.0.1:0', workers: 2, proxy_protocol: true });
