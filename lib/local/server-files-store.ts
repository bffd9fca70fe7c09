/**
 * The local stack's pipeline store: the {@link ObjectStore} port over s3rver's own files, reached
 * directly instead of through HTTP. On AWS every pipeline step's read and write is an S3 request
 * served by other machines; locally each one was an HTTP request to the gate and to s3rver's one
 * thread (2.5–3.2 ms each on the benchmark machine, five per loose resource: BENCHMARKS.md, issue
 * 12). Here the same operations are a few file-system calls, with the same semantics:
 *
 * - the layout is s3rver 3.7's FilesystemStore (`<bucket>/<key dirs>/<name>._S3rver_object`, its
 *   `.md5` and `._S3rver_metadata.json`), so HTTP clients of the gate read what this store wrote and
 *   the reverse;
 * - every access takes the object's lock in the {@link KeyLocks} the gate uses, so a write through
 *   either is atomic with its conditions (`If-None-Match: *`, `If-Match`, the copy source's ETag),
 *   as the CAS flip of the channel pointer (I2) needs;
 * - bodies are written to a temporary file renamed into place (as the worker writes them), so an
 *   open file always holds one whole version, and a copy is a hard link to the source's file;
 * - a write produces the S3-style event s3rver would have produced for it, delivered before the
 *   write returns (the steps' own writes to routed keys, such as release attempts, reach the router);
 * - keys are refused as the gate refuses them (lib/local/key-safety.ts): a key is a file path here.
 *
 * Errors follow the S3 adapter's mapping: a failed condition is `STORE_PRECONDITION_FAILED`, any
 * other failure `STORE_UNAVAILABLE` naming the operation and the key; a missing object reads as
 * `undefined`. The contract tests hold this store, the S3 adapter and the memory store to the same
 * behaviour (test/contract, test/local/server-files-store.test.ts).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { link, mkdir, open, readdir, readFile, rename, rmdir, stat, unlink, utimes, writeFile, type FileHandle } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import pLimit from 'p-limit';
import { isLupError, lupError, type LupError } from '../core/errors';
import { sameEtag } from '../core/etag';
import { checkOneCondition } from '../core/store-conditions';
import type { ByteSource, CopyOptions, ObjectInfo, ObjectStore, PutOptions, StoredObject } from '../core/ports';
import { lockKeyOf, type KeyLocks } from './key-locks';
import { unsafeKeyReason } from './key-safety';
import type { S3EventLike } from './s3-server';

/** Options of {@link ServerFilesStore}. */
export interface ServerFilesStoreProps {
  /** s3rver's data folder (the one holding the bucket folders). */
  readonly directory: string;
  readonly bucket: string;
  /** The locks the gate holds while it serves a request (one table for both ways in). */
  readonly locks: KeyLocks;
  /** Receives the event of each write, as s3rver emits them for writes through HTTP. */
  readonly onEvent: (event: S3EventLike) => void;
}

/** The suffixes s3rver 3.7 gives an object's files (FilesystemStore's `%s._S3rver_%s`). */
const OBJECT_SUFFIX = '._S3rver_object';
const MD5_SUFFIX = '._S3rver_object.md5';
const METADATA_SUFFIX = '._S3rver_metadata.json';
/** Any of s3rver's own names (objects' files, the multipart `._S3rver_uploads` folder). */
const S3RVER_MARK = '._S3rver_';

/** Bytes read per chunk when streaming an object. */
const CHUNK_BYTES = 1024 * 1024;
/** Objects whose metadata a listing reads at once. */
const LIST_CONCURRENCY = 64;

/** The file-system state of one version of an object, read under its lock. */
interface Version {
  readonly info: ObjectInfo;
  /** Identifies the file holding this version: a rename replaces it, so a new version has a new inode. */
  readonly inode: number;
}

export class ServerFilesStore implements ObjectStore {
  private readonly bucketPath: string;
  /** Calls per operation, for benchmarks that count the pipeline's requests. */
  readonly calls: Record<string, number> = {};

  constructor(private readonly props: ServerFilesStoreProps) {
    this.bucketPath = join(props.directory, props.bucket);
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    this.count('head');
    return this.guarded('HeadObject', key, () => this.shared(key, async () => (await this.version(key))?.info));
  }

