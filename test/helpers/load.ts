/**
 * Load for reload and drain tests: `concurrency` loops of sequential fetches to one URL,
 * bounded in count and time, recording every status, body and failure.
 */
import { afterEach } from 'vitest';

/** Loads still running: a test that failed before stopping its load must not leave it spinning. */
const running = new Set<Load>();

afterEach(async () => {
  const started = [...running];
  running.clear();
  await Promise.all(started.map((load) => load.stop()));
});

export interface LoadResult {
  ok: number;
  readonly failures: string[];
  readonly bodies: string[];
}

export interface Load {
  readonly result: LoadResult;
  /** Stops the loops and resolves once every request in flight has settled. */
  stop(): Promise<LoadResult>;
}

export function startLoad(url: string, options: { concurrency?: number; maxRequests?: number; maxMs?: number } = {}): Load {
  const { concurrency = 8, maxRequests = 50_000, maxMs = 30_000 } = options;
  const result: LoadResult = { ok: 0, failures: [], bodies: [] };
  const deadline = Date.now() + maxMs;
  let sent = 0;
  let stopped = false;
  const loop = async () => {
    while (!stopped && sent < maxRequests && Date.now() < deadline) {
      sent++;
      try {
        const response = await fetch(url);
        const body = await response.text();
        if (response.status === 200) {
          result.ok++;
          result.bodies.push(body);
        } else {
          result.failures.push(`HTTP ${response.status}: ${body}`);
        }
      } catch (error) {
        const cause = (error as { cause?: { code?: string; message?: string } }).cause;
        result.failures.push(cause?.code ?? cause?.message ?? String(error));
      }
    }
  };
  const loops = Array.from({ length: concurrency }, loop);
  const load: Load = {
    result,
    async stop() {
      stopped = true;
      running.delete(load);
      await Promise.all(loops);
      return result;
    },
  };
  running.add(load);
  return load;
}
