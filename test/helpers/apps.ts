/** Test apps and configs for `hostd run` tests. */
import { project } from './project.ts';
import { RECORD_MODULE } from './run.ts';

/**
 * A plain listener with routes a test can drive: `/slow?ms=` answers late, `/block?ms=`
 * blocks the event loop, `/throw` throws, `/env` shows GREETING, `/pid` the worker's pid.
 */
export const TEST_APP = `export default (req, res) => {
  const url = new URL(req.url, 'http://x');
  switch (url.pathname) {
    case '/slow': return void setTimeout(() => res.end('slow done'), Number(url.searchParams.get('ms') ?? 1000));
    case '/block': { const end = Date.now() + Number(url.searchParams.get('ms')); while (Date.now() < end); return void res.end('unblocked'); }
    case '/throw': throw new Error('app failure');
    case '/env': return void res.end(process.env.GREETING ?? 'none');
    case '/pid': return void res.end(String(process.pid));
    default: return void res.end('hello');
  }
};
`;

/** A hostd.config.ts recording every hook, serving TEST_APP on a free port, plus `body`. */
export function recordingConfig(body = '', head = ''): string {
  return `import { defineConfig } from 'hostd';
import { recorded, rec } from './record.ts';
${head}
export default defineConfig({
  app: './app.mjs',
  bind: '127.0.0.1:0',
  ...recorded,
  ${body}
});
`;
}

/** A project serving TEST_APP with a recording config. */
export function appProject(config = recordingConfig(), files: Record<string, string> = {}): string {
  return project({ 'app.mjs': TEST_APP, 'record.ts': RECORD_MODULE, 'hostd.config.ts': config, ...files });
}
