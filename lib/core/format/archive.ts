/**
 * Zip archives (Defold LiveUpdate "zip" mode) read entry by entry with bounded memory, over the
 * {@link ByteSource} port, so the same code reads a local file, an in-memory buffer or an S3
 * object through range requests.
 *
 * Mounted zips are not verified by the engine (defold/defold PR #7609): this reader is the gate.
 * It trusts nothing in the file: names, counts, sizes and checksums are checked here, and every
 * failure is a `LupError` with an `ARCHIVE_*` code.
 *
 * Parsing is delegated to yauzl, which follows the spec (central directory, not local headers).
 * @see https://github.com/thejoshwolfe/yauzl
 * @see https://pkware.cachefly.net/webdocs/casestudies/APPNOTE.TXT
 */
import { Readable } from 'node:stream';
import { inflateRawSync } from 'node:zlib';
import * as yauzl from 'yauzl';
import { crc32 } from './crc32';
import { isLupError, lupError, type ErrorCode, type ErrorLocation, type LupError } from '../errors';
import type { ByteSource } from '../ports';

/** Bounds that keep a hostile archive (zip bomb, entry flood) from exhausting memory or time. */
export interface ArchiveLimits {
  /**
   * Most entries (central directory records, directories included) an archive may hold. Checked
   * against the end-of-central-directory record before any entry is read.
   * @default 100_000
   */
  readonly maxEntries: number;
  /**
   * Largest uncompressed size of one entry, in bytes, declared or actual.
   * @default 512 MiB
   */
  readonly maxEntryBytes: number;
  /**
   * Largest sum of the uncompressed sizes of all file entries, in bytes.
   * @default 4 GiB
   */
  readonly maxTotalBytes: number;
  /**
   * Largest compression ratio (uncompressed / compressed size) of one entry. Applies only to
   * entries larger than {@link ArchiveLimits.ratioFloorBytes}.
   * @default 200
   */
  readonly maxRatio: number;
  /**
   * Entries up to this uncompressed size, in bytes, are exempt from the ratio check: small,
   * highly compressible files (an all-zero buffer, a repetitive JSON) are harmless and common.
   * @default 64 KiB
   */
  readonly ratioFloorBytes: number;
}

/** The limits used for every limit you do not set. */
export const DEFAULT_ARCHIVE_LIMITS: ArchiveLimits = Object.freeze({
  maxEntries: 100_000,
  maxEntryBytes: 512 * 1024 * 1024,
  maxTotalBytes: 4 * 1024 * 1024 * 1024,
  maxRatio: 200,
  ratioFloorBytes: 64 * 1024,
});

/** One file entry of an archive, handed to the visitor of {@link forEachArchiveEntry}. */
export interface ArchiveEntry {
  /** The entry's name as stored, already checked to be a safe relative path. */
  readonly name: string;
  /** Zero-based position in the central directory (directory entries count too). */
  readonly index: number;
  /** Size of the stored data, in bytes, as declared by the central directory. */
  readonly compressedSizeBytes: number;
  /** Size of the data once inflated, in bytes, as declared; enforced while streaming. */
  readonly uncompressedSizeBytes: number;
  /** The archive's location plus this entry's name and index, for errors about the entry. */
  readonly location: ErrorLocation;
  /**
   * Streams the entry's bytes. Only valid while the visitor that received the entry runs.
   *
   * The stream fails with `ARCHIVE_ENTRY_CORRUPT` if the data inflates to more or fewer bytes
   * than declared or if its CRC-32 does not match, and `ARCHIVE_ENTRY_TOO_LARGE` past
   * `maxEntryBytes`. The CRC is known only at the end: you must not trust (publish, cache)
   * the bytes until the iteration completed without error.
   */
  open(): AsyncIterable<Uint8Array>;
}

/** Options of {@link forEachArchiveEntry}. */
export interface ArchiveReadOptions {
  /**
   * Limits to override; the others keep their defaults.
   * @default DEFAULT_ARCHIVE_LIMITS
   */
  readonly limits?: Partial<ArchiveLimits>;
  /**
   * Where the archive lives (`key` or `file`), copied into every error.
   * @default - errors carry only the entry name and index
   */
  readonly location?: ErrorLocation;
}

/** What {@link forEachArchiveEntry} saw, once every entry passed. */
export interface ArchiveSummary {
  /** File entries visited (directory entries are not counted). */
  readonly entryCount: number;
  /** Sum of the declared uncompressed sizes of the file entries, in bytes. */
  readonly totalUncompressedBytes: number;
}

/** Entries yauzl can decode: 0 stored, 8 deflate. Defold's bob writes deflate. */
const SUPPORTED_COMPRESSION_METHODS: ReadonlySet<number> = new Set([0, 8]);

