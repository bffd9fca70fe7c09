/** Entry of the `lup` command: parse argv, run the command, set the exit code. */
import { processIo } from '../lib/cli/io';
import { runCli } from '../lib/cli/run';

// `lup ... | head` closes the pipe early: that is the reader's choice, not a failure.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

runCli(process.argv.slice(2), processIo()).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`lup: ${String(error)}\n`);
    process.exitCode = 1;
  },
);
