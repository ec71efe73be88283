/** The ancestry walk that keeps app code off the control socket (runtime/primary/control-peer.ts). */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ancestry, parentOf } from '../../../src/runtime/primary/control-peer.ts';

/** A process table as a map of pid → parent. */
const table = (parents: Record<number, number>) => (pid: number) => parents[pid] ?? null;

describe('ancestry', () => {
  it('finds the primary at any depth: a chain of 10,000 processes below a worker', () => {
    const parents: Record<number, number> = { 100: 50, 50: 1 };
    for (let pid = 1000; pid < 11_000; pid++) parents[pid] = pid === 1000 ? 100 : pid - 1;
    expect(ancestry(10_999, 50, table(parents))).toBe('descendant');
    expect(ancestry(100, 50, table(parents))).toBe('descendant');
  });

  it('calls a process outside the primary an outsider, up to init or a parent outside the namespace', () => {
    expect(ancestry(300, 50, table({ 300: 200, 200: 1, 50: 1 }))).toBe('outsider');
    // `docker exec`: the parent is outside the container's pid namespace.
    expect(ancestry(300, 50, table({ 300: 0 }))).toBe('outsider');
  });

  it('fails closed: a gone peer, a gap in the chain, a loop', () => {
    expect(ancestry(300, 50, table({}))).toBe('unknown');
    expect(ancestry(300, 50, table({ 300: 200 }))).toBe('unknown');
    expect(ancestry(300, 50, table({ 300: 200, 200: 300 }))).toBe('unknown');
  });

  it('as PID 1 of a container the primary is everyone\'s ancestor but for what enters from outside', () => {
    expect(ancestry(300, 1, table({ 300: 200, 200: 1 }))).toBe('descendant');
    expect(ancestry(300, 1, table({ 300: 0 }))).toBe('outsider');
  });

  it('reads the real process table: this process descends from its parent, a child from this process', async () => {
    expect(parentOf(process.pid)).toBe(process.ppid);
    expect(ancestry(process.pid, process.ppid)).toBe('descendant');
    const child = spawn('sleep', ['5']);
    try {
      expect(ancestry(child.pid!, process.pid)).toBe('descendant');
      expect(ancestry(process.pid, child.pid!)).toBe('outsider');
    } finally {
      child.kill();
    }
    expect(parentOf(2 ** 30)).toBeNull();
  });
});