/** General purpose bit 0: traditional PKWARE encryption. Bit 6 (strong encryption) yauzl refuses itself. */
const FLAG_ENCRYPTED = 0x1;
/** General purpose bit 11: the name is UTF-8 (otherwise CP437). */
const FLAG_UTF8 = 0x800;
/** Info-ZIP Unicode Path extra field: a second, UTF-8 name that extractors may prefer. */
const EXTRA_UNICODE_PATH = 0x7075;

/**
 * Metadata reads (end-of-central-directory, central directory records, local headers) are tiny
 * and sequential; yauzl issues two per entry. Reading ahead this many bytes turns thousands of
 * 46-byte reads into a few range requests when the source is S3, at a fixed memory cost.
 */
const READ_AHEAD_BYTES = 64 * 1024;

/** Entries up to this compressed size are read in one piece and inflated synchronously. */
const WHOLE_ENTRY_BYTES = 1024 * 1024;
/**
 * The sequential window small entries are read through: consecutive entries cost one range read
 * per window (about 40 for a 150 MB archive) instead of one per entry. Bounds memory with the
 * current entry.
 */
const DATA_WINDOW_BYTES = 4 * 1024 * 1024;
const LOCAL_HEADER_BYTES = 30;
/** How far past its declared size a small entry is inflated to report how much it really holds. */
const INFLATE_SLACK_BYTES = 64 * 1024;
const LOCAL_HEADER_SIGNATURE = 0x04034b50;

/**
 * Visits every file entry of the zip in `source`, in central-directory order, one at a time.
 *
 * Before the visitor sees an entry, its name, declared sizes, compression ratio and the running
 * total are checked against `limits`; the entry count is checked before any entry is read. The
 * visitor may read the entry with `entry.open()` or ignore it, and must be done with the stream
 * when its promise settles: an unfinished stream is closed then. Directory entries (names
 * ending in `/`) are name-checked but not visited.
 *
 * A failure seen while streaming an entry fails the whole walk, even if the visitor caught it.
 * Only entries that are read have their CRC checked.
 *
 * Every failure is a `LupError`: `ARCHIVE_UNREADABLE`, `ARCHIVE_ENTRY_NAME_UNSAFE`,
 * `ARCHIVE_DUPLICATE_ENTRY`, `ARCHIVE_TOO_MANY_ENTRIES`, `ARCHIVE_ENTRY_TOO_LARGE`,
 * `ARCHIVE_TOO_LARGE`, `ARCHIVE_RATIO_EXCEEDED`, `ARCHIVE_ENTRY_CORRUPT`; `LupError`s from the
 * source or the visitor pass through unchanged; anything else the visitor throws becomes
 * `INTERNAL` with the original as `cause`.
 *
 * @example
 * const summary = await forEachArchiveEntry(source, async (entry) => {
 *   const hash = createHash('sha1');
 *   for await (const chunk of entry.open()) hash.update(chunk);
 * }, { location: { key } });
 */
export async function forEachArchiveEntry(
  source: ByteSource,
  visit: (entry: ArchiveEntry) => Promise<void>,
  options: ArchiveReadOptions = {},
): Promise<ArchiveSummary> {
  const limits = resolveLimits(options.limits);
  const location = options.location ?? {};
  const walk = new ArchiveWalk(source, limits, location);
  return walk.run(visit);
}

/**
 * Reads a whole entry into memory, refusing (`ARCHIVE_ENTRY_TOO_LARGE`) an entry whose declared
 * size exceeds `maxBytes` before reading any of it. For small entries only (the manifest, JSON).
 */
export async function readEntryBytes(entry: ArchiveEntry, maxBytes: number): Promise<Uint8Array> {
  if (entry.uncompressedSizeBytes > maxBytes) {
    throw lupError({
      code: 'ARCHIVE_ENTRY_TOO_LARGE',
      message: `Entry ${entry.name} is too large to read into memory.`,
      location: entry.location,
      expected: `at most ${maxBytes} bytes`,
      actual: `${entry.uncompressedSizeBytes} bytes`,
    });
  }
  // The stream enforces the declared size exactly, so one allocation of that size suffices.
  const out = new Uint8Array(entry.uncompressedSizeBytes);
  let filled = 0;
  for await (const chunk of entry.open()) {
    out.set(chunk, filled);
    filled += chunk.byteLength;
  }
  return out;
}

/** Bytes [start, end) of the archive, as the chunks the source yielded (`starts[i]`: offset of `chunks[i]`). */
interface DataWindow {
  readonly start: number;
  readonly end: number;
  readonly chunks: readonly Buffer[];
  readonly starts: readonly number[];
}

