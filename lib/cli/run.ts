/**
 * Running `lup`: builds the program with every command and turns the outcome into an exit code.
 */
import { CommanderError, type Command } from 'commander';
import { closestName } from '../core/closest-name';
import { formatError, isLupError } from '../core/errors';
import './commands';
import { EXIT, UsageError, errorHint, type CliIo } from './io';
import { buildProgram } from './program';

/** With `--json`, a usage error is a JSON document on stdout too, so a CI script parsing stdout sees it. */
function printUsageJson(io: CliIo, argv: readonly string[], message: string): void {
  if (argv.includes('--json')) io.stdout(`${JSON.stringify({ ok: false, error: { code: 'USAGE_INVALID', message: message.replace(/^error: /, '') } }, null, 2)}\n`);
}

/**
 * A flag the command does not know but that is one or two letters from one it does (`--chanel`).
 * Commander reports a missing required option first, which hides the typo; name both.
 */
function misspeltFlag(program: Command, argv: readonly string[]): string | undefined {
  const command = program.commands.find((c) => c.name() === argv[0]);
  const known = [...(command?.options ?? []), ...program.options].map((o) => o.long).filter((l): l is string => !!l);
  for (const arg of argv) {
    const flag = arg.split('=')[0];
    if (!flag.startsWith('--') || known.includes(flag)) continue;
    const near = closestName(flag, known);
    if (near) return `error: unknown option '${flag}' (did you mean ${near}?)`;
  }
  return undefined;
}

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
      const misspelt = misspeltFlag(program, argv);
      if (misspelt) io.stderr(`${misspelt}\n`);
      printUsageJson(io, argv, misspelt ?? error.message);
      return EXIT.usage;
    }
    if (error instanceof UsageError) {
      io.stderr(`error: ${error.message}\n`);
      printUsageJson(io, argv, error.message);
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
