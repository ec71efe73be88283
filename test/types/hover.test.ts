/**
 * The hover text of every hook, as an editor shows it: TypeScript 6's language service and
 * TypeScript 7's language server over the built declarations, on each hook key of a config
 * in the object and the function form. Each must open with a whole sentence saying where
 * and when the hook runs.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { HOOK_NAMES, HOOKS } from '../../src/config/settings.ts';
import { project, REPO } from '../helpers/project.ts';

const hooks = HOOK_NAMES.map((name) => `  ${name}: () => {},`).join('\n');
const FILES = {
  'object.ts': `import { defineConfig } from 'hostd';\nexport default defineConfig({\n${hooks}\n});\n`,
  'function.ts': `import { defineConfig } from 'hostd';\nexport default defineConfig(({ mode }) => ({\n${hooks}\n}));\n`,
};

function languageService(dir: string): ts.LanguageService {
  const options: ts.CompilerOptions = { strict: true, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, noEmit: true };
  const files = Object.keys(FILES).map((f) => join(dir, f));
  return ts.createLanguageService({
    getScriptFileNames: () => files,
    getScriptVersion: () => '1',
    getScriptSnapshot: (file) => (ts.sys.fileExists(file) ? ts.ScriptSnapshot.fromString(readFileSync(file, 'utf8')) : undefined),
    getCurrentDirectory: () => dir,
    getCompilationSettings: () => options,
    getDefaultLibFileName: (o) => ts.getDefaultLibFilePath(o),
    fileExists: ts.sys.fileExists,
    readFile: ts.sys.readFile,
    readDirectory: ts.sys.readDirectory,
    directoryExists: ts.sys.directoryExists,
    getDirectories: ts.sys.getDirectories,
    realpath: ts.sys.realpath!,
  });
}

function expectSentence(name: (typeof HOOK_NAMES)[number], doc: string): void {
  const first = doc.split('\n')[0]!;
  expect(first, name).toMatch(/^Runs in the (primary|worker) (before|after|when|once|on|as)\b.*\S\.$/);
  expect(first, name).toBe(`Runs in the ${HOOKS[name].runsIn} ${HOOKS[name].when}.`);
  expect(doc, name).not.toMatch(/ {2}|\.\.|\bthe the\b/);
}

describe('hook hover text', () => {
  const dir = project(FILES);
  const service = languageService(dir);

  for (const file of Object.keys(FILES)) {
    it(`is a sentence for every hook (${file})`, () => {
      const path = join(dir, file);
      const text = readFileSync(path, 'utf8');
      for (const name of HOOK_NAMES) {
        const info = service.getQuickInfoAtPosition(path, text.indexOf(`  ${name}:`) + 3);
        expectSentence(name, ts.displayPartsToString(info?.documentation));
      }
    });
  }
});

/** A minimal LSP client over stdio: requests in, responses matched by id; server requests answered with null. */
function languageServer(cwd: string) {
  const child = spawn(process.execPath, [join(REPO, 'node_modules', 'typescript-7', 'bin', 'tsc'), '--lsp', '--stdio'], { cwd, stdio: ['pipe', 'pipe', 'ignore'] });
  let buffer = Buffer.alloc(0);
  let nextId = 1;
  const waiting = new Map<number, (result: unknown) => void>();
  const send = (message: object) => {
    const body = Buffer.from(JSON.stringify({ jsonrpc: '2.0', ...message }));
    child.stdin.write(Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`), body]));
  };
  child.stdout.on('data', (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    for (;;) {
      const end = buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const length = Number(/Content-Length: (\d+)/i.exec(buffer.subarray(0, end).toString())![1]);
      if (buffer.length < end + 4 + length) return;
      const message = JSON.parse(buffer.subarray(end + 4, end + 4 + length).toString()) as { id?: number; method?: string; result?: unknown };
      buffer = buffer.subarray(end + 4 + length);
      if (message.method !== undefined && message.id !== undefined) send({ id: message.id, result: null });
      else if (message.id !== undefined) waiting.get(message.id)?.(message.result);
    }
  });
  return {
    request: (method: string, params: object) =>
      new Promise<unknown>((resolve) => {
        const id = nextId++;
        waiting.set(id, resolve);
        send({ id, method, params });
      }),
    notify: (method: string, params: object) => send({ method, params }),
    close: () => child.kill(),
  };
}

describe('hook hover text under TypeScript 7 (its language server)', () => {
  const dir = project(FILES);
  mkdirSync(join(dir, 'node_modules', '@types'));
  symlinkSync(join(REPO, 'node_modules', '@types', 'node'), join(dir, 'node_modules', '@types', 'node'), 'dir');

  it('is a sentence for every hook, in both forms', { timeout: 60_000 }, async () => {
    const server = languageServer(dir);
    try {
      const root = pathToFileURL(dir).href;
      await server.request('initialize', { processId: process.pid, rootUri: root, capabilities: { textDocument: { hover: { contentFormat: ['markdown'] } } }, workspaceFolders: [{ uri: root, name: 'fixture' }] });
      server.notify('initialized', {});
      for (const file of Object.keys(FILES)) {
        const uri = `${root}/${file}`;
        const text = readFileSync(join(dir, file), 'utf8');
        server.notify('textDocument/didOpen', { textDocument: { uri, languageId: 'typescript', version: 1, text } });
        const lines = text.split('\n');
        for (const name of HOOK_NAMES) {
          const line = lines.findIndex((l) => l.startsWith(`  ${name}:`));
          const hover = (await server.request('textDocument/hover', { textDocument: { uri }, position: { line, character: 3 } })) as { contents?: { value?: string } } | null;
          // The signature in a code block, then the doc.
          const doc = (hover?.contents?.value ?? '').replace(/^```[\s\S]*?```\n?/, '');
          expectSentence(name, doc);
        }
      }
    } finally {
      server.close();
    }
  });
});