/** The part of `window` from `from` on (views, no copy). */
function windowTail(window: DataWindow, from: number): DataWindow {
  const chunks: Buffer[] = [];
  const starts: number[] = [];
  window.chunks.forEach((chunk, i) => {
    const chunkEnd = window.starts[i] + chunk.length;
    if (chunkEnd <= from) return;
    const skip = Math.max(0, from - window.starts[i]);
    chunks.push(skip > 0 ? chunk.subarray(skip) : chunk);
    starts.push(window.starts[i] + skip);
  });
  return { start: from, end: window.end, chunks, starts };
}

/** The state of one walk over one archive. */
class ArchiveWalk {
  private readonly names = new Map<string, number>();
  private readonly openStreams = new Set<Readable>();
  private streamFailure: LupError | undefined;
  private dataWindow: DataWindow | undefined;
  /** The window after {@link dataWindow}, being read while the current one is verified. */
  private nextWindow: { start: number; loaded: Promise<DataWindow> } | undefined;
  private entryCount = 0;
  private totalUncompressedBytes = 0;

  constructor(
    private readonly source: ByteSource,
    private readonly limits: ArchiveLimits,
    private readonly location: ErrorLocation,
  ) {}

  async run(visit: (entry: ArchiveEntry) => Promise<void>): Promise<ArchiveSummary> {
    const zipfile = await this.openZip();
    // yauzl emits "error" on the ZipFile for failures outside any callback; without a listener
    // that would be an uncaught exception. The same errors also reach eachEntry's promises.
    zipfile.on('error', () => undefined);
    try {
      this.checkEntryCount(zipfile.entryCount);
      const entries = zipfile.eachEntry();
      for (let index = 0; ; index++) {
        let next: IteratorResult<yauzl.Entry>;
        try {
          next = await entries.next();
        } catch (error) {
          throw this.unreadable(error, `central directory record ${index}`, { field: `entries[${index}]` });
        }
        if (next.done) break;
        await this.visitEntry(zipfile, next.value, index, visit);
      }
      return { entryCount: this.entryCount, totalUncompressedBytes: this.totalUncompressedBytes };
    } finally {
      for (const stream of this.openStreams) stream.destroy();
      zipfile.close();
    }
  }

  private async openZip(): Promise<yauzl.ZipFile> {
    try {
      return await yauzl.fromRandomAccessReaderPromise(new SourceReader(this.source, this.location), this.source.sizeBytes, {
        lazyEntries: true,
        // We close it ourselves in every path, after the last stream is done.
        autoClose: false,
        // yauzl's own name check throws an untyped Error and rewrites backslashes first; we
        // check the raw bytes ourselves instead (see entryName).
        decodeStrings: false,
        strictFileNames: true,
        // yauzl reports size mismatches as untyped text only; entryStream checks the same rule
        // (plus the CRC, which yauzl never checks) and reports typed errors.
        validateEntrySizes: false,
      });
    } catch (error) {
      throw this.unreadable(error, 'end-of-central-directory record');
    }
  }

  private checkEntryCount(count: number): void {
    if (count > this.limits.maxEntries) {
      throw lupError({
        code: 'ARCHIVE_TOO_MANY_ENTRIES',
        message: `The archive declares ${count} entries, more than the limit of ${this.limits.maxEntries}; split it into several archives.`,
        location: this.location,
        expected: `at most ${this.limits.maxEntries} entries`,
        actual: `${count} entries`,
      });
    }
  }

  private async visitEntry(
    zipfile: yauzl.ZipFile,
    raw: yauzl.Entry,
    index: number,
    visit: (entry: ArchiveEntry) => Promise<void>,
  ): Promise<void> {
    const name = this.entryName(raw, index);
    const at: ErrorLocation = { ...this.location, entry: name, field: `entries[${index}]` };

    const firstIndex = this.names.get(name);
    if (firstIndex !== undefined) {
      throw lupError({
        code: 'ARCHIVE_DUPLICATE_ENTRY',
        message: `The archive holds ${name} twice (entries ${firstIndex} and ${index}); which one a reader sees is undefined, so rebuild the archive.`,
        location: at,
        expected: 'each name once',
        actual: `entries ${firstIndex} and ${index}`,
      });
    }
    this.names.set(name, index);
    if (name.endsWith('/')) return;

    this.checkDecodable(raw, at);
    this.checkSizes(raw, at);

    let active = true;
    const entry: ArchiveEntry = {
      name,
      index,
      compressedSizeBytes: raw.compressedSize,
      uncompressedSizeBytes: raw.uncompressedSize,
      location: at,
      open: () => {
        if (!active) {
          throw lupError({
            code: 'INTERNAL',
            message: `Entry ${name} was opened after its visitor returned; read entries inside the visitor.`,
            location: at,
          });
        }
        return this.entryStream(zipfile, raw, at, () => active);
      },
    };
    try {
      await visit(entry);
    } catch (error) {
      // The visitor's error may only be the consequence of a failed stream; report the cause.
      if (this.streamFailure) throw this.streamFailure;
      if (isLupError(error)) throw error;
      throw lupError(
        {
          code: 'INTERNAL',
          message: `Processing entry ${name} failed: ${error instanceof Error ? error.message : String(error)}`,
          location: at,
        },
        error,
      );
    } finally {
      active = false;
      // A visitor that stopped reading early leaves its stream open; close it so the next
      // entry does not compete with it and the zipfile can close.
      for (const stream of this.openStreams) stream.destroy();
      this.openStreams.clear();
    }
    if (this.streamFailure) throw this.streamFailure;
    this.entryCount += 1;
  }

