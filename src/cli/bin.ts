#!/usr/bin/env node
/**
 * The `hostd` command, built as CommonJS (dist/bin.cjs): a bare `--version` or `--help` is
 * answered before anything else loads, since scripts and people run them most and the whole
 * CLI (commander, zod, the settings table) costs a few times a bare Node start. CommonJS,
 * because Node starts an ES module's loader for an .mjs or "type": "module" entry, about 10 ms
 * more. Everything else goes to the whole CLI (dist/cli.js); the help text is its own, saved
 * at build time.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { VERSION } from '../version.ts';
import { dropOutputToClosedPipes } from './output.ts';

const args = process.argv.slice(2);
const only = args.length === 1 ? args[0] : undefined;

function answer(): boolean {
  dropOutputToClosedPipes();
  if (only === '--version' || only === '-V') {
    process.stdout.write(`${VERSION}\n`);
    return true;
  }
  if (only === '--help' || only === '-h') {
    try {
      process.stdout.write(readFileSync(join(__dirname, 'help.txt'), 'utf8'));
      return true;
    } catch {
      // Not built yet: the whole CLI answers.
    }
  }
  return false;
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
