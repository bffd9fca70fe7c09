/**
 * In-memory {@link ByteSource}: random access over bytes already held in memory (tests, small
 * uploads). For local files use `fileByteSource` in `lib/adapters/file-source.ts`; for S3 use
 * `ObjectStore.openRange`.
 */
import { lupError } from '../errors';
import type { ByteSource } from '../ports';

/**
 * The largest chunk one read yields. Callers see the same multi-chunk shape as from a file or a
 * network stream, so code that only works with one chunk fails in tests too.
 */
const CHUNK_BYTES = 64 * 1024;

/**
 * A {@link ByteSource} over `bytes`. The bytes are not copied: chunks are views into them, so do
 * not mutate `bytes` while a read is in progress.
 *
 * @example
 * const source = bytesSource(await readFile('resources.zip'));
 * await forEachArchiveEntry(source, async (entry) => { ... });
 */
export function bytesSource(bytes: Uint8Array): ByteSource {
  return {
    sizeBytes: bytes.byteLength,
    read(start: number, end: number): AsyncIterable<Uint8Array> {
      checkRange(start, end, bytes.byteLength);
      return chunksOf(bytes, start, end);
    },
  };
}

/**
 * Throws a `LupError` (`INTERNAL`) unless `[start, end)` is a valid range of a source of
 * `sizeBytes` bytes. A bad range is a bug in the caller, not a property of the data.
 */
export function checkRange(start: number, end: number, sizeBytes: number): void {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start || end > sizeBytes) {
    throw lupError({
      code: 'INTERNAL',
      message: 'A byte range outside the source was requested.',
      expected: `0 <= start <= end <= ${sizeBytes}`,
      actual: `start ${start}, end ${end}`,
    });
  }
}

async function* chunksOf(bytes: Uint8Array, start: number, end: number): AsyncGenerator<Uint8Array> {
  for (let at = start; at < end; at += CHUNK_BYTES) {
    yield bytes.subarray(at, Math.min(end, at + CHUNK_BYTES));
  }
}