  /**
   * Decodes the name and refuses anything that is not a plain relative path. Checked on the
   * raw bytes, not on yauzl's decoded name, because yauzl turns `\` into `/` and throws
   * untyped errors for the rest.
   */
  private entryName(raw: yauzl.Entry, index: number): string {
    const bytes = raw.fileNameRaw;
    const refuse = (rule: string, shown: string): never => {
      throw lupError({
        code: 'ARCHIVE_ENTRY_NAME_UNSAFE',
        message: `Entry ${index} has an unsafe name (${rule}); rebuild the archive with plain relative names such as "liveupdate.game.dmanifest" or a lowercase hex digest.`,
        location: { ...this.location, entry: shown, field: `entries[${index}]` },
        expected: 'a relative path without "..", ".", empty segments, backslashes or control characters',
        actual: shown,
      });
    };
    // Shown with escapes, so a NUL or a newline cannot hide in a log line.
    const shown = JSON.stringify(bytes.toString('latin1'));

    if (bytes.length === 0) refuse('empty name', shown);
    for (const byte of bytes) {
      if (byte === 0) refuse('NUL byte', shown);
      if (byte < 0x20 || byte === 0x7f) refuse('control character', shown);
      if (byte === 0x5c) refuse('backslash', shown);
    }

    let name: string;
    if (raw.generalPurposeBitFlag & FLAG_UTF8) {
      try {
        name = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
      } catch {
        return refuse('flagged UTF-8 but not valid UTF-8', shown);
      }
    } else {
      // CP437, as the spec requires for names without the UTF-8 flag. Ignoring extra fields here.
      name = yauzl.getFileNameLowLevel(0, bytes, [], true);
    }
    const display = JSON.stringify(name);

    if (name.startsWith('/')) refuse('absolute path', display);
    if (/^[A-Za-z]:/.test(name)) refuse('drive letter', display);
    const segments = name.split('/');
    if (name.endsWith('/')) segments.pop();
    for (const segment of segments) {
      if (segment === '..') refuse('".." segment', display);
      if (segment === '.' || segment === '') refuse('"." or empty segment', display);
    }

    // Some extractors prefer the Info-ZIP Unicode Path field over the name field. If the two
    // disagree, what we check and what a reader extracts could differ: refuse the ambiguity.
    if (raw.extraFields.some((field) => field.id === EXTRA_UNICODE_PATH)) {
      const alternative = yauzl.getFileNameLowLevel(raw.generalPurposeBitFlag, bytes, raw.extraFields, true);
      if (alternative !== name) {
        refuse(`its Info-ZIP Unicode Path field names it ${JSON.stringify(alternative)}`, display);
      }
    }
    return name;
  }

  private checkDecodable(raw: yauzl.Entry, at: ErrorLocation): void {
    if (raw.generalPurposeBitFlag & FLAG_ENCRYPTED) {
      throw lupError({
        code: 'ARCHIVE_UNREADABLE',
        message: `Entry ${at.entry} is encrypted; the Defold engine cannot mount password-protected zips, so rebuild the archive without a password.`,
        location: at,
        expected: 'an unencrypted entry',
        actual: `general purpose flags 0x${raw.generalPurposeBitFlag.toString(16)}`,
      });
    }
    if (!SUPPORTED_COMPRESSION_METHODS.has(raw.compressionMethod)) {
      throw lupError({
        code: 'ARCHIVE_UNREADABLE',
        message: `Entry ${at.entry} uses compression method ${raw.compressionMethod}; rebuild the archive with deflate (8) or no compression (0), as bob does.`,
        location: at,
        expected: 'compression method 0 (stored) or 8 (deflate)',
        actual: `compression method ${raw.compressionMethod}`,
      });
    }
    if (raw.compressionMethod === 0 && raw.compressedSize !== raw.uncompressedSize) {
      throw lupError({
        code: 'ARCHIVE_ENTRY_CORRUPT',
        message: `Entry ${at.entry} is stored without compression but declares two different sizes.`,
        location: at,
        expected: `compressed size = uncompressed size (${raw.uncompressedSize} bytes)`,
        actual: `compressed size ${raw.compressedSize} bytes`,
      });
    }
  }

