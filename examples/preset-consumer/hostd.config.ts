import acme from '@acme/hostd-preset';
import { defineConfig } from 'hostd';

export default defineConfig({
  // Kubernetes probes, drain and timeouts, request ids, exit logging: all from the preset.
  extends: [acme({ service: 'orders' })],
  app: './src/app.ts',
  // The file's own settings win over the preset's.
  workers: 2,
});
