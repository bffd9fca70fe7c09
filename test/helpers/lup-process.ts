/**
 * How tests run `lup` as a separate process from the checkout: the TypeScript entry through tsx,
 * so a test never runs a stale `dist/` (test/package/ runs the built, packed and installed one).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** The project root. */
export const ROOT = join(__dirname, '..', '..');

/** `spawn(process.execPath, [...LUP_NODE_ARGS, 'local', ...])` runs `lup local` from the sources. */
export const LUP_NODE_ARGS: readonly string[] = ['--import', 'tsx', join(ROOT, 'bin', 'lup.ts')];

/** A `lup local` started as its own process, with the endpoints it printed. */
export interface LupLocalProcess {
  readonly child: ChildProcessWithoutNullStreams;
  readonly s3: string;
  readonly cdn: string;
  /** What it wrote to stderr so far. */
  stderr(): string;
}

/** Start `lup local --json --quiet` on ephemeral ports over `dataDir`; fails with its stderr if it exits first. */
export async function startLupLocal(dataDir: string, extra: readonly string[] = []): Promise<LupLocalProcess> {
  const child = spawn(process.execPath, [...LUP_NODE_ARGS, 'local', '--data-dir', dataDir, '--s3-port', '0', '--cdn-port', '0', '--json', '--quiet', ...extra], { cwd: ROOT });
  let err = '';
  child.stderr.on('data', (c) => { err += c; });
  const lines = createInterface({ input: child.stdout });
  const ready = await new Promise<{ s3: string; cdn: string }>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`lup local exited early with ${code}: ${err}`)));
    lines.once('line', (line) => resolve(JSON.parse(line) as { s3: string; cdn: string }));
  });
  return { child, ...ready, stderr: () => err };
}

/** Stop a `lup local` process with Ctrl-C and wait for it; one that never started, or already ended, is left alone. */
export async function stopLupLocal(running: LupLocalProcess | undefined): Promise<void> {
  if (!running || running.child.exitCode !== null) return;
  const exited = new Promise((resolve) => running.child.once('exit', resolve));
  running.child.kill('SIGINT');
  await exited;
}
