#!/usr/bin/env node
import { run } from './cli.js';

const code = await run(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env });
// Exit once stdout is flushed, without waiting for idle keep-alive connections to time out.
process.stdout.write('', () => process.exit(code));
