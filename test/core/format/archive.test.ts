import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as fc from 'fast-check';
import { fileByteSource } from '../../../lib/adapters/file-source';
import {
  ARCHIVE_ERROR_CODES,
  DEFAULT_ARCHIVE_LIMITS,
  forEachArchiveEntry,
  readEntryBytes,
  type ArchiveEntry,
  type ArchiveReadOptions,
} from '../../../lib/core/format/archive';
import { bytesSource } from '../../../lib/core/format/byte-source';
import { crc32 } from '../../../lib/core/format/crc32';
import { isLupError, lupError } from '../../../lib/core/errors';
import type { ByteSource } from '../../../lib/core/ports';
import { countingSource, failingSource, noise, withTimeout, yazlZip, zeroStream } from '../../helpers/archive-sources';
import { rawZip, unicodePathExtra } from '../../helpers/raw-zip';

const FIXTURE_ROOT = join(__dirname, '..', '..', 'fixtures', 'defold-real', 'indiesoftby__defold-liveupdate-reszip');
const FIXTURE_ZIPS = (readdirSync(FIXTURE_ROOT, { recursive: true }) as string[])
  .filter((path) => path.endsWith('.zip'))
  .sort()
  .map((path) => join(FIXTURE_ROOT, path));
const MANIFEST = 'liveupdate.game.dmanifest';
const KEY = 'staging/g1/u7/resources.zip';

interface ReadEntry {
  readonly name: string;
  readonly index: number;
  readonly bytes: Uint8Array;
}

/** Reads every entry fully; resolves with the entries or rejects with what the walk threw. */
async function readAll(zip: Uint8Array | ByteSource, options: ArchiveReadOptions = {}) {
  const source = zip instanceof Uint8Array ? bytesSource(zip) : zip;
  const entries: ReadEntry[] = [];
  const summary = await forEachArchiveEntry(
    source,
    async (entry) => {
      entries.push({ name: entry.name, index: entry.index, bytes: await readEntryBytes(entry, Number.MAX_SAFE_INTEGER) });
    },
    { location: { key: KEY }, ...options },
  );
  return { entries, summary };
}

/** Walks without reading any entry data; resolves with the names the visitor saw. */
async function listNames(zip: Uint8Array, options: ArchiveReadOptions = {}): Promise<string[]> {
  const names: string[] = [];
  await forEachArchiveEntry(bytesSource(zip), async (entry) => void names.push(entry.name), { location: { key: KEY }, ...options });
  return names;
}

/** The offset of an entry's file data in a zip, found through its local header. */
function fileDataOffset(zip: Buffer, name: string): number {
  const signature = Buffer.from([0x50, 0x4b, 0x03, 0x04]);
  for (let at = zip.indexOf(signature); at >= 0; at = zip.indexOf(signature, at + 4)) {
    const nameLength = zip.readUInt16LE(at + 26);
    const extraLength = zip.readUInt16LE(at + 28);
    if (zip.toString('latin1', at + 30, at + 30 + nameLength) === name) return at + 30 + nameLength + extraLength;
  }
  throw new Error(`no local header for ${name}`);
}

