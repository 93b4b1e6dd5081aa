#!/usr/bin/env node
/**
 * `onceflow`: the operator's command line. See `onceflow --help` and the README, "Operate".
 */
import { runCli } from './program.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

process.exitCode = await runCli(process.argv.slice(2), {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  errIsTerminal: process.stderr.isTTY === true,
  environment: process.env,
  stdin: process.stdin,
  now: Date.now,
});