  async get(key: string): Promise<StoredObject | undefined> {
    this.count('get');
    return this.guarded('GetObject', key, () => this.shared(key, async () => {
      const version = await this.version(key);
      if (!version) return undefined;
      const body = await readFile(this.path(key, OBJECT_SUFFIX)).catch(missingAsUndefined);
      return body && { ...version.info, body: new Uint8Array(body.buffer, body.byteOffset, body.byteLength) };
    }));
  }

  async readPrefix(key: string, lengthBytes: number): Promise<{ bytes: Uint8Array; sizeBytes: number; etag: string } | undefined> {
    this.count('get');
    return this.guarded('GetObject (prefix)', key, () => this.shared(key, async () => {
      const version = await this.version(key);
      if (!version) return undefined;
      const file = await open(this.path(key, OBJECT_SUFFIX), 'r').catch(missingAsUndefined);
      if (!file) return undefined;
      try {
        const bytes = await readExactly(file, 0, Math.min(Math.max(0, lengthBytes), version.info.sizeBytes));
        return { bytes, sizeBytes: version.info.sizeBytes, etag: version.info.etag };
      } finally {
        await file.close();
      }
    }));
  }

  async getStream(key: string): Promise<{ info: ObjectInfo; body: AsyncIterable<Uint8Array> } | undefined> {
    this.count('get');
    return this.guarded('GetObject', key, async () => {
      // The file is opened under the lock, with the ETag of the version it holds; the stream then
      // reads that file (a later write renames a new one into place and leaves it whole).
      const opened = await this.shared(key, async () => {
        const version = await this.version(key);
        const file = version && await open(this.path(key, OBJECT_SUFFIX), 'r').catch(missingAsUndefined);
        return version && file && { version, file };
      });
      if (!opened) return undefined;
      const body = opened.file.createReadStream({ highWaterMark: CHUNK_BYTES, autoClose: true });
      return { info: opened.version.info, body: this.guardStream('GetObject', key, body) };
    });
  }

  async openRange(key: string): Promise<{ info: ObjectInfo; source: ByteSource } | undefined> {
    this.count('get');
    const version = await this.guarded('GetObject (range)', key, () => this.shared(key, () => this.version(key)));
    if (!version) return undefined;
    const store = this;
    return {
      info: version.info,
      source: {
        sizeBytes: version.info.sizeBytes,
        read: (start, end) => store.readRange(version, start, end),
      },
    };
  }

  async list(prefix: string, options?: { limit?: number }): Promise<ObjectInfo[]> {
    this.count('list');
    return this.guarded('ListObjectsV2', prefix, async () => {
      const limit = options?.limit ?? Infinity;
      const keys = (await this.keysUnder(prefix)).sort(byUtf8);
      const found: ObjectInfo[] = [];
      const read = pLimit(LIST_CONCURRENCY);
      // In batches, so a listing with a limit reads no more metadata than it needs, and an object
      // deleted between the walk and its metadata read leaves no gap in a full page.
      for (let at = 0; at < keys.length && found.length < limit; ) {
        const batch = keys.slice(at, at + Math.max(LIST_CONCURRENCY, Math.min(limit - found.length, 1000)));
        at += batch.length;
        const infos = await Promise.all(batch.map((key) => read(() => this.shared(key, async () => (await this.version(key))?.info))));
        for (const info of infos) if (info && found.length < limit) found.push(info);
      }
      return found;
    });
  }

  async put(key: string, body: Uint8Array | string, options: PutOptions = {}): Promise<{ etag: string }> {
    this.count('put');
    checkOneCondition('PutObject', key, options);
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    return this.guarded('PutObject', key, async () => {
      const md5 = createHash('md5').update(bytes).digest('hex');
      await this.exclusive([key], [], async () => {
        await this.checkDestination('PutObject', key, options);
        await this.writeVersion(key, async (temporary) => writeFile(temporary, bytes), md5, metadataOf(options));
      });
      this.emit('ObjectCreated:Put', key, bytes.length, md5);
      return { etag: quoted(md5) };
    });
  }