  private checkSizes(raw: yauzl.Entry, at: ErrorLocation): void {
    const { maxEntryBytes, maxTotalBytes, maxRatio, ratioFloorBytes } = this.limits;
    const size = raw.uncompressedSize;
    if (size > maxEntryBytes) {
      throw lupError({
        code: 'ARCHIVE_ENTRY_TOO_LARGE',
        message: `Entry ${at.entry} declares ${size} bytes uncompressed, over the per-entry limit.`,
        location: at,
        expected: `at most ${maxEntryBytes} bytes`,
        actual: `${size} bytes (declared)`,
      });
    }
    // Checked on declared sizes, which entryStream enforces exactly, so the total of what can
    // actually be read never exceeds it either.
    const total = this.totalUncompressedBytes + size;
    if (total > maxTotalBytes) {
      throw lupError({
        code: 'ARCHIVE_TOO_LARGE',
        message: `The entries up to ${at.entry} add up to ${total} bytes uncompressed, over the archive limit; split the content into several archives.`,
        location: at,
        expected: `at most ${maxTotalBytes} bytes in total`,
        actual: `${total} bytes`,
      });
    }
    if (size > ratioFloorBytes && size > raw.compressedSize * maxRatio) {
      throw lupError({
        code: 'ARCHIVE_RATIO_EXCEEDED',
        message: `Entry ${at.entry} expands ${raw.compressedSize} bytes into ${size}, a compression ratio typical of zip bombs.`,
        location: at,
        expected: `ratio at most ${maxRatio}`,
        actual: raw.compressedSize === 0 ? 'unbounded (0 compressed bytes)' : `ratio ${(size / raw.compressedSize).toFixed(1)}`,
      });
    }
    this.totalUncompressedBytes = total;
  }

