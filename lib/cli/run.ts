/**
 * Running `lup`: builds the program with every command and turns the outcome into an exit code.
 */
import { CommanderError } from 'commander';
import { formatError, isLupError } from '../core/errors';
import './commands';
import { EXIT, UsageError, errorHint, type CliIo } from './io';
import { buildProgram } from './program';

/** Run `lup` with argv (without node and script); resolves to the exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const state = { exitCode: EXIT.ok as number };
  const program = buildProgram(io, state);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return state.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return EXIT.ok;
      return EXIT.usage;
    }
    if (error instanceof UsageError) {
      io.stderr(`error: ${error.message}\n`);
      return EXIT.usage;
    }
    if (isLupError(error)) {
      io.stderr(`${formatError(error.toJSON())}\n`);
      const hint = errorHint(error);
      if (hint) io.stderr(`${hint}\n`);
      return error.code === 'USAGE_INVALID' || error.code === 'INPUT_NOT_FOUND' || error.code === 'CONFIG_INVALID' || error.code === 'DATA_DIR_IN_USE' ? EXIT.usage : EXIT.invalid;
    }
    io.stderr(`lup: unexpected failure: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
    return EXIT.invalid;
  }
}
