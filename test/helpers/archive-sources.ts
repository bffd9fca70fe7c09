/**
 * Test doubles around the `ByteSource` port and zips built with yazl.
 */
import { Readable } from 'node:stream';
import * as yazl from 'yazl';
import type { ByteSource } from '../../lib/core/ports';

/** A source that records every range read from `inner`. */
export function countingSource(inner: ByteSource): ByteSource & { readonly reads: Array<[number, number]> } {
  const reads: Array<[number, number]> = [];
  return {
    sizeBytes: inner.sizeBytes,
    reads,
    read(start: number, end: number) {
      reads.push([start, end]);
      return inner.read(start, end);
    },
  };
}

/** A source over `inner` whose reads fail with `error` once `failAtByte` bytes were passed. */
export function failingSource(inner: ByteSource, failAtByte: number, error: unknown): ByteSource {
  return {
    sizeBytes: inner.sizeBytes,
    async *read(start: number, end: number) {
      for await (const chunk of inner.read(start, end)) {
        if (end > failAtByte) throw error;
        yield chunk;
      }
    },
  };
}

/** One entry of {@link yazlZip}: a buffer, or a stream of known size. */
export type YazlEntry =
  | { readonly name: string; readonly content: Uint8Array; readonly compress?: boolean }
  | { readonly name: string; readonly stream: () => Readable; readonly sizeBytes: number; readonly compress?: boolean }
  | { readonly name: string; readonly directory: true };

/** Builds a well-formed zip with yazl (Zip64 records on request) and collects it into one buffer. */
export async function yazlZip(entries: readonly YazlEntry[], options: { forceZip64Format?: boolean } = {}): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  const forceZip64Format = options.forceZip64Format ?? false;
  for (const entry of entries) {
    if ('directory' in entry) zip.addEmptyDirectory(entry.name);
    else if ('content' in entry) zip.addBuffer(Buffer.from(entry.content), entry.name, { compress: entry.compress ?? true, forceZip64Format });
    else zip.addReadStream(entry.stream(), entry.name, { size: entry.sizeBytes, compress: entry.compress ?? true, forceZip64Format });
  }
  // @types/yazl marks both EndOptions fields required; yazl's own default comment is ''.
  zip.end({ forceZip64Format, comment: '' });
  const parts: Buffer[] = [];
  for await (const chunk of zip.outputStream as AsyncIterable<Buffer>) parts.push(chunk);
  return Buffer.concat(parts);
}

/** A stream of `sizeBytes` zero bytes, generated chunk by chunk (never held in memory at once). */
export function zeroStream(sizeBytes: number, chunkBytes = 1024 * 1024): Readable {
  const chunk = Buffer.alloc(chunkBytes);
  let left = sizeBytes;
  return new Readable({
    read() {
      if (left === 0) return void this.push(null);
      const n = Math.min(left, chunkBytes);
      left -= n;
      this.push(n === chunkBytes ? chunk : chunk.subarray(0, n));
    },
  });
}

/** Deterministic pseudo-random bytes (xorshift32), incompressible enough for deflate. */
export function noise(sizeBytes: number, seed = 1): Buffer {
  const out = Buffer.alloc(sizeBytes);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < sizeBytes; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Rejects with a message naming `label` if `promise` does not settle within `ms`. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, label: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${label}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