  /** The entry's bytes, with size, limit and CRC checked as they stream. */
  private async *entryStream(
    zipfile: yauzl.ZipFile,
    raw: yauzl.Entry,
    at: ErrorLocation,
    isActive: () => boolean,
  ): AsyncGenerator<Uint8Array> {
    // The visitor returned without waiting for this read: its stream was (or is) closed under it.
    const lateRead = (cause?: unknown): LupError =>
      lupError(
        {
          code: 'INTERNAL',
          message: `Entry ${at.entry} was still being read after its visitor returned; await the read inside the visitor.`,
          location: at,
        },
        cause,
      );
    const fail = (error: LupError): LupError => {
      if (!isActive()) return lateRead(error);
      this.streamFailure ??= error;
      return error;
    };
    if (raw.compressedSize <= WHOLE_ENTRY_BYTES) {
      // Small entries (nearly all of a LiveUpdate archive) are read in one piece through the
      // sequential data window and inflated synchronously: a stream per entry costs more than
      // hashing it (profiled in BENCHMARKS.md), and consecutive entries share one range read.
      const bytes = await this.wholeEntry(raw, at).catch((error: unknown) => {
        throw fail(isLupError(error) ? error : this.unreadable(error, 'local file header', at));
      });
      if (!isActive()) throw lateRead();
      const crc = crc32(bytes, 0);
      if (crc !== raw.crc32) throw fail(this.corrupt(at, `CRC-32 ${hex32(raw.crc32)} (declared)`, `CRC-32 ${hex32(crc)}`));
      yield bytes;
      return;
    }
    let stream: Readable;
    try {
      stream = await zipfile.openReadStreamPromise(raw);
    } catch (error) {
      throw fail(this.unreadable(error, 'local file header', at));
    }
    if (!isActive()) {
      stream.destroy();
      throw lateRead();
    }
    this.openStreams.add(stream);
    // Errors can be emitted while nobody iterates (between two chunks the consumer is slow to
    // ask for); a listener keeps them from becoming uncaught exceptions. The iterator below
    // still sees them.
    stream.on('error', () => undefined);

    const declared = raw.uncompressedSize;
    let count = 0;
    let crc = 0;
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        count += chunk.length;
        if (count > this.limits.maxEntryBytes) {
          throw lupError({
            code: 'ARCHIVE_ENTRY_TOO_LARGE',
            message: `Entry ${at.entry} inflates past the per-entry limit.`,
            location: at,
            expected: `at most ${this.limits.maxEntryBytes} bytes`,
            actual: `at least ${count} bytes`,
          });
        }
        if (count > declared) throw this.corrupt(at, `${declared} bytes (declared)`, `at least ${count} bytes`);
        crc = crc32(chunk, crc);
        yield chunk;
      }
    } catch (error) {
      throw fail(isLupError(error) ? error : this.corruptFrom(error, at));
    } finally {
      stream.destroy();
      this.openStreams.delete(stream);
    }
    if (count !== declared) throw fail(this.corrupt(at, `${declared} bytes (declared)`, `${count} bytes`));
    if (crc !== raw.crc32) throw fail(this.corrupt(at, `CRC-32 ${hex32(raw.crc32)} (declared)`, `CRC-32 ${hex32(crc)}`));
  }

  /** A small entry's bytes, size-checked: local header and data from the data window, inflated at once. */
  private async wholeEntry(raw: yauzl.Entry, at: ErrorLocation): Promise<Buffer> {
    const offset = raw.relativeOffsetOfLocalHeader;
    const header = await this.readData(offset, offset + LOCAL_HEADER_BYTES);
    if (header.readUInt32LE(0) !== LOCAL_HEADER_SIGNATURE) throw new Error(`invalid local file header signature: 0x${header.readUInt32LE(0).toString(16)}`);
    const dataStart = offset + LOCAL_HEADER_BYTES + header.readUInt16LE(26) + header.readUInt16LE(28);
    if (dataStart + raw.compressedSize > this.source.sizeBytes) {
      throw new Error(`file data overflows file bounds: ${dataStart} + ${raw.compressedSize} > ${this.source.sizeBytes}`);
    }
    const data = await this.readData(dataStart, dataStart + raw.compressedSize);
    const declared = raw.uncompressedSize;
    let bytes: Buffer;
    if (raw.compressionMethod === 0) {
      // A view of the window (never written to), not a copy.
      bytes = data;
    } else {
      // Inflate a little past the declared size (as far as a stream's first chunk would go), never
      // past the per-entry limit: enough to tell "longer than declared" without inflating a bomb.
      const cap = Math.min(declared + 1 + INFLATE_SLACK_BYTES, this.limits.maxEntryBytes + 1);
      try {
        bytes = inflateRawSync(data, { maxOutputLength: cap });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ERR_BUFFER_TOO_LARGE') throw this.corruptFrom(error, at);
        bytes = Buffer.alloc(cap + 1);
      }
    }
    if (bytes.length > this.limits.maxEntryBytes) {
      throw lupError({
        code: 'ARCHIVE_ENTRY_TOO_LARGE', message: `Entry ${at.entry} inflates past the per-entry limit.`, location: at,
        expected: `at most ${this.limits.maxEntryBytes} bytes`, actual: `at least ${bytes.length} bytes`,
      });
    }
    if (bytes.length > declared) throw this.corrupt(at, `${declared} bytes (declared)`, `at least ${bytes.length} bytes`);
    if (bytes.length !== declared) throw this.corrupt(at, `${declared} bytes (declared)`, `${bytes.length} bytes`);
    return bytes;
  }

  /**
   * Bytes [start, end) through the sequential data window of {@link DATA_WINDOW_BYTES}. The window
   * is kept as the chunks the source yielded: a range inside one chunk is a view of it (no copy), a
   * range across chunks is copied into a buffer of its own (joining each window into one buffer
   * cost more than hashing it). While the entries of one window are verified, the next window is
   * already being read: each window used to be a round trip the verification waited for (36 range
   * reads of a 150 MB archive on the local stack; on S3, tens of milliseconds each).
   */
  private async readData(start: number, end: number): Promise<Buffer> {
    let w = this.dataWindow;
    if (!w || start < w.start || end > w.end) w = await this.refill(start, end);
    if (end === start) return Buffer.alloc(0);
    // The chunk holding `start`: the last one starting at or before it.
    let lo = 0;
    let hi = w.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (w.starts[mid] <= start) lo = mid;
      else hi = mid - 1;
    }
    const first = w.chunks[lo];
    const offset = start - w.starts[lo];
    if (offset + (end - start) <= first.length) return first.subarray(offset, offset + (end - start));
    const out = Buffer.allocUnsafe(end - start);
    let filled = 0;
    for (let i = lo; filled < out.length; i++) {
      const from = i === lo ? offset : 0;
      filled += w.chunks[i].copy(out, filled, from, Math.min(w.chunks[i].length, from + out.length - filled));
    }
    return out;
  }

  /**
   * A new window holding [start, end) and at least {@link DATA_WINDOW_BYTES} from `start`: the
   * current window's tail from `start`, then the window read ahead when it follows on, then a read
   * of whatever is still missing. Starts reading the window after it.
   */
  private async refill(start: number, end: number): Promise<DataWindow> {
    const size = this.source.sizeBytes;
    const want = Math.min(size, Math.max(end, start + DATA_WINDOW_BYTES));
    if (!(start >= 0 && end <= want)) throw new Error(`range ${start}..${end} is outside the archive (${size} bytes)`);
    const parts: DataWindow[] = [];
    let covered = start;
    const current = this.dataWindow;
    // Reading on from where the last window ended (as entries written in order do) earns a read
    // ahead; a jump (entries out of order, a hostile archive) does not, so a jump costs one window.
    let sequential = current === undefined;
    if (current && start >= current.start && start < current.end) {
      parts.push(windowTail(current, start));
      covered = current.end;
      sequential = true;
    }
    const next = this.nextWindow;
    this.nextWindow = undefined;
    if (next && next.start === covered && covered < want) {
      const ahead = await next.loaded;
      parts.push(ahead);
      covered = ahead.end;
      sequential = true;
    }
    if (covered < want) parts.push(await this.loadWindow(covered, want));
    const window: DataWindow = {
      start,
      end: parts[parts.length - 1].end,
      chunks: parts.flatMap((p) => p.chunks),
      starts: parts.flatMap((p) => p.starts),
    };
    this.dataWindow = window;
    if (sequential && window.end < size) {
      const loaded = this.loadWindow(window.end, Math.min(size, window.end + DATA_WINDOW_BYTES));
      // A window read ahead that is never used (the walk ended or jumped) must not fail the walk.
      loaded.catch(() => undefined);
      this.nextWindow = { start: window.end, loaded };
    }
    return window;
  }

  /** Bytes [start, end) of the source as the chunks it yields. */
  private async loadWindow(start: number, end: number): Promise<DataWindow> {
    const chunks: Buffer[] = [];
    const starts: number[] = [];
    let at = start;
    for await (const chunk of this.source.read(start, end)) {
      if (chunk.byteLength === 0) continue;
      chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      starts.push(at);
      at += chunk.byteLength;
    }
    if (at !== end) throw new Error(`read ${at - start} bytes where ${end - start} were asked for`);
    return { start, end, chunks, starts };
  }

  private corrupt(at: ErrorLocation, expected: string, actual: string): LupError {
    return lupError({
      code: 'ARCHIVE_ENTRY_CORRUPT',
      message: `Entry ${at.entry} is corrupt: its data does not match the central directory; rebuild or re-upload the archive.`,
      location: at,
      expected,
      actual,
    });
  }

  private corruptFrom(error: unknown, at: ErrorLocation): LupError {
    return lupError(
      {
        code: 'ARCHIVE_ENTRY_CORRUPT',
        message: `Entry ${at.entry} is corrupt: its data cannot be inflated; rebuild or re-upload the archive.`,
        location: at,
        expected: 'valid deflate data',
        actual: errorText(error),
      },
      error,
    );
  }

  /** Wraps a parse failure; `LupError`s (from the source) pass through unchanged. */
  private unreadable(error: unknown, what: string, at: ErrorLocation = this.location): LupError {
    if (isLupError(error)) return error;
    return lupError(
      {
        code: 'ARCHIVE_UNREADABLE',
        message: `The archive cannot be read (${what}): it is not a zip file, is truncated, or its directory is damaged; re-create or re-upload it.`,
        location: { ...this.location, ...at },
        expected: `a valid zip ${what}`,
        actual: errorText(error),
      },
      error,
    );
  }
}