  async copy(fromKey: string, toKey: string, options: CopyOptions = {}): Promise<{ etag: string }> {
    this.count('copy');
    checkOneCondition('CopyObject', toKey, options);
    return this.guarded('CopyObject', toKey, async () => {
      const copied = await this.exclusive([toKey], fromKey === toKey ? [] : [fromKey], async () => {
        const source = await this.version(fromKey);
        if (!source) {
          throw precondition(fromKey, options.sourceIfMatch ? `an object with ETag ${options.sourceIfMatch}` : 'an existing object', 'no object',
            `CopyObject from ${fromKey} to ${toKey} failed: the source object does not exist.`);
        }
        if (options.sourceIfMatch !== undefined && !sameEtag(options.sourceIfMatch, source.info.etag)) {
          throw precondition(toKey, `source ETag ${options.sourceIfMatch}`, 'another state',
            `CopyObject of ${toKey} from ${fromKey} was refused: the source is not in the expected state (source ETag ${options.sourceIfMatch}).`);
        }
        await this.checkDestination('CopyObject', toKey, options);
        // S3 copies the source's metadata unless told to replace it, and a replacement replaces all of it.
        const replace = options.contentType !== undefined || options.cacheControl !== undefined;
        const metadata = replace ? metadataOf(options) : await readFile(this.path(fromKey, METADATA_SUFFIX), 'utf8').catch(missingAsUndefined) ?? '{}';
        const md5 = unquoted(source.info.etag);
        // A hard link, not a copy: every write of an object file, here and in s3rver's worker, renames
        // a new file into place and never rewrites one, so two keys may share a file's bytes (a 150 MB
        // archive copied twice on its way to content/ cost 0.27 s per copy). The copy's time is now,
        // as S3 dates a copy; the shared file's other names take that time too (see docs/design.md).
        await this.writeVersion(toKey, async (temporary) => {
          await link(this.path(fromKey, OBJECT_SUFFIX), temporary);
          const now = new Date();
          await utimes(temporary, now, now);
        }, md5, metadata);
        return { md5, sizeBytes: source.info.sizeBytes };
      });
      this.emit('ObjectCreated:Copy', toKey, copied.sizeBytes, copied.md5);
      return { etag: quoted(copied.md5) };
    });
  }

  async delete(key: string): Promise<void> {
    this.count('delete');
    await this.guarded('DeleteObject', key, () => this.exclusive([key], [], async () => {
      await Promise.all([OBJECT_SUFFIX, MD5_SUFFIX, METADATA_SUFFIX].map((suffix) => unlink(this.path(key, suffix)).catch(missingAsUndefined)));
      // Remove the folders the delete emptied, as s3rver does; rmdir refuses one that is not empty.
      for (let folder = dirname(this.path(key, OBJECT_SUFFIX)); folder.startsWith(this.bucketPath + sep); folder = dirname(folder)) {
        const removed = await rmdir(folder).then(() => true, (error: NodeJS.ErrnoException) => {
          if (error.code === 'ENOTEMPTY' || error.code === 'EEXIST' || error.code === 'ENOENT') return false;
          throw error;
        });
        if (!removed) break;
      }
    }));
    this.emit('ObjectRemoved:Delete', key);
  }

  // ---- the files of one object

  /** The path of one of an object's files; the key must have passed {@link checkKey}. */
  private path(key: string, suffix: string): string {
    const parts = key.split('/');
    const name = parts.pop() ?? '';
    return join(this.bucketPath, ...parts, `${name}${suffix}`);
  }

  /** The current version of an object (size, MD5, time), or `undefined` when there is none. Call under the key's lock. */
  private async version(key: string): Promise<Version | undefined> {
    const objectPath = this.path(key, OBJECT_SUFFIX);
    const [stats, md5] = await Promise.all([
      stat(objectPath).catch(missingAsUndefined),
      readFile(this.path(key, MD5_SUFFIX), 'utf8').catch(missingAsUndefined),
    ]);
    if (!stats || !stats.isFile()) return undefined;
    // An object written by an older s3rver may lack its MD5 file; s3rver computes it on read, so does this.
    const etag = md5 ?? await md5OfFile(objectPath);
    return { info: { key, etag: quoted(etag.trim()), sizeBytes: stats.size, lastModified: stats.mtime }, inode: stats.ino };
  }

