import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileByteSource } from '../../lib/adapters/file-source';
import { bytesSource } from '../../lib/core/format/byte-source';
import type { ByteSource } from '../../lib/core/ports';
import { noise } from '../helpers/archive-sources';

async function collect(source: ByteSource, start: number, end: number): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const chunk of source.read(start, end)) parts.push(chunk);
  return Buffer.concat(parts);
}

describe(fileByteSource, () => {
  const dir = mkdtempSync(join(tmpdir(), 'lup-file-source-'));
  const content = noise(300_000, 9);
  const path = join(dir, 'data.bin');
  writeFileSync(path, content);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads any range of the file, in chunks', async () => {
    const source = await fileByteSource(path);
    try {
      expect(source.sizeBytes).toBe(content.length);
      for (const [start, end] of [[0, 0], [0, 1], [5, 70_000], [123_456, 300_000], [0, 300_000]] as const) {
        expect((await collect(source, start, end)).equals(content.subarray(start, end))).toBe(true);
      }
    } finally {
      await source.close();
    }
  });

  it('refuses a range outside the file', async () => {
    const source = await fileByteSource(path);
    try {
      expect(() => source.read(10, content.length + 1)).toThrow(expect.objectContaining({ code: 'INTERNAL' }));
    } finally {
      await source.close();
    }
  });

  it('reports a missing file as INPUT_NOT_FOUND naming the path', async () => {
    const missing = join(dir, 'missing.zip');

    await expect(fileByteSource(missing)).rejects.toMatchObject({ code: 'INPUT_NOT_FOUND', location: { file: missing } });
  });

  it('reports a directory as INPUT_NOT_FOUND', async () => {
    await expect(fileByteSource(dir)).rejects.toMatchObject({ code: 'INPUT_NOT_FOUND', location: { file: dir } });
  });

  it('can be closed twice, and fails reads after closing', async () => {
    const source = await fileByteSource(path);
    await source.close();
    await source.close();

    await expect(collect(source, 0, 10)).rejects.toMatchObject({ code: 'INTERNAL', location: { file: path, offset: 0 } });
  });
});

describe(bytesSource, () => {
  it('reads any range, in chunks of at most 64 KiB', async () => {
    const content = noise(200_000, 3);
    const source = bytesSource(content);
    const sizes: number[] = [];
    for await (const chunk of source.read(1, 200_000)) sizes.push(chunk.length);

    expect(sizes).toEqual([65536, 65536, 65536, 3391]);
    expect((await collect(source, 70_000, 70_010)).equals(content.subarray(70_000, 70_010))).toBe(true);
  });

  it('refuses a range outside the bytes', () => {
    expect(() => bytesSource(new Uint8Array(4)).read(3, 2)).toThrow(expect.objectContaining({ code: 'INTERNAL' }));
  });
});
