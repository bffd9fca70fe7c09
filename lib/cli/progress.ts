/**
 * Progress bars for long commands: drawn on stderr only on an interactive terminal and never with
 * `--json`, so CI logs and machine output stay clean.
 */
import { SingleBar } from 'cli-progress';
import type { CliIo } from './io';

/** A byte progress bar, or a no-op when not drawing. */
export interface ByteProgress {
  update(loadedBytes: number, totalBytes: number, label: string): void;
  stop(): void;
}

function formatMegabytes(bytes: number): string {
  return `${(bytes / 1_048_576).toFixed(1)} MB`;
}

/** A progress bar on stderr when `io` is a TTY and the output is for humans. */
export function byteProgress(io: CliIo, enabled: boolean): ByteProgress {
  if (!enabled || !io.isTTY) return { update: () => undefined, stop: () => undefined };
  const bar = new SingleBar({
    format: '{label} [{bar}] {percentage}% | {loadedText} / {totalText}',
    barCompleteChar: '█',
    barIncompleteChar: '░',
    hideCursor: true,
    stream: process.stderr,
  });
  let started = false;
  return {
    update(loadedBytes, totalBytes, label) {
      const payload = { label: label.padEnd(10), loadedText: formatMegabytes(loadedBytes), totalText: formatMegabytes(totalBytes) };
      if (!started) {
        bar.start(Math.max(totalBytes, 1), loadedBytes, payload);
        started = true;
      } else {
        bar.setTotal(Math.max(totalBytes, 1));
        bar.update(loadedBytes, payload);
      }
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
