/** When a control socket file may be removed, the record beside it, and what became of a process (runtime/control-path.ts). */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { judgeFailure, listenerBoundAt, prepareControlFolder, probeSocket, processState, readControlRecord, removeControlRecord, writeControlRecord } from '../../src/runtime/control-path.ts';
import { tempDir } from '../helpers/project.ts';
import { waitUntil } from '../helpers/run.ts';

describe('a control socket that fails to answer', () => {
  it('is stale only when refused with no listener left at its path, or gone', async () => {
    const path = join(tempDir(), 'control.sock');
    expect(judgeFailure(path, 'ENOENT')).toEqual({ state: 'stale' });
    expect(judgeFailure(path, 'ECONNREFUSED')).toEqual({ state: 'stale' });
    for (const code of ['EAGAIN', 'ECONNRESET', 'EPIPE', 'EACCES', 'EMFILE', undefined]) expect(judgeFailure(path, code).state).toBe('unsure');
    expect(judgeFailure(path, 'EAGAIN')).toEqual({ state: 'unsure', why: 'its queue of connections is full (EAGAIN)' });
  });

  it('is not stale while a process listens at its path, whatever connecting said', async () => {
    const path = join(tempDir(), 'control.sock');
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(path, resolve));
    try {
      expect(listenerBoundAt(path)).toBe(true);
      expect(await probeSocket(path)).toEqual({ state: 'answers' });
      expect(judgeFailure(path, 'ECONNREFUSED').state).toBe('unsure');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(listenerBoundAt(path)).toBe(false);
    expect(await probeSocket(path)).toEqual({ state: 'stale' });
  });
});

describe('the record a primary leaves for the commands', () => {
  const config = '/srv/app/hostd.config.ts';
  /** A fresh owner-only control folder, as the primary makes it, and the record's path in it. */
  const folder = () => {
    const dir = join(tempDir(), 'hostd');
    expect(prepareControlFolder(dir)).toBeNull();
    return { dir, path: join(dir, '0123456789abcdef.json') };
  };

  it('is written owner-only and read back; it is removed only while it names the pid asking', () => {
    const { path } = folder();
    expect(readControlRecord(path, config)).toEqual({ found: 'none' });
    writeControlRecord(path, { pid: 4242, socket: '/run/app/control.sock', config });
    expect(lstatSync(path).mode & 0o777).toBe(0o600);
    expect(readControlRecord(path, config)).toEqual({ found: 'record', record: { pid: 4242, socket: '/run/app/control.sock', config } });
    writeControlRecord(path, { pid: 4243, socket: null, config });
    removeControlRecord(path, config, 4242);
    expect(readControlRecord(path, config)).toEqual({ found: 'record', record: { pid: 4243, socket: null, config } });
    removeControlRecord(path, config, 4243);
    expect(existsSync(path)).toBe(false);
  });

  const valid = { hostd: 1, pid: 4242, socket: '/run/app/control.sock', config };
  it.each([
    ['not JSON', '{', 'it is not JSON'],
    ['an array', '[]', 'it is not a JSON object'],
    ['a key too many', JSON.stringify({ ...valid, command: 'stop' }), 'it is not a hostd control record (version 1)'],
    ['another version', JSON.stringify({ ...valid, hostd: 2 }), 'it is not a hostd control record (version 1)'],
    ['pid 1', JSON.stringify({ ...valid, pid: 1 }), 'its pid is not a process id'],
    ['a pid as text', JSON.stringify({ ...valid, pid: '4242' }), 'its pid is not a process id'],
    ['a relative socket', JSON.stringify({ ...valid, socket: 'control.sock' }), 'its socket is not an absolute path a unix socket can have'],
    ['a socket path too long', JSON.stringify({ ...valid, socket: `/${'x'.repeat(107)}` }), 'its socket is not an absolute path a unix socket can have'],
    ['another config', JSON.stringify({ ...valid, config: '/elsewhere/hostd.config.ts' }), 'it names another config ("/elsewhere/hostd.config.ts")'],
    ['too large', `${JSON.stringify(valid)}${' '.repeat(5000)}`, 'it is larger than 4096 bytes'],
  ])('is not trusted when it holds %s', (_, text, why) => {
    const { path } = folder();
    writeFileSync(path, text, { mode: 0o600 });
    expect(readControlRecord(path, config)).toEqual({ found: 'invalid', why });
  });

  it('is not trusted when it is not an owner-only regular file in an owner-only folder', () => {
    const open = folder();
    writeFileSync(open.path, JSON.stringify(valid), { mode: 0o644 });
    expect(readControlRecord(open.path, config)).toEqual({ found: 'invalid', why: 'it is open to other users (mode 644)' });

    const linked = folder();
    const elsewhere = join(tempDir(), 'record.json');
    writeFileSync(elsewhere, JSON.stringify(valid), { mode: 0o600 });
    symlinkSync(elsewhere, linked.path);
    expect(readControlRecord(linked.path, config)).toEqual({ found: 'invalid', why: 'it is a symbolic link' });

    // A FIFO would hang a plain read: it is opened without blocking, and refused.
    const fifo = folder();
    execFileSync('mkfifo', [fifo.path]);
    expect(readControlRecord(fifo.path, config)).toEqual({ found: 'invalid', why: 'it is not a regular file' });

    const wide = folder();
    writeFileSync(wide.path, JSON.stringify(valid), { mode: 0o600 });
    chmodSync(wide.dir, 0o755);
    expect(readControlRecord(wide.path, config)).toEqual({ found: 'invalid', why: `${wide.dir} is open to other users (mode 755)` });
  });
});

describe('processState', () => {
  it('tells a running, a stopped, a zombie and a gone process apart', async () => {
    // A child that is never collected while the test looks: spawned detached through a shell that execs sleep.
    const child = spawn('sh', ['-c', 'sleep 30 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const grandchild = Number(await new Promise<string>((resolve) => child.stdout!.once('data', (d: Buffer) => resolve(String(d)))));
      expect(processState(grandchild)).toBe('running');
      process.kill(grandchild, 'SIGSTOP');
      await waitUntil(() => processState(grandchild) === 'stopped', 'the stopped state');
      // Killed, it stays a zombie: its parent (the shell, now sleep) never collects it.
      process.kill(grandchild, 'SIGKILL');
      await waitUntil(() => processState(grandchild) === 'zombie', 'the zombie state');
    } finally {
      child.kill('SIGKILL');
    }
    await new Promise((resolve) => child.once('exit', resolve));
    expect(processState(child.pid!)).toBe('gone');
  });
});