/**
 * yauzl's view of a {@link ByteSource}. Entry data is streamed range by range; metadata reads go
 * through a small read-ahead window (see {@link READ_AHEAD_BYTES}).
 */
class SourceReader extends yauzl.RandomAccessReader {
  /**
   * The two most recent read-ahead windows, newest first. Two, because yauzl alternates between
   * the central directory (next record) and a local header (the entry being opened).
   */
  private windows: { start: number; bytes: Buffer }[] = [];

  constructor(
    private readonly source: ByteSource,
    private readonly location: ErrorLocation,
  ) {
    super();
  }

  override _readStreamForRange(start: number, end: number): Readable {
    const cached = this.fromWindow(start, end);
    // Small entries usually sit inside the window their local header was read into.
    if (cached) return Readable.from([cached], { objectMode: false });
    return Readable.from(this.range(start, end), { objectMode: false });
  }

  override read(buffer: Buffer, offset: number, length: number, position: number, callback: (err: Error | null) => void): void {
    // yauzl's callback takes (err, bytesRead); the published types omit bytesRead.
    const done = callback as (err: Error | null, bytesRead?: number) => void;
    this.readWindow(position, length).then(
      (bytes) => {
        bytes.copy(buffer, offset);
        done(null, bytes.length);
      },
      (error: unknown) => done(error instanceof Error ? error : new Error(String(error))),
    );
  }

