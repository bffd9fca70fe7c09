/**
 * How commands talk to the terminal: injected, so tests run a command with argv and captured
 * output, and assert the exit code and the exact text.
 */

/** Exit codes of every `lup` command. */
export const EXIT = {
  /** Valid, live, done. */
  ok: 0,
  /** Invalid content, a refused release, a mismatch found by verify. */
  invalid: 1,
  /** Bad usage: unknown flag, missing argument, unreadable input path. */
  usage: 2,
} as const;

/** The terminal of one CLI run. */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** True when stderr is an interactive terminal (progress bars are drawn only then). */
  readonly isTTY: boolean;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
}

/** The real process's terminal. */
export function processIo(): CliIo {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    isTTY: Boolean(process.stderr.isTTY),
    env: process.env,
    cwd: process.cwd(),
  };
}

/** An error that ends a command with a usage exit code and a message naming the flag. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A line of advice for an error a user can fix on their side, or undefined. */
export function errorHint(error: { message: string; cause?: unknown }): string | undefined {
  const text = `${error.message} ${String((error.cause as Error | undefined)?.message ?? '')}`;
  if (/ECONNREFUSED/.test(text)) return 'hint: nothing answers at that endpoint; is `lup local` running, or is --endpoint right?';
  if (/ENOTFOUND|EAI_AGAIN/.test(text)) return 'hint: the endpoint\'s host name does not resolve; check --endpoint and your network.';
  return undefined;
}
