#!/usr/bin/env node
/**
 * The `hostd` command, built as CommonJS (dist/bin.cjs): a bare `--version` or `--help` is
 * answered before anything else loads, since scripts and people run them most and the whole
 * CLI (commander, zod, the settings table) costs a few times a bare Node start. CommonJS,
 * because Node starts an ES module's loader for an .mjs or "type": "module" entry, about 10 ms
 * more. Everything else goes to the whole CLI (dist/cli.js); the help text is its own, saved
 * at build time.
 */
import { readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { VERSION } from '../version.ts';

const args = process.argv.slice(2);
const only = args.length === 1 ? args[0] : undefined;

function answer(): boolean {
  if (only === '--version' || only === '-V') return print(`${VERSION}\n`);
  if (only === '--help' || only === '-h') {
    let help: string;
    try {
      help = readFileSync(join(__dirname, 'help.txt'), 'utf8');
    } catch {
      // Not built yet: the whole CLI answers.
      return false;
    }
    return print(help);
  }
  return false;
}

/**
 * Straight to stdout's descriptor: process.stdout is a stream built on first use (over a pipe,
 * a socket), which costs a start this short a few ms. A reader that went away (EPIPE) drops it
 * quietly, as the whole CLI does (dropOutputToClosedPipes in main.ts).
 */
function print(text: string): true {
  const bytes = Buffer.from(text);
  for (let at = 0; at < bytes.length; ) {
    try {
      at += writeSync(1, bytes, at);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // A full non-blocking pipe: the stream waits for it.
      if (code === 'EAGAIN') process.stdout.write(bytes.subarray(at));
      else if (code !== 'EPIPE') {
        process.stderr.write(`hostd: cannot write to standard output: ${(error as Error).message}\n`);
        process.exitCode = 1;
      }
      break;
    }
  }
  return true;
}

// dist/cli.js, beside this file once built; a specifier in a variable stays the runtime's to resolve.
const whole = './cli.js';
if (!answer()) {
  // Before the whole CLI loads, so that its code (and the primary's) is compiled from the cache.
  // Required here, not imported: --version and --help load nothing more.
  (require('../compile-cache.ts') as typeof import('../compile-cache.ts')).enableCompileCache(__dirname);
  // `hostd check` loads the app in a second process: started now, its Node start overlaps the CLI's own.
  // Required here, not imported: --version and --help do not load node:child_process.
  if (args[0] === 'check' && !args.some((arg) => arg === '--no-app' || arg === '--help' || arg === '-h')) {
    (require('./app-check-spawn.ts') as typeof import('./app-check-spawn.ts')).startAppCheckEarly(__dirname);
  }
  void import(whole);
}
