/**
 * Every example's README is checked, not decorative: each example has one, every `npm`
 * command it shows is a script of that example, and for an example that serves (it has a
 * `start` script), every `curl` it shows is sent to the running example, which must answer
 * it with what the README prints below the command (numbers, such as pids, may differ).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO, tempDir } from '../helpers/project.ts';
import { startHostd } from '../helpers/run.ts';
import { hostd } from '../helpers/cli.ts';

const EXAMPLES = join(REPO, 'examples');
const examples = readdirSync(EXAMPLES).filter((name) => existsSync(join(EXAMPLES, name, 'package.json')));

interface Curl {
  readonly line: string;
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: string | undefined;
  /** The lines the README shows below it, if any. */
  readonly expect: string | undefined;
}

/** `curl [-X M] [-H 'k: v'] [-d 'body'] http://127.0.0.1:8000/path` lines of console blocks, with the line after each. */
function curls(readme: string): Curl[] {
  const found: Curl[] = [];
  for (const block of readme.matchAll(/^```console\n([\s\S]*?)^```$/gm)) {
    const lines = block[1]!.split('\n');
    lines.forEach((line, i) => {
      if (!line.startsWith('$ curl ')) return;
      const words = [...line.slice(7).matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2]!);
      let method = 'GET';
      const headers: Record<string, string> = {};
      let body: string | undefined;
      let url = '';
      for (let w = 0; w < words.length; w++) {
        const word = words[w]!;
        if (word === '-X') method = words[++w]!;
        else if (word === '-H') {
          const [name, ...value] = words[++w]!.split(':');
          headers[name!.trim()] = value.join(':').trim();
        } else if (word === '-d') {
          body = words[++w]!;
          if (method === 'GET') method = 'POST';
        } else if (word.startsWith('-')) throw new Error(`${line}: the test does not know ${word}`);
        else url = word;
      }
      const end = lines.findIndex((l, j) => j > i && (l.startsWith('$') || l === ''));
      const shown = lines.slice(i + 1, end < 0 ? undefined : end);
      found.push({ line, method, path: new URL(url).pathname + new URL(url).search, headers, body, expect: shown.length ? shown.join('\n') : undefined });
    });
  }
  return found;
}

/** What may differ between runs: numbers (pids, worker ids, durations). */
const shape = (text: string) => text.trim().replace(/\d+/g, 'N');

describe('examples/*/README.md', () => {
  it.each(examples)('%s has a README whose npm commands are its scripts', (name) => {
    const dir = join(EXAMPLES, name);
    expect(existsSync(join(dir, 'README.md')), `examples/${name}/README.md`).toBe(true);
    const readme = readFileSync(join(dir, 'README.md'), 'utf8');
    const scripts = Object.keys((JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { scripts?: object }).scripts ?? {});
    for (const [, script] of readme.matchAll(/\bnpm (?:run )?(start|test|[a-z][\w:-]*)\b/g)) {
      if (script === 'install' || script === 'run' || script === 'pack' || script === 'publish') continue;
      expect(scripts, `examples/${name}/README.md names "npm ${script}"`).toContain(script);
    }
    if (scripts.includes('start')) {
      expect(readme, 'a served example says how to start it').toMatch(/npm start/);
      expect(curls(readme).length, 'a served example shows routes to try with curl').toBeGreaterThan(0);
    }
  });

  const checked = examples.filter((name) => existsSync(join(EXAMPLES, name, 'hostd.config.ts')));
  it.each(checked)('%s passes its own `npm run check` (hostd check, the app loaded)', async (name) => {
    const result = await hostd(['check'], { cwd: join(EXAMPLES, name), env: { JOBS_DIR: tempDir('hostd-example-') }, timeoutMs: 30_000 });
    expect(result, result.stderr).toMatchObject({ code: 0 });
  }, 40_000);

  const served = examples.filter((name) => 'start' in ((JSON.parse(readFileSync(join(EXAMPLES, name, 'package.json'), 'utf8')) as { scripts?: object }).scripts ?? {}));
  it.each(served)('%s answers every curl its README shows, as the README says', async (name) => {
    const dir = join(EXAMPLES, name);
    const hostd = startHostd(dir, ['-b', '127.0.0.1:0'], { env: { JOBS_DIR: tempDir('hostd-example-') } });
    const base = await hostd.ready(30_000);
    for (const curl of curls(readFileSync(join(dir, 'README.md'), 'utf8'))) {
      const response = await fetch(base + curl.path, { method: curl.method, headers: curl.headers, body: curl.body });
      const text = await response.text();
      expect(response.status, `${curl.line}: ${text}`).toBeLessThan(400);
      if (curl.expect !== undefined) expect(shape(text), curl.line).toBe(shape(curl.expect));
    }
    expect((await hostd.stop()).code).toBe(0);
  }, 60_000);
});