describe(forEachArchiveEntry, () => {
  describe('real Defold archives', () => {
    it('finds the fixtures', () => {
      expect(FIXTURE_ZIPS.length).toBeGreaterThanOrEqual(3);
    });

    it.each(FIXTURE_ZIPS)('streams every entry of %s intact (SHA-1 of the payload is the name)', async (path) => {
      const source = await fileByteSource(path);
      try {
        const { entries, summary } = await readAll(source, { location: { file: path } });

        expect(entries).toHaveLength(8);
        expect(summary).toEqual({
          entryCount: 8,
          totalUncompressedBytes: entries.reduce((sum, entry) => sum + entry.bytes.length, 0),
        });
        expect(entries.filter((entry) => entry.name === MANIFEST)).toHaveLength(1);
        const resources = entries.filter((entry) => entry.name !== MANIFEST);
        expect(resources).toHaveLength(7);
        for (const resource of resources) {
          expect(resource.name).toMatch(/^[0-9a-f]{40}$/);
          expect(createHash('sha1').update(resource.bytes.subarray(16)).digest('hex')).toBe(resource.name);
        }
        expect(entries.map((entry) => entry.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      } finally {
        await source.close();
      }
    });

    it('reads the same bytes from memory as from the file', async () => {
      const fromFile = await fileByteSource(FIXTURE_ZIPS[0]!);
      try {
        const digests = ({ entries }: { entries: ReadEntry[] }) =>
          entries.map((entry) => [entry.name, createHash('sha256').update(entry.bytes).digest('hex')]);
        const a = await readAll(fromFile);
        const b = await readAll(readFileSync(FIXTURE_ZIPS[0]!));
        expect(digests(b)).toEqual(digests(a));
      } finally {
        await fromFile.close();
      }
    });

    it('coalesces the small metadata reads into a few range requests', async () => {
      // GIVEN a source that counts range requests (each one is an S3 GET in production)
      const source = countingSource(bytesSource(readFileSync(FIXTURE_ZIPS[0]!)));

      await readAll(source);

      // THEN the directory, the headers and the 6 small entries share read-ahead windows
      expect(source.reads.length).toBeLessThanOrEqual(4);
    });

    it('reads Zip64 archives', async () => {
      const content = noise(100_000, 5);
      const zip = await yazlZip([{ name: 'a', content }, { name: 'b', content: Buffer.from('bee'), compress: false }], { forceZip64Format: true });

      const { entries } = await readAll(zip);

      expect(entries.map((entry) => [entry.name, Buffer.from(entry.bytes).toString('base64')])).toEqual([
        ['a', content.toString('base64')],
        ['b', Buffer.from('bee').toString('base64')],
      ]);
    });

    it('visits entries the visitor ignores without reading their data', async () => {
      const zip = readFileSync(FIXTURE_ZIPS[0]!);
      const source = countingSource(bytesSource(zip));

      const summary = await forEachArchiveEntry(source, async () => undefined);

      expect(summary.entryCount).toBe(8);
      const bytesRead = source.reads.reduce((sum, [start, end]) => sum + end - start, 0);
      expect(bytesRead).toBeLessThan(zip.length / 10);
    });
  });

  describe('zip bombs', () => {
    it('refuses an entry whose compression ratio is extreme, before inflating it', async () => {
      const zip = await yazlZip([{ name: 'bomb', content: Buffer.alloc(10 * 1024 * 1024) }]);
      const visited: string[] = [];

      const walk = forEachArchiveEntry(bytesSource(zip), async (entry) => void visited.push(entry.name), { location: { key: KEY } });

      await expect(walk).rejects.toMatchObject({
        code: 'ARCHIVE_RATIO_EXCEEDED',
        location: { key: KEY, entry: 'bomb', field: 'entries[0]' },
        expected: 'ratio at most 200',
        actual: expect.stringMatching(/^ratio \d+/),
      });
      expect(visited).toEqual([]);
    });

    it('accepts small, highly compressible entries (below the ratio floor)', async () => {
      const zip = await yazlZip([{ name: 'zeros.bin', content: Buffer.alloc(60 * 1024) }]);

      const { entries } = await readAll(zip);

      expect(entries[0]!.bytes).toEqual(new Uint8Array(60 * 1024));
    });

    it('refuses an entry declaring a huge uncompressed size, before reading it', async () => {
      // GIVEN 1 KiB of deflate data that claims to expand to almost 4 GiB
      const zip = rawZip([{ name: 'huge', method: 8, fileData: noise(1024), uncompressedSize: 0xfffffff0 }]);

      await expect(listNames(zip, { limits: { maxRatio: Number.MAX_SAFE_INTEGER } })).rejects.toMatchObject({
        code: 'ARCHIVE_ENTRY_TOO_LARGE',
        location: { key: KEY, entry: 'huge' },
        expected: `at most ${512 * 1024 * 1024} bytes`,
        actual: `${0xfffffff0} bytes (declared)`,
      });
    });

    it('stops an entry that inflates past its declared size, before the excess reaches the visitor', async () => {
      const content = Buffer.alloc(100_000, 7);
      const zip = rawZip([{ name: 'liar', method: 8, content, uncompressedSize: 1000, crc32: crc32(content.subarray(0, 1000)) }]);
      let seen = 0;

      const walk = forEachArchiveEntry(bytesSource(zip), async (entry) => {
        for await (const chunk of entry.open()) seen += chunk.length;
      });

      await expect(walk).rejects.toMatchObject({
        code: 'ARCHIVE_ENTRY_CORRUPT',
        location: { entry: 'liar' },
        expected: '1000 bytes (declared)',
        actual: expect.stringMatching(/^at least \d+ bytes$/),
      });
      expect(seen).toBeLessThanOrEqual(1000);
    });

    it('reports an entry that inflates past the per-entry limit as too large', async () => {
      const content = Buffer.alloc(100_000, 7);
      const zip = rawZip([{ name: 'liar', method: 8, content, uncompressedSize: 1000 }]);

      await expect(readAll(zip, { limits: { maxEntryBytes: 4096 } })).rejects.toMatchObject({
        code: 'ARCHIVE_ENTRY_TOO_LARGE',
        location: { entry: 'liar' },
        expected: 'at most 4096 bytes',
        actual: expect.stringMatching(/^at least \d+ bytes$/),
      });
    });

    it('refuses an archive whose entries add up past the total limit', async () => {
      const zip = await yazlZip([
        { name: 'a', content: noise(4000, 1) },
        { name: 'b', content: noise(4000, 2) },
        { name: 'c', content: noise(4000, 3) },
      ]);

      await expect(listNames(zip, { limits: { maxTotalBytes: 10_000 } })).rejects.toMatchObject({
        code: 'ARCHIVE_TOO_LARGE',
        location: { entry: 'c', field: 'entries[2]' },
        expected: 'at most 10000 bytes in total',
        actual: '12000 bytes',
      });
    });

    it('refuses too many entries from the end record alone, before reading any entry', async () => {
      // GIVEN 50 entries of 4 KiB, so the entries lie outside the single tail read
      const zip = await yazlZip(Array.from({ length: 50 }, (_, i) => ({ name: `e${i}`, content: noise(4096, i + 1), compress: false })));
      const source = countingSource(bytesSource(zip));
      const visited: string[] = [];

      const walk = forEachArchiveEntry(source, async (entry) => void visited.push(entry.name), { limits: { maxEntries: 10 }, location: { key: KEY } });

      await expect(walk).rejects.toMatchObject({
        code: 'ARCHIVE_TOO_MANY_ENTRIES',
        location: { key: KEY },
        expected: 'at most 10 entries',
        actual: '50 entries',
      });
      expect(visited).toEqual([]);
      expect(source.reads).toHaveLength(1);
      expect(source.reads[0]![1]).toBe(zip.length);
    });

    it('refuses a Zip64 record declaring a billion entries, with the default limits', async () => {
      const zip = rawZip([{ name: 'a', content: Buffer.from('x') }], { zip64EntryCount: 1_000_000_000, declaredEntryCount: 0xffff });

      await expect(listNames(zip)).rejects.toMatchObject({
        code: 'ARCHIVE_TOO_MANY_ENTRIES',
        expected: `at most ${DEFAULT_ARCHIVE_LIMITS.maxEntries} entries`,
        actual: '1000000000 entries',
      });
    });
  });

  describe('entry names', () => {
    const unsafe: Array<[string, string | Uint8Array]> = [
      ['an absolute path', '/etc/passwd'],
      ['a drive letter', 'C:/Windows/evil.dll'],
      ['a drive-relative path', 'c:evil'],
      ['a ".." segment', '../outside'],
      ['a ".." segment in the middle', 'a/../../outside'],
      ['a backslash', 'a\\..\\outside'],
      ['a NUL byte', 'ok.txt\0.exe'],
      ['a control character', 'line\nbreak'],
      ['an empty name', ''],
      ['a "." segment', './x'],
      ['an empty segment', 'a//b'],
      ['a directory with a ".." segment', '../'],
      ['invalid UTF-8 under the UTF-8 flag', new Uint8Array([0x61, 0xff, 0x62])],
    ];

    it.each(unsafe)('refuses %s', async (_rule, name) => {
      const zip = rawZip([
        { name: 'fine', content: Buffer.from('ok') },
        { name, flags: 0x800, content: Buffer.from('evil') },
      ]);
      const visited: string[] = [];

      const walk = forEachArchiveEntry(bytesSource(zip), async (entry) => void visited.push(entry.name), { location: { key: KEY } });

      await expect(walk).rejects.toMatchObject({
        code: 'ARCHIVE_ENTRY_NAME_UNSAFE',
        location: { key: KEY, field: 'entries[1]', entry: expect.any(String) },
        actual: expect.any(String),
      });
      expect(visited).toEqual(['fine']);
    });

    it('refuses a name whose Info-ZIP Unicode Path field says something else', async () => {
      const rawName = Buffer.from('innocent.txt');
      const zip = rawZip([{ name: rawName, flags: 0, extra: unicodePathExtra(rawName, '../evil.txt'), content: Buffer.from('x') }]);

      await expect(listNames(zip)).rejects.toMatchObject({
        code: 'ARCHIVE_ENTRY_NAME_UNSAFE',
        message: expect.stringContaining('../evil.txt'),
      });
    });

    it('decodes names without the UTF-8 flag as CP437', async () => {
      const zip = rawZip([{ name: new Uint8Array([0x63, 0x61, 0x66, 0x82]), flags: 0, content: Buffer.from('x') }]);

      expect(await listNames(zip)).toEqual(['café']);
    });

    it('skips directory entries but visits the files inside them', async () => {
      const zip = await yazlZip([{ name: 'levels', directory: true }, { name: 'levels/one.json', content: Buffer.from('{}') }]);

      const { entries, summary } = await readAll(zip);

      expect(entries.map(({ name, index }) => ({ name, index }))).toEqual([{ name: 'levels/one.json', index: 1 }]);
      expect(summary).toEqual({ entryCount: 1, totalUncompressedBytes: 2 });
    });

    it('refuses a name that appears twice', async () => {
      const zip = rawZip([
        { name: MANIFEST, content: Buffer.from('first') },
        { name: 'other', content: Buffer.from('x') },
        { name: MANIFEST, content: Buffer.from('second') },
      ]);

      await expect(listNames(zip)).rejects.toMatchObject({
        code: 'ARCHIVE_DUPLICATE_ENTRY',
        location: { key: KEY, entry: MANIFEST, field: 'entries[2]' },
        actual: 'entries 0 and 2',
      });
    });
  });

  describe('unreadable and corrupt archives', () => {
    const fixture = readFileSync(FIXTURE_ZIPS[0]!);

    it.each([0, 1, 21, 1000, Math.floor(fixture.length / 2), fixture.length - 100, fixture.length - 22, fixture.length - 1])(
      'refuses the fixture cut after %i bytes',
      async (cut) => {
        await expect(readAll(fixture.subarray(0, cut))).rejects.toMatchObject({ code: 'ARCHIVE_UNREADABLE', location: { key: KEY } });
      },
    );

    it('refuses the fixture with its first bytes cut off', async () => {
      await expect(readAll(fixture.subarray(100))).rejects.toMatchObject({ code: 'ARCHIVE_UNREADABLE' });
    });

    it('refuses bytes that are not a zip', async () => {
      await expect(readAll(Buffer.from('<html>Not Found</html>'))).rejects.toMatchObject({
        code: 'ARCHIVE_UNREADABLE',
        message: expect.stringContaining('not a zip file'),
      });
    });

    it('reports a flipped byte in deflate data as a corrupt entry', async () => {
      const big = '65c1dbf250ffdea5e563e83f203c2373b5b01910';
      const original = readFileSync(FIXTURE_ZIPS.find((path) => path.includes('89185263829a'))!);
      const start = fileDataOffset(original, big);
      for (const delta of [10, 5_000, 100_000, 1_000_000]) {
        const zip = Buffer.from(original);
        zip[start + delta] ^= 0x10;

        await expect(readAll(zip)).rejects.toMatchObject({ code: 'ARCHIVE_ENTRY_CORRUPT', location: { entry: big } });
      }
    });

    it('reports a flipped byte in stored data as a CRC mismatch', async () => {
      const content = Buffer.from('hello, stored world');
      const zip = rawZip([{ name: 'stored.txt', content }]);
      zip[fileDataOffset(zip, 'stored.txt') + 3] ^= 0x01;

      await expect(readAll(zip)).rejects.toMatchObject({
        code: 'ARCHIVE_ENTRY_CORRUPT',
        location: { entry: 'stored.txt' },
        expected: `CRC-32 ${crc32(content).toString(16).padStart(8, '0')} (declared)`,
      });
    });

    it('reports data shorter than declared as a corrupt entry', async () => {
      const zip = rawZip([{ name: 'short', method: 8, content: Buffer.alloc(500, 1), uncompressedSize: 600 }]);

      await expect(readAll(zip)).rejects.toMatchObject({ code: 'ARCHIVE_ENTRY_CORRUPT', expected: '600 bytes (declared)', actual: '500 bytes' });
    });

    it('refuses a stored entry whose two sizes disagree', async () => {
      const zip = rawZip([{ name: 's', content: Buffer.from('abc'), uncompressedSize: 2 }]);

      await expect(listNames(zip)).rejects.toMatchObject({ code: 'ARCHIVE_ENTRY_CORRUPT', location: { entry: 's' } });
    });

    it('refuses encrypted entries with a clear message', async () => {
      const zip = rawZip([{ name: 'secret', content: Buffer.alloc(12 + 5), flags: 0x801, uncompressedSize: 5 }]);

      await expect(listNames(zip)).rejects.toMatchObject({
        code: 'ARCHIVE_UNREADABLE',
        location: { entry: 'secret' },
        message: expect.stringContaining('encrypted'),
      });
    });

    it('refuses compression methods other than stored and deflate', async () => {
      const zip = rawZip([{ name: 'x.bz2', method: 12, content: Buffer.from('BZh9') }]);

      await expect(listNames(zip)).rejects.toMatchObject({ code: 'ARCHIVE_UNREADABLE', actual: 'compression method 12' });
    });

    it('passes a LupError from the source through unchanged', async () => {
      const storeDown = lupError({ code: 'STORE_UNAVAILABLE', message: 'S3 is down' });
      const source = failingSource(bytesSource(fixture), fixture.length / 2, storeDown);

      await expect(readAll(source)).rejects.toBe(storeDown);
    });

    it('wraps any other source failure, keeping it as the cause', async () => {
      const boom = new Error('ECONNRESET');
      const source = failingSource(bytesSource(fixture), fixture.length / 2, boom);

      const error = await readAll(source).then(
        () => undefined,
        (e: unknown) => e,
      );

      expect(error).toMatchObject({ code: 'ARCHIVE_UNREADABLE', actual: 'ECONNRESET', cause: boom });
    });

    it('refuses a source that returns fewer bytes than asked for', async () => {
      const inner = bytesSource(fixture);
      const short: ByteSource = {
        sizeBytes: inner.sizeBytes,
        async *read(start, end) {
          yield* inner.read(start, Math.max(start, end - 1));
        },
      };

      await expect(readAll(short)).rejects.toMatchObject({ code: 'ARCHIVE_UNREADABLE' });
    });
  });

  describe('the visitor contract', () => {
    // 'a' is larger than the entries read in one piece, so it streams in chunks.
    const zipPromise = yazlZip([
      { name: 'a', content: noise(3_000_000, 1) },
      { name: 'b', content: noise(1000, 2) },
    ]);

    it('closes a stream the visitor abandons and goes on with the next entry', async () => {
      const zip = await zipPromise;
      const seen: Array<[string, number]> = [];

      await forEachArchiveEntry(bytesSource(zip), async (entry) => {
        let bytes = 0;
        for await (const chunk of entry.open()) {
          bytes += chunk.length;
          if (entry.name === 'a') break;
        }
        seen.push([entry.name, bytes]);
      });

      expect(seen[0]![1]).toBeLessThan(3_000_000);
      expect(seen[1]).toEqual(['b', 1000]);
    });

    it('fails the walk when a stream failed, even if the visitor swallowed the error', async () => {
      const zip = rawZip([{ name: 'bad', content: Buffer.from('data'), crc32: 1234 }]);

      const walk = forEachArchiveEntry(bytesSource(zip), async (entry) => {
        await readEntryBytes(entry, 100).catch(() => undefined);
      });

      await expect(walk).rejects.toMatchObject({ code: 'ARCHIVE_ENTRY_CORRUPT', location: { entry: 'bad' } });
    });

    it('wraps a plain error thrown by the visitor as INTERNAL, keeping the cause', async () => {
      const zip = await zipPromise;
      const bug = new TypeError('oops');

      const error = await forEachArchiveEntry(bytesSource(zip), async () => {
        throw bug;
      }).then(
        () => undefined,
        (e: unknown) => e,
      );

      expect(error).toMatchObject({ code: 'INTERNAL', location: { entry: 'a' }, cause: bug });
    });

    it('refuses to open an entry after its visitor returned', async () => {
      const zip = await zipPromise;
      const kept: ArchiveEntry[] = [];
      await forEachArchiveEntry(bytesSource(zip), async (entry) => void kept.push(entry));

      expect(() => kept[0]!.open()).toThrow(expect.objectContaining({ code: 'INTERNAL' }));
    });

    it('fails a read the visitor did not wait for, without blaming the archive', async () => {
      const zip = await zipPromise;
      let pending: Promise<unknown> | undefined;

      const summary = await forEachArchiveEntry(bytesSource(zip), async (entry) => {
        if (entry.name === 'a') pending = readEntryBytes(entry, 10_000_000).then(() => 'read', (error: unknown) => error);
      });

      expect(summary.entryCount).toBe(2);
      expect(await pending).toMatchObject({ code: 'INTERNAL', location: { entry: 'a' } });
    });

    it('reads an entry into memory only up to the given size', async () => {
      const zip = await zipPromise;

      const walk = forEachArchiveEntry(bytesSource(zip), async (entry) => void (await readEntryBytes(entry, 1000)));

      await expect(walk).rejects.toMatchObject({ code: 'ARCHIVE_ENTRY_TOO_LARGE', expected: 'at most 1000 bytes', actual: '3000000 bytes' });
    });

    it('refuses invalid limits, naming each one', async () => {
      const walk = forEachArchiveEntry(bytesSource(await zipPromise), async () => undefined, {
        limits: { maxEntries: -1, maxRatio: 0 },
      });

      await expect(walk).rejects.toMatchObject({
        code: 'CONFIG_INVALID',
        actual: 'limits.maxEntries = -1, limits.maxRatio = 0',
      });
    });
  });

  describe('robustness', () => {
    const fixture = readFileSync(FIXTURE_ZIPS[0]!);
    const archiveCodes = new Set<string>(ARCHIVE_ERROR_CODES);

    /** Runs a full read; resolves if it succeeded or failed with an ARCHIVE_* LupError. */
    async function endsCleanly(zip: Uint8Array): Promise<void> {
      try {
        await withTimeout(readAll(zip), 5_000, 'archive walk');
      } catch (error) {
        if (!isLupError(error) || !archiveCodes.has(error.code)) throw error;
      }
    }

    it('ends every run on random bytes in success or an ARCHIVE_* LupError', async () => {
      await fc.assert(
        fc.asyncProperty(fc.uint8Array({ maxLength: 4096 }), async (bytes) => {
          await endsCleanly(bytes);
        }),
        { numRuns: 200 },
      );
    });

    it('ends every run on random bytes behind a valid end record in success or an ARCHIVE_* LupError', async () => {
      // Random bytes alone almost never get past the end-record search; this reaches yauzl's
      // central directory and local header parsing.
      const tail = rawZip([{ name: 'a', content: Buffer.from('x') }]);
      await fc.assert(
        fc.asyncProperty(fc.uint8Array({ maxLength: 4096 }), fc.integer({ min: 0, max: 0xffff }), async (bytes, count) => {
          const eocd = Buffer.from(tail.subarray(tail.length - 22));
          eocd.writeUInt16LE(count, 10);
          eocd.writeUInt32LE(Math.min(bytes.length, count * 7), 16);
          await endsCleanly(Buffer.concat([bytes, eocd]));
        }),
        { numRuns: 200 },
      );
    });

    it('ends every run on mutations of a real archive in success or an ARCHIVE_* LupError', async () => {
      // Half the mutations hit the last 2 KiB (central directory and end record), where one byte
      // changes the most; the other half land anywhere.
      const position = fc.oneof(fc.integer({ min: fixture.length - 2048, max: fixture.length - 1 }), fc.integer({ min: 0, max: fixture.length - 1 }));
      const mutation = fc.oneof(
        fc.record({ kind: fc.constant('set' as const), at: position, value: fc.integer({ min: 0, max: 255 }) }),
        fc.record({ kind: fc.constant('cut' as const), at: position }),
        fc.record({ kind: fc.constant('insert' as const), at: position, value: fc.integer({ min: 0, max: 255 }) }),
      );
      await fc.assert(
        fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 4 }), async (mutations) => {
          let zip = Buffer.from(fixture);
          for (const m of mutations) {
            const at = Math.min(m.at, zip.length - 1);
            if (m.kind === 'set') zip[at] = m.value;
            else if (m.kind === 'cut') zip = zip.subarray(0, at);
            else zip = Buffer.concat([zip.subarray(0, at), Buffer.from([m.value]), zip.subarray(at)]);
            if (zip.length === 0) break;
          }
          await endsCleanly(zip);
        }),
        { numRuns: 200 },
      );
    });
  });

  describe('memory', () => {
    it('streams a 200 MB entry with bounded heap growth', async () => {
      // GIVEN a 200 MB entry generated by a stream (zeros: the zip itself is ~200 KB)
      const sizeBytes = 200 * 1024 * 1024;
      const zip = await yazlZip([{ name: 'large.bin', stream: () => zeroStream(sizeBytes), sizeBytes }]);
      const memory = () => {
        const usage = process.memoryUsage();
        return usage.heapUsed + usage.arrayBuffers;
      };
      const before = memory();
      let peak = before;
      let total = 0;
      let chunks = 0;

      // WHEN it is streamed (the ratio limit is raised: zeros compress ~1000:1)
      await forEachArchiveEntry(
        bytesSource(zip),
        async (entry) => {
          for await (const chunk of entry.open()) {
            total += chunk.length;
            if (++chunks % 64 === 0) peak = Math.max(peak, memory());
          }
        },
        { limits: { maxRatio: 10_000 } },
      );

      // THEN all bytes arrived and memory grew by far less than the entry's size
      expect(total).toBe(sizeBytes);
      expect(peak - before).toBeLessThan(64 * 1024 * 1024);
    });
  });
});
