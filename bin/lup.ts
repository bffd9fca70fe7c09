/** Entry of the `lup` command: parse argv, run the command, set the exit code. */
import { processIo } from '../lib/cli/io';
import { runCli } from '../lib/cli/run';

runCli(process.argv.slice(2), processIo()).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`lup: ${String(error)}\n`);
    process.exitCode = 1;
  },
);
