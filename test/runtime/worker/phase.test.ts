import { describe, expect, it } from 'vitest';
import { type Progress, unlessAborted, WorkerPhase } from '../../../src/runtime/worker/phase.ts';

function phase(): { phase: WorkerPhase; reports: Progress[] } {
  const reports: Progress[] = [];
  return { phase: new WorkerPhase((progress) => reports.push(progress)), reports };
}

describe('a worker phase', () => {
  it('tells the primary every step it enters, with its deadline', () => {
    const { phase: p, reports } = phase();
    p.setStep('config', 'evaluating its config');
    p.setStep('post_fork', 'running post_fork');
    p.setStep('app', 'loading the app (./app.mjs)');
    expect(reports).toEqual([
      { step: 'config', detail: 'evaluating its config', ms: null },
      { step: 'post_fork', detail: 'running post_fork', ms: null },
      { step: 'app', detail: 'loading the app (./app.mjs)', ms: null },
    ]);
    expect(p.step).toBe('app');
    p.requestStop('graceful');
    p.setStep('shutdown', "running its host.on('shutdown') handlers", 5000);
    expect(reports.at(-1)).toEqual({ step: 'shutdown', detail: "running its host.on('shutdown') handlers", ms: 5000 });
  });

  it('reports each call of a boot or stop step as that step, but no call while serving', () => {
    const { phase: p, reports } = phase();
    p.setStep('post_fork', 'running post_fork');
    p.call('hook post_fork (from hostd.config.ts)', 30_000);
    expect(reports.at(-1)).toEqual({ step: 'post_fork', detail: 'running hook post_fork (from hostd.config.ts)', ms: 30_000 });
    p.serve();
    expect(p.step).toBeNull();
    p.call("host.on('reload') handler", 30_000);
    expect(reports).toHaveLength(2);
    p.requestStop('graceful');
    p.setStep('worker_exit', 'running worker_exit', 3000);
    p.call('hook worker_exit (from hostd.config.ts)', 3000);
    expect(reports.at(-1)).toEqual({ step: 'worker_exit', detail: 'running hook worker_exit (from hostd.config.ts)', ms: 3000 });
  });

  it('aborts the boot when a stop begins while booting', () => {
    const { phase: p } = phase();
    expect(p.bootSignal.aborted).toBe(false);
    expect(p.requestStop('graceful')).toBe('begin');
    expect(p.name).toBe('stopping');
    expect(p.mode).toBe('graceful');
    expect(p.bootSignal.aborted).toBe(true);
    expect(p.escalation.aborted).toBe(false);
    expect(() => p.serve()).toThrow(/stopping cannot begin serving/);
  });

  it('begins a stop once; a faster stop escalates a graceful one, and nothing else changes it', () => {
    const { phase: p } = phase();
    p.serve();
    expect(p.requestStop('graceful')).toBe('begin');
    expect(p.requestStop('graceful')).toBeNull();
    expect(p.escalation.aborted).toBe(false);
    expect(p.requestStop('fast')).toBe('escalate');
    expect(p.mode).toBe('escalated');
    expect(p.escalation.aborted).toBe(true);
    expect(p.requestStop('fast')).toBeNull();
    expect(p.requestStop('escalated')).toBeNull();
    expect(p.mode).toBe('escalated');
  });

  it('escalates a graceful stop when the primary passes on a second stop signal', () => {
    const { phase: p } = phase();
    p.serve();
    p.requestStop('graceful');
    expect(p.requestStop('escalated')).toBe('escalate');
  });

  it('does not escalate a stop that began fast or escalated', () => {
    for (const mode of ['fast', 'escalated'] as const) {
      const { phase: p } = phase();
      p.serve();
      expect(p.requestStop(mode)).toBe('begin');
      expect(p.requestStop('fast')).toBeNull();
      expect(p.mode).toBe(mode);
      expect(p.escalation.aborted).toBe(false);
    }
  });
});

describe('unlessAborted', () => {
  it('settles as the promise does while the signal is not aborted', async () => {
    const controller = new AbortController();
    await expect(unlessAborted(Promise.resolve(7), controller.signal)).resolves.toBe(7);
    await expect(unlessAborted(Promise.reject(new Error('app failed')), controller.signal)).rejects.toThrow('app failed');
  });

  // A rejection left unhandled would fail this file: vitest reports unhandled rejections as errors.
  it('rejects with the abort reason at once, while the promise is still pending; its later rejection is handled', async () => {
    const controller = new AbortController();
    let fail!: (error: Error) => void;
    const pending = unlessAborted(new Promise<number>((_, reject) => (fail = reject)), controller.signal);
    controller.abort(new Error('the worker is stopping'));
    await expect(pending).rejects.toThrow('the worker is stopping');
    fail(new Error('post_fork failed after the stop'));
    await new Promise((resolve) => setImmediate(resolve));
  });

  it('rejects when already aborted; a later rejection of the promise is handled', async () => {
    const controller = new AbortController();
    controller.abort(new Error('stopped'));
    let fail!: (error: Error) => void;
    const late = new Promise<never>((_, reject) => (fail = reject));
    await expect(unlessAborted(late, controller.signal)).rejects.toThrow('stopped');
    fail(new Error('late'));
    await new Promise((resolve) => setImmediate(resolve));
  });
});
