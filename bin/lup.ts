#!/usr/bin/env node
/** Entry of the `lup` command: parse argv, run the command, set the exit code. */
import * as nodeModule from 'node:module';
import packageJson from '../package.json';

// Node 22.1+: keep V8's compiled code of lup and the AWS SDK between runs (a no-op on Node 20).
(nodeModule as { enableCompileCache?: () => unknown }).enableCompileCache?.();

// `lup ... | head` closes the pipe early: that is the reader's choice, not a failure.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  // CI scripts run `lup --version` to log the tool: answer without loading any command.
  process.stdout.write(`${packageJson.version}\n`);
} else {
  // Commands load what they need when they run (bench/startup.ts measures start-up).
  void import('../lib/cli/run').then(async ({ runCli }) => {
    const { processIo } = await import('../lib/cli/io');
    process.exitCode = await runCli(argv, processIo());
  }).catch((error: unknown) => {
    process.stderr.write(`lup: ${String(error)}\n`);
    process.exitCode = 1;
  });
}
