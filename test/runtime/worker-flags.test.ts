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
import { type Hostd, hooksLog, RECORD_MODULE, startHostd, waitForRecord, waitUntil } from '../helpers/run.ts';

const APP = `export default (req, res) => res.end(JSON.stringify({ pid: process.pid, execArgv: process.execArgv, stackTraceLimit: Error.stackTraceLimit }));
`;

describe('worker_exec_argv', () => {
  let run: Hostd | undefined;
  afterEach(async () => {
    await run?.stop();
    run = undefined;
  });

  it('starts workers, and only workers, with the flags', async () => {
    // What V8 derives from --max-old-space-size (the heap limit) differs from one Node line to the
    // next; --stack-trace-limit has one exact effect, which shows that V8 itself got the flags.
    const flags = "worker_exec_argv: ['--max-old-space-size=64', '--stack-trace-limit=7'],";
    const primary = "when_ready: () => rec(`primary ${JSON.stringify({ execArgv: process.execArgv, stackTraceLimit: Error.stackTraceLimit })}`),";
    const dir = project({ 'app.mjs': APP, 'record.ts': RECORD_MODULE, 'hostd.config.ts': recordingConfig(`workers: 1, ${flags} ${primary}`) });
    run = startHostd(dir);
    const url = await run.ready();
    const worker = (await (await fetch(url)).json()) as { execArgv: string[]; stackTraceLimit: number };
    expect(worker.execArgv).toEqual(expect.arrayContaining(['--max-old-space-size=64', '--stack-trace-limit=7']));
    expect(worker.stackTraceLimit).toBe(7);
    const line = (await waitForRecord(hooksLog(dir), /^primary /)).find((l) => l.startsWith('primary '))!;
    const seen = JSON.parse(line.slice('primary '.length)) as { execArgv: string[]; stackTraceLimit: number };
    expect(seen.execArgv).not.toContain('--max-old-space-size=64');
    expect(seen.execArgv).not.toContain('--stack-trace-limit=7');
    expect(seen.stackTraceLimit).not.toBe(7);
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
