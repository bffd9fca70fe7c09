import { createHash, randomBytes } from 'node:crypto';
import { bytesSource } from '../../../lib/core/format/byte-source';
import { hashingSource } from '../../../lib/core/format/hashing-source';
import { verifyArchive } from '../../../lib/core/format/verify-archive';
import { createContent, planResources } from '../../../lib/factory/content-factory';
import { zipContent } from '../../../lib/factory/write-content';
import type { ByteSource } from '../../../lib/core/ports';

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** A source that records every byte range it was asked for. */
function recording(bytes: Uint8Array): { source: ByteSource; bytesRead: () => number } {
  const inner = bytesSource(bytes);
  let read = 0;
  return {
    source: { sizeBytes: inner.sizeBytes, read: (s, e) => { read += e - s; return inner.read(s, e); } },
    bytesRead: () => read,
  };
}

async function drain(source: ByteSource, start: number, end: number): Promise<void> {
  for await (const _ of source.read(start, end)) { /* consume */ }
}

describe('hashingSource', () => {
  const bytes = new Uint8Array(randomBytes(300_000));

  it('hashes the whole object when nothing was read through it', async () => {
    const { source, bytesRead } = recording(bytes);
    const hashing = hashingSource(source, 'sha256');
    expect(await hashing.digest()).toBe(sha256(bytes));
    expect(bytesRead()).toBe(bytes.length);
  });

  it('reads nothing more when the reads covered the object front to back', async () => {
    const { source, bytesRead } = recording(bytes);
    const hashing = hashingSource(source, 'sha256');
    await drain(hashing, 290_000, 300_000); // the tail first, as a zip reader does
    await drain(hashing, 0, 100_000);
    await drain(hashing, 50_000, 200_000); // overlapping
    await drain(hashing, 200_000, 300_000);
    expect(await hashing.digest()).toBe(sha256(bytes));
    expect(bytesRead()).toBe(10_000 + 100_000 + 150_000 + 100_000);
    expect(hashing.extraBytesRead).toBe(0);
  });

  it('fills a gap the reads left by reading from the gap to the end', async () => {
    const { source, bytesRead } = recording(bytes);
    const hashing = hashingSource(source, 'sha256');
    await drain(hashing, 0, 100_000);
    await drain(hashing, 150_000, 300_000); // ahead of the cursor: not hashed
    expect(await hashing.digest()).toBe(sha256(bytes));
    expect(hashing.extraBytesRead).toBe(200_000);
    expect(bytesRead()).toBe(100_000 + 150_000 + 200_000);
  });

  it('gives the SHA-256 of a zip verified through it, reading it about once', async () => {
    const content = createContent({ seed: 7, resourceCount: 600, projectTitle: 'Hashing Source' });
    for (const compress of [false, true]) {
      const zip = new Uint8Array(await zipContent(content, { compress }));
      const { source, bytesRead } = recording(zip);
      const hashing = hashingSource(source, 'sha256');
      const report = await verifyArchive(hashing, { policy: {} });
      expect(report.errors).toEqual([]);
      expect(await hashing.digest()).toBe(sha256(zip));
      // The central directory is read twice (first by the zip reader, then to finish the hash); the entries once.
      expect(hashing.extraBytesRead).toBeLessThan(zip.length / 10);
      // Metadata read-ahead (64 KiB windows at the start and the end) re-reads a little.
      expect(bytesRead()).toBeLessThan(zip.length * 1.2 + 4 * 65_536);
      expect(zip.length).toBeGreaterThan(100_000);
    }
  });
});

describe('verifyArchive over many windows, read ahead, with ragged chunks', () => {
  it('checks every entry and hashes every byte whatever sizes the source yields chunks in', async () => {
    // About 12 MB: three data windows and more, so windows are read ahead and joined to the tail of the last.
    const specs = planResources({ seed: 3, resourceCount: 300, sizes: 'realistic', bundledFraction: 0, compressedFraction: 0 })
      .map((spec) => ({ ...spec, sizeBytes: spec.sizeBytes * 8 }));
    const content = createContent({ seed: 3, resources: specs, projectTitle: 'Ragged' });
    const zip = new Uint8Array(await zipContent(content, { compress: true }));
    expect(zip.length).toBeGreaterThan(9 * 1024 * 1024);
    let seed = 1;
    const ragged: ByteSource = {
      sizeBytes: zip.length,
      async *read(start, end) {
        for (let at = start; at < end;) {
          seed = (seed * 1103515245 + 12345) % 2 ** 31;
          const n = Math.min(end - at, 1 + (seed % 70_000));
          yield zip.slice(at, at + n); // fresh copies, as a network stream gives
          at += n;
        }
      },
    };
    const hashing = hashingSource(ragged, 'sha256');
    const report = await verifyArchive(hashing, { policy: {} });
    expect(report.errors).toEqual([]);
    expect(report.resourceCount).toBe(content.resources.length);
    expect(await hashing.digest()).toBe(sha256(zip));
  });
});
