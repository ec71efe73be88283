#!/usr/bin/env node
/** The whole CLI: commander, the settings table, the commands. `hostd` (bin.ts) loads it for everything but a bare `--version` or `--help`. */
import { dropOutputToClosedPipes } from './output.ts';
import { main } from './program.ts';

dropOutputToClosedPipes();
process.exitCode = await main(process.argv.slice(2));
// A config can leave work behind (a timer, a socket, a promise past config_timeout); the command is done, so is the process.
setTimeout(() => process.exit(), 1000).unref();
