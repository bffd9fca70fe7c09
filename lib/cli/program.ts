/**
 * The `lup` command line: one file per command under `lib/cli/`, registered here.
 */
import { Command } from 'commander';
import type { CliIo } from './io';
import packageJson from '../../package.json';

/** A command's registration: adds itself to the program and sets `state.exitCode` when it runs. */
export type CommandRegistration = (program: Command, io: CliIo, state: { exitCode: number }) => void;

const registrations: CommandRegistration[] = [];

/** Register a command (each command file calls this once, at import). */
export function registerCommand(registration: CommandRegistration): void {
  registrations.push(registration);
}

/** Build the program with every registered command. */
export function buildProgram(io: CliIo, state: { exitCode: number }): Command {
  const program = new Command('lup')
    .description('Publish Defold LiveUpdate content: validate it, publish it through the verifying pipeline, release, roll back and verify channels.')
    .version(packageJson.version, '-V, --version', 'print the version of lup')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .exitOverride();
  program.addHelpText('after', `
Examples:
  $ lup validate build/liveupdate_output/resources.zip --project-title "My Game"
  $ lup publish build/liveupdate_output/*.zip --game my-game --channel beta
  $ lup verify --game my-game --channel beta
Run "lup <command> --help" for each command's options.`);
  for (const register of registrations) register(program, io, state);
  for (const command of program.commands) command.exitOverride().configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  return program;
}

