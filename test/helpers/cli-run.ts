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

/** Run `lup ...argv` with `cwd` as the working folder. */
export async function lup(argv: readonly string[], cwd: string = process.cwd()): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
    isTTY: false,
    env: {},
    cwd,
  };
  const code = await runCli(argv, io);
  return { code, stdout, stderr };
}

/** Run `lup ...argv --json` and parse stdout. */
export async function lupJson<T>(argv: readonly string[], cwd?: string): Promise<{ code: number; json: T; stderr: string }> {
  const run = await lup([...argv, '--json'], cwd);
  return { code: run.code, json: JSON.parse(run.stdout) as T, stderr: run.stderr };
}
