import { defineConfig } from 'hostd';

export default defineConfig({
  app: './src/app.ts',
  bind: '127.0.0.1:8000',
  workers: 2,
  // socket.io starts with HTTP long-polling: every request of a session must reach the
  // worker that holds it. One client address, one worker.
  sticky_sessions: true,
  accesslog: '-',
});
