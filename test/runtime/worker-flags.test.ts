/**
 * `worker_exec_argv`: Node flags for the worker processes only, with an inspector port per
 * worker slot and a heap sized from the cgroup memory limit on request.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cgroupMemoryLimit, heapShareMiB } from '../../src/runtime/memory.ts';
import { recordingConfig } from '../helpers/apps.ts';
import { hostd } from '../helpers/cli.ts';
import { project, tempDir } from '../helpers/project.ts';
import { type Hostd, RECORD_MODULE, startHostd, waitUntil } from '../helpers/run.ts';

const APP = `import v8 from 'node:v8';
export default (req, res) => res.end(JSON.stringify({ pid: process.pid, execArgv: process.execArgv, heapLimit: v8.getHeapStatistics().heap_size_limit }));
`;

describe('worker_exec_argv', () => {
  let run: Hostd | undefined;
  afterEach(async () => {
    await run?.stop();
    run = undefined;
  });

  it('starts workers, and only workers, with the flags', async () => {
    const dir = project({ 'app.mjs': APP, 'record.ts': RECORD_MODULE, 'hostd.config.ts': recordingConfig("workers: 1, worker_exec_argv: ['--max-old-space-size=64'],") });
    run = startHostd(dir);
    const url = await run.ready();
    const worker = (await (await fetch(url)).json()) as { execArgv: string[]; heapLimit: number };
    expect(worker.execArgv).toContain('--max-old-space-size=64');
    // V8's limit is the old space plus the young generation's share: well under the default (2 GiB and more).
    expect(worker.heapLimit).toBeLessThan(128 * 2 ** 20);
    const primaryArgs = (await import('node:fs')).readFileSync(`/proc/${run.pid}/cmdline`, 'utf8');
    expect(primaryArgs).not.toContain('--max-old-space-size');
  });

  it('gives a bare --inspect a port per worker slot, 9229 + id, and logs it', async () => {
    const dir = project({ 'app.mjs': APP, 'record.ts': RECORD_MODULE, 'hostd.config.ts': recordingConfig("workers: 2, worker_exec_argv: ['--inspect'],") });
    run = startHostd(dir);
    await run.ready();
    await run.waitForOutput(/worker 1 \(pid \d+\): inspector at 127\.0\.0\.1:9230/);
    await run.waitForOutput(/worker 2 \(pid \d+\): inspector at 127\.0\.0\.1:9231/);
    for (const port of [9230, 9231]) {
      const version = await waitUntil(() => fetch(`http://127.0.0.1:${port}/json/version`).then((r) => r.json() as Promise<{ Browser: string }>, () => null), `the inspector on ${port}`);
      expect(version.Browser).toMatch(/^node\.js/);
    }
  });

  it('is a config problem when an entry is not a Node flag', async () => {
    const dir = project({ 'app.mjs': APP, 'hostd.config.json': JSON.stringify({ app: './app.mjs', worker_exec_argv: ['--inspect', 'server.js'] }) });
    const result = await hostd(['check'], { cwd: dir });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('hostd.config.json: worker_exec_argv[1]: expected a Node flag starting with -, got "server.js"');
  });
});

describe('--max-old-space-size=auto', () => {
  it('reads the cgroup memory limit (v2, v1, none) and shares three quarters of it', () => {
    const root = tempDir();
    mkdirSync(join(root, 'app.slice'), { recursive: true });
    writeFileSync(join(root, 'app.slice', 'memory.max'), `${2 * 2 ** 30}\n`);
    expect(cgroupMemoryLimit(root, '0::/app.slice')).toBe(2 * 2 ** 30);
    writeFileSync(join(root, 'app.slice', 'memory.max'), 'max\n');
    expect(cgroupMemoryLimit(root, '0::/app.slice')).toBeNull();
    const v1 = tempDir();
    mkdirSync(join(v1, 'memory'));
    writeFileSync(join(v1, 'memory', 'memory.limit_in_bytes'), '9223372036854771712\n');
    expect(cgroupMemoryLimit(v1, '4:memory:/')).toBeNull();
    writeFileSync(join(v1, 'memory', 'memory.limit_in_bytes'), `${2 ** 30}\n`);
    expect(cgroupMemoryLimit(v1, '4:memory:/')).toBe(2 ** 30);
    // 2 GiB, 3 workers and the primary: 1.5 GiB / 4 = 384 MiB each.
    expect(heapShareMiB(2 * 2 ** 30, 3)).toBe(384);
    expect(heapShareMiB(10 * 2 ** 20, 4)).toBe(16);
  });
});