  private async readWindow(position: number, length: number): Promise<Buffer> {
    const cached = this.fromWindow(position, position + length);
    if (cached) return cached;
    const end = Math.min(this.source.sizeBytes, position + Math.max(length, READ_AHEAD_BYTES));
    // Past the end: a short (empty) read, which yauzl reports as "unexpected EOF".
    if (!(position >= 0 && position + length <= end)) return Buffer.alloc(0);
    const parts: Buffer[] = [];
    for await (const chunk of this.range(position, end)) parts.push(chunk);
    const window = { start: position, bytes: Buffer.concat(parts) };
    this.windows = [window, ...this.windows.slice(0, 1)];
    return window.bytes.subarray(0, length);
  }

  private fromWindow(start: number, end: number): Buffer | undefined {
    for (const window of this.windows) {
      if (start >= window.start && end <= window.start + window.bytes.length) {
        return window.bytes.subarray(start - window.start, end - window.start);
      }
    }
    return undefined;
  }

  /** Bytes `[start, end)` of the source, failing if the source yields more or fewer. */
  private async *range(start: number, end: number): AsyncGenerator<Buffer> {
    const expected = end - start;
    if (!(start >= 0 && end <= this.source.sizeBytes && expected >= 0)) {
      throw lupError({
        code: 'ARCHIVE_UNREADABLE',
        message: 'The archive points outside itself; it is truncated or damaged.',
        location: { ...this.location, offset: start },
        expected: `bytes within 0..${this.source.sizeBytes}`,
        actual: `bytes ${start}..${end}`,
      });
    }
    let count = 0;
    try {
      for await (const chunk of this.source.read(start, end)) {
        count += chunk.byteLength;
        if (count > expected) break;
        yield Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      }
    } catch (error) {
      if (isLupError(error)) throw error;
      throw lupError(
        {
          code: 'ARCHIVE_UNREADABLE',
          message: 'Reading the archive failed.',
          location: { ...this.location, offset: start + count },
          actual: errorText(error),
        },
        error,
      );
    }
    if (count !== expected) {
      throw lupError({
        code: 'ARCHIVE_UNREADABLE',
        message: 'The archive source returned a different number of bytes than requested; was the object replaced while being read?',
        location: { ...this.location, offset: start },
        expected: `${expected} bytes`,
        actual: count > expected ? `more than ${expected} bytes` : `${count} bytes`,
      });
    }
  }
}

function resolveLimits(overrides: Partial<ArchiveLimits> = {}): ArchiveLimits {
  const limits: ArchiveLimits = { ...DEFAULT_ARCHIVE_LIMITS, ...stripUndefined(overrides) };
  const problems: string[] = [];
  for (const key of Object.keys(DEFAULT_ARCHIVE_LIMITS) as (keyof ArchiveLimits)[]) {
    const value = limits[key];
    const ok = key === 'maxRatio' ? Number.isFinite(value) && value > 0 : Number.isSafeInteger(value) && value >= 0;
    if (!ok) problems.push(`limits.${key} = ${String(value)}`);
  }
  if (problems.length > 0) {
    throw lupError({
      code: 'CONFIG_INVALID',
      message: `Archive limits must be non-negative integers (maxRatio a positive number): ${problems.join(', ')}.`,
      expected: 'non-negative integers; maxRatio > 0',
      actual: problems.join(', '),
    });
  }
  return limits;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function hex32(value: number): string {
  return value.toString(16).padStart(8, '0');
}

/** The `ARCHIVE_*` codes {@link forEachArchiveEntry} can fail with, for callers that map them. */
export const ARCHIVE_ERROR_CODES: readonly ErrorCode[] = [
  'ARCHIVE_UNREADABLE',
  'ARCHIVE_ENTRY_NAME_UNSAFE',
  'ARCHIVE_DUPLICATE_ENTRY',
  'ARCHIVE_TOO_MANY_ENTRIES',
  'ARCHIVE_ENTRY_TOO_LARGE',
  'ARCHIVE_TOO_LARGE',
  'ARCHIVE_RATIO_EXCEEDED',
  'ARCHIVE_ENTRY_CORRUPT',
];