  /**
   * Replace an object with a new version: its bytes written by `fill` to a temporary file renamed
   * into place, then its MD5 and metadata. The old MD5 is removed first, so it never describes the
   * new bytes. Call under the key's exclusive lock.
   */
  private async writeVersion(key: string, fill: (temporary: string) => Promise<void>, md5: string, metadata: string): Promise<void> {
    const objectPath = this.path(key, OBJECT_SUFFIX);
    const temporary = `${objectPath}.lup-partial-direct-${randomBytes(6).toString('hex')}`;
    try {
      // The folder may be removed by a delete of its last object (through the gate) in between.
      for (let attempt = 0; ; attempt++) {
        await mkdir(dirname(objectPath), { recursive: true });
        try {
          await fill(temporary);
          break;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 5 || !(await isMissingFolder(dirname(objectPath)))) throw error;
        }
      }
      await unlink(this.path(key, MD5_SUFFIX)).catch(missingAsUndefined);
      await rename(temporary, objectPath);
    } catch (error) {
      await unlink(temporary).catch(() => undefined);
      throw error;
    }
    await writeFile(this.path(key, MD5_SUFFIX), md5);
    await writeFile(this.path(key, METADATA_SUFFIX), metadata);
  }

  private async *readRange(version: Version, start: number, end: number): AsyncIterable<Uint8Array> {
    const { key, sizeBytes, etag } = version.info;
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < start || end > sizeBytes) {
      throw lupError({
        code: 'INTERNAL', location: { key }, expected: `0 <= start <= end <= ${sizeBytes}`, actual: `start ${start}, end ${end}`,
        message: `Byte range [${start}, ${end}) is outside ${key} (${sizeBytes} bytes).`,
      });
    }
    if (start === end) return;
    const changed = (): LupError => lupError({
      code: 'STORE_PRECONDITION_FAILED', location: { key, offset: start }, expected: `ETag ${etag}`, actual: 'another version or no object',
      message: `${key} changed or disappeared while it was being read.`,
    });
    // Each range opens the file again and is pinned to the version seen at open, as the S3
    // adapter pins its ranged GETs with If-Match: a replaced object fails instead of mixing versions.
    let file: FileHandle | undefined;
    try {
      file = await open(this.path(key, OBJECT_SUFFIX), 'r').catch(missingAsUndefined);
    } catch (error) {
      throw this.unavailable('GetObject (range)', key, error);
    }
    if (!file) throw changed();
    try {
      if ((await file.stat()).ino !== version.inode) throw changed();
      for (let at = start; at < end; ) {
        const length = Math.min(end - at, CHUNK_BYTES * 4);
        const bytes = await readExactly(file, at, length);
        if (bytes.length < length) throw changed();
        at += length;
        yield bytes;
      }
    } catch (error) {
      if (isLupError(error)) throw error;
      throw this.unavailable('GetObject (range)', key, error);
    } finally {
      await file.close();
    }
  }

  /** Every key whose object file lies under `prefix`, in no particular order (one walk of its folder). */
  private async keysUnder(prefix: string): Promise<string[]> {
    const slash = prefix.lastIndexOf('/');
    const folderKey = prefix.slice(0, slash + 1);
    if (folderKey !== '') checkKey(`${folderKey}x`);
    const keys: string[] = [];
    const walk = async (folder: string, keyPrefix: string): Promise<void> => {
      const entries = await readdir(folder, { withFileTypes: true }).catch(missingAsUndefined);
      for (const entry of entries ?? []) {
        if (entry.isDirectory()) {
          // s3rver's multipart folder and anything else of its own is not an object.
          if (entry.name.includes(S3RVER_MARK)) continue;
          const key = `${keyPrefix}${entry.name}/`;
          if (key.startsWith(prefix) || prefix.startsWith(key)) await walk(join(folder, entry.name), key);
        } else if (entry.name.endsWith(OBJECT_SUFFIX)) {
          const key = `${keyPrefix}${entry.name.slice(0, -OBJECT_SUFFIX.length)}`;
          if (key.startsWith(prefix)) keys.push(key);
        }
      }
    };
    await walk(folderKey === '' ? this.bucketPath : join(this.bucketPath, ...folderKey.split('/').filter((p) => p !== '')), folderKey);
    return keys;
  }

  // ---- locks, conditions, events, errors

  private async shared<T>(key: string, work: () => Promise<T>): Promise<T> {
    checkKey(key);
    const release = await this.props.locks.acquire(lockKeyOf(this.props.bucket, key), false);
    try {
      return await work();
    } finally {
      release();
    }
  }

  private async exclusive<T>(written: readonly string[], read: readonly string[], work: () => Promise<T>): Promise<T> {
    for (const key of [...written, ...read]) checkKey(key);
    const release = await this.props.locks.acquireAll([
      ...written.map((key) => ({ key: lockKeyOf(this.props.bucket, key), write: true })),
      ...read.map((key) => ({ key: lockKeyOf(this.props.bucket, key), write: false })),
    ]);
    try {
      return await work();
    } finally {
      release();
    }
  }

  /** The destination conditions of a put or copy, evaluated under the key's exclusive lock. */
  private async checkDestination(operation: string, key: string, options: PutOptions): Promise<void> {
    if (options.ifNoneMatch === undefined && options.ifMatch === undefined) return;
    const current = await this.version(key);
    const expected = options.ifNoneMatch ? 'no object at the key (If-None-Match: *)' : `ETag ${options.ifMatch}`;
    const refused = options.ifNoneMatch ? current !== undefined : current === undefined || !sameEtag(options.ifMatch ?? '', current.info.etag);
    if (refused) {
      throw precondition(key, expected, current ? 'another state' : 'no object',
        `${operation} of ${key} was refused: the object is not in the expected state (${expected}). Re-read it and retry.`);
    }
  }

  private emit(eventName: string, key: string, size?: number, md5?: string): void {
    this.props.onEvent({
      Records: [{ eventName, s3: { bucket: { name: this.props.bucket }, object: { key, ...(size !== undefined ? { size } : {}), ...(md5 ? { eTag: md5 } : {}) } } }],
    });
  }

  private count(operation: string): void {
    this.calls[operation] = (this.calls[operation] ?? 0) + 1;
  }

  private async guarded<T>(operation: string, key: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (isLupError(error)) throw error;
      throw this.unavailable(operation, key, error);
    }
  }

  private async *guardStream(operation: string, key: string, body: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
    try {
      for await (const chunk of body) yield chunk;
    } catch (error) {
      throw this.unavailable(operation, key, error);
    }
  }

  private unavailable(operation: string, key: string, error: unknown): LupError {
    const detail = error instanceof Error ? error.message : String(error);
    return lupError({
      code: 'STORE_UNAVAILABLE', location: { key }, actual: detail,
      message: `${operation} of ${key} in bucket ${this.props.bucket} failed: ${detail}`,
    }, error);
  }
}

