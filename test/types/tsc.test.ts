/**
 * What a user's TypeScript reports for a config, under every TypeScript a user may have
 * (5.9, 6, and 7, the native port): a project like the one `npm i hostd` makes, with the
 * built declarations, checked by each version's own tsc. Each fixture line that must have
 * an error carries `// @error TEXT`: tsc must report exactly one error on that line, whose
 * message contains TEXT, and none anywhere else (hostd's own .d.ts included: no skipLibCheck).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { REPO, project } from '../helpers/project.ts';

const run = promisify(execFile);

const TSC = {
  '5.9': 'typescript-5.9/bin/tsc',
  '6': 'typescript/bin/tsc',
  '7': 'typescript-7/bin/tsc',
} as const;

/** The object form, the function form (sync, async, with a body), hooks and their contexts. */
const FIXTURES: Record<string, string> = {
  'object.ts': `import { defineConfig } from 'hostd';
export default defineConfig({
  app: './app.ts',
  wokers: 2, // @error 'wokers'
  post_frok: () => {}, // @error 'post_frok'
});
`,
  'object-type.ts': `import { defineConfig } from 'hostd';
export default defineConfig({
  app: './app.ts',
  workers: 'two', // @error 'number | "auto"
  bind: ['127.0.0.1:0'],
});
`,
  'object-nested.ts': `import { defineConfig } from 'hostd';
export default defineConfig({
  extends: ['kubernetes'],
  post_fork: [({ worker, log }) => log.info(String(worker.id))],
  pre_request: (ctx) => {
    void ctx.wroker; // @error 'wroker'
  },
});
`,
  'sync.ts': `import { defineConfig } from 'hostd';
export default defineConfig(({ mode, command }) => ({
  app: './app.ts',
  loglevel: mode === 'development' ? 'debug' : 'info',
  workers: command === 'run' ? 'auto' : 1,
  wokers: 2, // @error 'wokers'
  post_frok: () => {}, // @error 'post_frok'
}));
`,
  'sync-type.ts': `import { defineConfig } from 'hostd';
export default defineConfig(({ mode }) => ({
  app: './app.ts',
  workers: 'two', // @error 'number | "auto"
  post_fork: ({ worker }) => void worker.id,
}));
`,
  'sync-hook.ts': `import { defineConfig } from 'hostd';
export default defineConfig(() => ({
  post_fork: ({ worker, log }) => log.info(String(worker.pid)),
  pre_fork: (ctx) => void ctx.wroker, // @error 'wroker'
}));
`,
  'async.ts': `import { defineConfig, type UserConfig } from 'hostd';
export default defineConfig(async ({ mode }): Promise<UserConfig> => ({
  app: './app.ts',
  workers: mode === 'production' ? 'auto' : 1,
  wokers: 2, // @error 'wokers'
}));
`,
  // Without a return type, TypeScript reports an async function's unknown key at the object
  // it returns, not at the key (it does not look inside a promise): one error, naming the key.
  'async-inferred.ts': `import { defineConfig } from 'hostd';
export const two = defineConfig(async () => ({ app: './app.ts', wokers: 2 })); // @error 'wokers'
export const one = defineConfig(async () => ({ app: './app.ts', workers: 1, post_fork: ({ worker }) => void worker.id }));
`,
  'valid.ts': `import { defineConfig, definePreset, type UserConfig, type UserConfigFn } from 'hostd';
import kubernetes from 'hostd/presets/kubernetes';
export const a: UserConfig = defineConfig({ app: './app.ts', workers: 'auto', extends: [kubernetes()], env: { A: '1' } });
export const b: UserConfigFn = defineConfig(({ mode }) => ({ app: './app.ts', workers: mode === 'x' ? 1 : 'auto' }));
export const c: UserConfigFn = defineConfig(async () => ({ app: './app.ts', bind: [':0'] }));
export const d: Promise<UserConfig> = defineConfig(Promise.resolve({ workers: 1 }));
export const e: UserConfigFn = defineConfig(({ mode }) => {
  if (mode === 'production') return { workers: 'auto' as const };
  return { workers: 1, loglevel: 'debug' as const };
});
declare const fn: UserConfigFn;
declare const config: UserConfig;
export const f = [defineConfig(fn), defineConfig(config), definePreset({ name: 'acme', workers: 2 })];
`,
  // A preset's options are typed by its schema: a shipped preset's, and one made with definePreset.
  'preset-options.ts': `import { defineConfig, definePreset } from 'hostd';
import kubernetes from 'hostd/presets/kubernetes';
import * as z from 'zod';
const acme = definePreset('acme', z.object({ service: z.optional(z.string()) }), (options) => ({ proc_name: options.service ?? 'acme' }));
export default defineConfig({
  extends: [
    kubernetes({ drain_delay: 3 }),
    kubernetes({ drain_dely: 3 }), // @error 'drain_dely'
    acme({ service: 'orders' }),
    acme({ servce: 'orders' }), // @error 'servce'
  ],
});
`,
  // Node's types come with hostd's declarations, with no \`types\` entry in tsconfig.json.
  'contexts.ts': `import { defineConfig } from 'hostd';
export default defineConfig({
  pre_request: ({ req, res }) => {
    const host: string | undefined = req.headers.host;
    const port: number = req.headers.host; // @error 'string | undefined'
    void req.nope; // @error 'nope'
    res.setHeader('x-host', host ?? '');
  },
  child_exit: ({ exit_signal }) => {
    const signal: NodeJS.Signals | null = exit_signal;
    void signal;
  },
});
`,
};

