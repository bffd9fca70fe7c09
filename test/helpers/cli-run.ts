/**
 * Runs `lup` in-process with argv and a captured terminal: the exit code, stdout and stderr.
 */
import type { CliIo } from '../../lib/cli/io';
import { runCli } from '../../lib/cli/run';

/** What one `lup` run produced. */
export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A captured terminal (not a TTY): what the command wrote, read with `out()` and `err()`. */
export function captureIo(cwd: string): CliIo & { out(): string; err(): string } {
  let out = '';
  let err = '';
  return {
    stdout: (text) => { out += text; },
    stderr: (text) => { err += text; },
    isTTY: false,
    env: {},
    cwd,
    out: () => out,
    err: () => err,
  };
}

/** Run `lup ...argv` with `cwd` as the working folder. */
export async function lup(argv: readonly string[], cwd: string = process.cwd()): Promise<CliRun> {
  const io = captureIo(cwd);
  const code = await runCli(argv, io);
  return { code, stdout: io.out(), stderr: io.err() };
}

/** Run `lup ...argv --json` and parse stdout. */
export async function lupJson<T>(argv: readonly string[], cwd?: string): Promise<{ code: number; json: T; stderr: string }> {
  const run = await lup([...argv, '--json'], cwd);
  return { code: run.code, json: JSON.parse(run.stdout) as T, stderr: run.stderr };
}
