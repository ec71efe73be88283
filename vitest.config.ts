import { configDefaults, defineConfig } from 'vitest/config';

/**
 * The `unit` project: pure code and in-process tests (sockets on 127.0.0.1 or in a temp
 * folder at most, time passed in or faked); none runs hostd, its CLI or tsc, and
 * `npx vitest run --project unit` takes seconds. Every other test file is `e2e`: it runs
 * `hostd` as a user would (or tsc, or an example), so a new file is e2e until it is listed here.
 */
const UNIT = [
  'test/bench/stats.test.ts',
  'test/cli/output.test.ts',
  'test/config/binds.test.ts',
  'test/config/kinds.test.ts',
  'test/config/modules.test.ts',
  'test/config/reload-plan.test.ts',
  'test/config/resolve.test.ts',
  'test/config/settings.property.test.ts',
  'test/config/stop-plan.test.ts',
  'test/config/suggest.test.ts',
  'test/config/table.test.ts',
  'test/config/tls-files.test.ts',
  'test/config/working-directory.test.ts',
  'test/config/transform-cache.test.ts',
  'test/errors.test.ts',
  'test/examples/engines.test.ts',
  'test/guarantees-coverage.test.ts',
  'test/host/outside.test.ts',
  'test/node-lines.test.ts',
  'test/presets/cpus.test.ts',
  'test/runtime/control-path.test.ts',
  'test/runtime/hooks/**/*.test.ts',
  'test/runtime/ipc.test.ts',
  'test/runtime/metrics/**/*.test.ts',
  'test/runtime/primary/**/*.test.ts',
  'test/runtime/proxy/**/*.test.ts',
  'test/runtime/reaper.test.ts',
  'test/runtime/worker/**/*.test.ts',
  'test/settings-coverage.test.ts',
  'test/text.test.ts',
];

export default defineConfig({
  test: {
    // Integration tests spawn real primaries and workers; two at a time fits CI's 2 cores.
    pool: 'forks',
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: UNIT,
          testTimeout: 10_000,
        },
      },
      {
        extends: true,
        test: {
          // The public types' tests (expectTypeOf, @ts-expect-error), checked by tsc: no test runs.
          name: 'types',
          typecheck: {
            enabled: true,
            only: true,
            include: ['test/**/*.test-d.ts'],
            tsconfig: './tsconfig.json',
          },
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...UNIT],
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
    ],
  },
});