/** The tsconfig a user writes first: no `types`, no `skipLibCheck`. */
const TSCONFIG = { compilerOptions: { strict: true, module: 'nodenext', noEmit: true }, include: ['*.ts'] };

interface Reported {
  readonly where: string;
  readonly text: string;
}

function expected(): Map<string, string> {
  const marks = new Map<string, string>();
  for (const [file, text] of Object.entries(FIXTURES)) {
    text.split('\n').forEach((line, index) => {
      const mark = /\/\/ @error (.+)$/.exec(line);
      if (mark) marks.set(`${file}:${index + 1}`, mark[1]!);
    });
  }
  return marks;
}

function parse(output: string): Reported[] {
  const errors: Reported[] = [];
  for (const line of output.split('\n')) {
    const head = /^(.+?)\((\d+),\d+\): error TS\d+: (.*)$/.exec(line);
    if (head) errors.push({ where: `${head[1]}:${head[2]}`, text: head[3]! });
    else if (line.startsWith(' ') && errors.length) errors[errors.length - 1] = { ...errors.at(-1)!, text: `${errors.at(-1)!.text}\n${line.trim()}` };
    else if (line.trim()) errors.push({ where: '(tsc)', text: line });
  }
  return errors;
}

describe.concurrent('type errors under each TypeScript', () => {
  const dir = project({ ...FIXTURES, 'tsconfig.json': JSON.stringify(TSCONFIG), 'app.ts': 'export default () => {};\n' });
  // Installed beside hostd as its peer dependency, as npm does.
  mkdirSync(join(dir, 'node_modules', '@types'));
  symlinkSync(join(REPO, 'node_modules', '@types', 'node'), join(dir, 'node_modules', '@types', 'node'), 'dir');
  // The schema library a preset author uses for its options.
  symlinkSync(join(REPO, 'node_modules', 'zod'), join(dir, 'node_modules', 'zod'), 'dir');

  for (const [version, bin] of Object.entries(TSC)) {
    it(`TypeScript ${version}: one error at each mistake, naming it, and none in hostd's declarations`, { timeout: 120_000 }, async () => {
      const tsc = join(REPO, 'node_modules', bin);
      const { stdout: ver } = await run(process.execPath, [tsc, '--version']);
      expect(ver).toContain(`Version ${version}`);
      const result = await run(process.execPath, [tsc, '-p', '.', '--pretty', 'false'], { cwd: dir }).then(
        (r) => r.stdout,
        (error: { stdout?: string; stderr?: string }) => `${error.stdout ?? ''}${error.stderr ?? ''}`,
      );
      const reported = parse(result);
      const marks = expected();
      const where = reported.map((r) => r.where).sort();
      expect(where, result).toEqual([...marks.keys()].sort());
      for (const error of reported) {
        expect(error.text, error.where).toContain(marks.get(error.where));
        expect(error.text).not.toMatch(/Function\.prototype\.bind|ThisParameterType|No overload matches/);
      }
    });
  }

  it('fixtures mark every mistake they make', () => {
    // Guards the fixtures themselves: a marker per mistake, and the valid file has none.
    expect(expected().size).toBe(14);
    expect(readFileSync(join(dir, 'valid.ts'), 'utf8')).not.toContain('@error');
  });
});
