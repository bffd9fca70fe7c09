/**
 * A {@link ByteSource} that hashes the whole object as a side effect of the reads made through it,
 * so that verifying an archive and computing its SHA-256 read the bytes once, not twice.
 *
 * Every chunk that a reader receives is checked against a cursor: the bytes that extend the
 * hashed prefix `[0, cursor)` are fed to the hasher, anything else (behind the cursor, or ahead of
 * it with a gap) is ignored. The zip reader reads the central directory at the end first and then
 * the entries front to back, each window starting where the previous entry's data ended, so for
 * archives as bob writes them the cursor sweeps the whole object during verification and
 * {@link HashingSource.digest} only reads the central directory again. Whatever the reads
 * skipped (gaps, entries read out of order, an archive that was refused half-way) is read by
 * `digest()` itself: the result is always the hash of every byte, in order.
 */
import type { Hash } from 'node:crypto';
import type { ByteSource } from '../ports';
import { createHasher, type HashAlgorithm } from './digest';

/** A source that hashes what is read through it; see the module comment. */
export interface HashingSource extends ByteSource {
  /**
   * The digest (lowercase hex) of the whole source. Reads what the earlier reads did not cover,
   * from the cursor to the end. Call once, after the reads through the source are done.
   */
  digest(): Promise<string>;
  /** How many bytes `digest()` had to read itself (0 when the reads covered everything); for benchmarks. */
  readonly extraBytesRead: number;
}

/** Wrap `source` so that reads through it also hash it with `algorithm`. */
export function hashingSource(source: ByteSource, algorithm: HashAlgorithm): HashingSource {
  const hasher: Hash = createHasher(algorithm);
  let cursor = 0;
  let extra = 0;
  let finished = false;
  const observe = (start: number, chunk: Uint8Array): void => {
    // A read still in flight after digest() (a zip reader's read-ahead) adds nothing.
    if (finished) return;
    const end = start + chunk.byteLength;
    if (start <= cursor && end > cursor) {
      hasher.update(chunk.subarray(cursor - start));
      cursor = end;
    }
  };
  return {
    sizeBytes: source.sizeBytes,
    read(start: number, end: number): AsyncIterable<Uint8Array> {
      const chunks = source.read(start, end);
      return {
        async *[Symbol.asyncIterator]() {
          let at = start;
          for await (const chunk of chunks) {
            observe(at, chunk);
            at += chunk.byteLength;
            yield chunk;
          }
        },
      };
    },
    async digest(): Promise<string> {
      if (cursor < source.sizeBytes) {
        extra += source.sizeBytes - cursor;
        let at = cursor;
        for await (const chunk of source.read(cursor, source.sizeBytes)) {
          observe(at, chunk);
          at += chunk.byteLength;
        }
      }
      finished = true;
      return hasher.digest('hex');
    },
    get extraBytesRead() {
      return extra;
    },
  };
}
