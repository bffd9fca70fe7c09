/**
 * A tiny zip writer for tests that need archives no well-behaved tool would write: unsafe or
 * duplicate names, lying sizes and checksums, encryption flags, forged entry counts. yazl refuses
 * all of these, which is right for a writer and useless for testing a reader.
 * @see https://pkware.cachefly.net/webdocs/casestudies/APPNOTE.TXT (sections 4.3.7, 4.3.12, 4.3.16)
 */
import { deflateRawSync } from 'node:zlib';
import { crc32 } from '../../lib/core/format/crc32';

/** One entry of {@link rawZip}. Every header field can be overridden to lie. */
export interface RawZipEntry {
  /** The name; a string is written as UTF-8 (and sets the UTF-8 flag unless `flags` is given). */
  readonly name: string | Uint8Array;
  /** The entry's uncompressed content. @default empty */
  readonly content?: Uint8Array;
  /** 0 stores `content`, 8 deflates it; any other value stores it but declares that method. @default 0 */
  readonly method?: number;
  /** The bytes written as file data, instead of `content` stored or deflated. @default - derived from content */
  readonly fileData?: Uint8Array;
  /** General purpose bit flags. @default 0x800 for string names, 0 for byte names */
  readonly flags?: number;
  /** Declared CRC-32. @default - the real CRC of content */
  readonly crc32?: number;
  /** Declared uncompressed size. @default content length */
  readonly uncompressedSize?: number;
  /** Declared compressed size. @default file data length */
  readonly compressedSize?: number;
  /** Extra field, written to both headers. @default none */
  readonly extra?: Uint8Array;
}

/** Options of {@link rawZip}. */
export interface RawZipOptions {
  /** Entry count written into the end-of-central-directory record. @default entries.length */
  readonly declaredEntryCount?: number;
  /**
   * Also write a Zip64 end-of-central-directory record and locator declaring this many entries.
   * @default - no Zip64 records
   */
  readonly zip64EntryCount?: number;
}

/** Builds a zip archive from `entries`, exactly as described, without any validation. */
export function rawZip(entries: readonly RawZipEntry[], options: RawZipOptions = {}): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const name = typeof entry.name === 'string' ? Buffer.from(entry.name, 'utf8') : Buffer.from(entry.name);
    const content = entry.content ?? new Uint8Array(0);
    const method = entry.method ?? 0;
    const data = entry.fileData ?? (method === 8 ? deflateRawSync(content) : content);
    const flags = entry.flags ?? (typeof entry.name === 'string' ? 0x800 : 0);
    const crc = entry.crc32 ?? crc32(content);
    const uncompressedSize = entry.uncompressedSize ?? content.length;
    const compressedSize = entry.compressedSize ?? data.length;
    const extra = Buffer.from(entry.extra ?? new Uint8Array(0));

    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed to extract: 2.0
    local.writeUInt16LE(flags, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(0, 10); // time
    local.writeUInt16LE(0x21, 12); // date: 1980-01-01
    local.writeUInt32LE(crc >>> 0, 14);
    local.writeUInt32LE(compressedSize >>> 0, 18);
    local.writeUInt32LE(uncompressedSize >>> 0, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(extra.length, 28);
    locals.push(local, name, extra, Buffer.from(data));

    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(0x031e, 4); // made by: Unix, 3.0
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(flags, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt16LE(0, 12);
    central.writeUInt16LE(0x21, 14);
    central.writeUInt32LE(crc >>> 0, 16);
    central.writeUInt32LE(compressedSize >>> 0, 20);
    central.writeUInt32LE(uncompressedSize >>> 0, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt16LE(extra.length, 30);
    central.writeUInt16LE(0, 32); // comment length
    central.writeUInt16LE(0, 34); // disk
    central.writeUInt16LE(0, 36); // internal attributes
    central.writeUInt32LE(0, 38); // external attributes
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name, extra);

    offset += 30 + name.length + extra.length + data.length;
  }
  const centralDirectory = Buffer.concat(centrals);
  const tail: Buffer[] = [];
  const count = options.declaredEntryCount ?? entries.length;

  if (options.zip64EntryCount !== undefined) {
    const zip64Offset = offset + centralDirectory.length;
    const record = Buffer.alloc(56);
    record.writeUInt32LE(0x06064b50, 0);
    record.writeBigUInt64LE(44n, 4); // size of the rest of the record
    record.writeUInt16LE(45, 12);
    record.writeUInt16LE(45, 14);
    record.writeUInt32LE(0, 16); // this disk
    record.writeUInt32LE(0, 20); // disk of the central directory
    record.writeBigUInt64LE(BigInt(options.zip64EntryCount), 24);
    record.writeBigUInt64LE(BigInt(options.zip64EntryCount), 32);
    record.writeBigUInt64LE(BigInt(centralDirectory.length), 40);
    record.writeBigUInt64LE(BigInt(offset), 48);
    const locator = Buffer.alloc(20);
    locator.writeUInt32LE(0x07064b50, 0);
    locator.writeUInt32LE(0, 4);
    locator.writeBigUInt64LE(BigInt(zip64Offset), 8);
    locator.writeUInt32LE(1, 16); // total disks
    tail.push(record, locator);
  }

  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(0, 4);
  eocd.writeUInt16LE(0, 6);
  eocd.writeUInt16LE(Math.min(count, 0xffff), 8);
  eocd.writeUInt16LE(Math.min(count, 0xffff), 10);
  eocd.writeUInt32LE(centralDirectory.length, 12);
  eocd.writeUInt32LE(offset, 16);
  eocd.writeUInt16LE(0, 20);
  return Buffer.concat([...locals, centralDirectory, ...tail, eocd]);
}

/** An Info-ZIP Unicode Path extra field (0x7075) naming `unicodeName` for the raw name `rawName`. */
export function unicodePathExtra(rawName: Uint8Array, unicodeName: string): Buffer {
  const utf8 = Buffer.from(unicodeName, 'utf8');
  const data = Buffer.alloc(5 + utf8.length);
  data.writeUInt8(1, 0);
  data.writeUInt32LE(crc32(rawName), 1);
  utf8.copy(data, 5);
  const header = Buffer.alloc(4);
  header.writeUInt16LE(0x7075, 0);
  header.writeUInt16LE(data.length, 2);
  return Buffer.concat([header, data]);
}