/** Refuse a key the gate would refuse: here a key is a file path. */
function checkKey(key: string): void {
  const reason = unsafeKeyReason(key);
  if (reason !== undefined) {
    throw lupError({
      code: 'STORE_UNAVAILABLE', location: { key }, expected: 'a key without empty, "." or ".." segments, NUL or "\\"', actual: reason,
      message: `Refused key ${JSON.stringify(key)}: ${reason}.`,
    });
  }
}

function precondition(key: string, expected: string, actual: string, message: string): LupError {
  return lupError({ code: 'STORE_PRECONDITION_FAILED', location: { key }, expected, actual, message }, new Error(`PreconditionFailed (412): ${key}`));
}

/** The metadata file s3rver keeps beside an object (the headers it stores, as it formats them). */
function metadataOf(options: PutOptions): string {
  const metadata: Record<string, string> = {};
  if (options.cacheControl !== undefined) metadata['cache-control'] = options.cacheControl;
  if (options.contentType !== undefined) metadata['content-type'] = options.contentType;
  return JSON.stringify(metadata, null, 2);
}

async function readExactly(file: FileHandle, position: number, length: number): Promise<Uint8Array> {
  const buffer = Buffer.allocUnsafe(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await file.read(buffer, filled, length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled === length ? buffer : buffer.subarray(0, filled);
}

async function md5OfFile(path: string): Promise<string> {
  const hash = createHash('md5');
  for await (const chunk of createReadStream(path, { highWaterMark: CHUNK_BYTES })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function isMissingFolder(folder: string): Promise<boolean> {
  return (await stat(folder).catch(missingAsUndefined)) === undefined;
}

function missingAsUndefined(error: NodeJS.ErrnoException): undefined {
  if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return undefined;
  throw error;
}

function quoted(md5: string): string {
  return `"${md5}"`;
}

function unquoted(etag: string): string {
  return etag.replace(/^"|"$/g, '');
}

/** S3 lists keys in the binary order of their UTF-8 bytes. */
function byUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
