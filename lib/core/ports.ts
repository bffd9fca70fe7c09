/**
 * The ports the core needs from the outside world. Adapters implement them: the S3 adapter
 * (`lib/adapters/s3-store.ts`) for AWS and the local stack, an in-memory store for unit tests.
 */

/** Metadata of a stored object. */
export interface ObjectInfo {
  readonly key: string;
  /** The entity tag as S3 returns it, quotes included. */
  readonly etag: string;
  readonly sizeBytes: number;
  readonly lastModified?: Date;
}

/** A whole object read into memory; only for small objects (manifests, JSON documents). */
export interface StoredObject extends ObjectInfo {
  readonly body: Uint8Array;
}

/** Options of a write. At most one of `ifMatch` / `ifNoneMatch` is set. */
export interface PutOptions {
  readonly contentType?: string;
  readonly cacheControl?: string;
  /** Compare-and-swap: write only if the current object's ETag equals this one (else 412). */
  readonly ifMatch?: string;
  /** Create-only: `'*'` writes only if no object exists at the key (else 412). */
  readonly ifNoneMatch?: '*';
}

/** Options of a server-side copy. */
export interface CopyOptions extends PutOptions {
  /** Copy only if the source's ETag still equals this one, so a verified object cannot be swapped. */
  readonly sourceIfMatch?: string;
}

/** A random-access view of an object, for zip archives whose directory sits at the end. */
export interface ByteSource {
  readonly sizeBytes: number;
  /** Bytes `[start, end)` as a stream of chunks. */
  read(start: number, end: number): AsyncIterable<Uint8Array>;
}

/**
 * Object storage with S3 semantics. Conditional writes fail with a `LupError` whose code is
 * `STORE_PRECONDITION_FAILED`; every other failure is a `LupError` with code `STORE_UNAVAILABLE`
 * carrying the original as `cause`. A missing object is `undefined`, never an error.
 */
export interface ObjectStore {
  head(key: string): Promise<ObjectInfo | undefined>;
  get(key: string): Promise<StoredObject | undefined>;
  /**
   * The first `lengthBytes` bytes (fewer when the object is shorter), the whole size and the ETag of
   * the version read; `undefined` when missing. Never holds more than `lengthBytes` in memory, so it
   * is the way to read anything a publisher controls (a document is read with a limit + 1 bytes and
   * refused when `sizeBytes` says it is larger).
   */
  readPrefix(key: string, lengthBytes: number): Promise<{ bytes: Uint8Array; sizeBytes: number; etag: string } | undefined>;
  /** Stream the whole object. */
  getStream(key: string): Promise<{ info: ObjectInfo; body: AsyncIterable<Uint8Array> } | undefined>;
  /** Random access for zip reading; `undefined` when the object is missing. */
  openRange(key: string): Promise<{ info: ObjectInfo; source: ByteSource } | undefined>;
  /** Objects under `prefix` in key order: all pages, or the first `limit` objects. */
  list(prefix: string, options?: { limit?: number }): Promise<ObjectInfo[]>;
  put(key: string, body: Uint8Array | string, options?: PutOptions): Promise<{ etag: string }>;
  copy(fromKey: string, toKey: string, options?: CopyOptions): Promise<{ etag: string }>;
  delete(key: string): Promise<void>;
}

/** Invalidation of cached paths on the CDN in front of the bucket. */
export interface CdnInvalidator {
  /** Invalidate these paths (each starting with `/`). Fails loudly; never ignored. */
  invalidate(paths: readonly string[], callerReference: string): Promise<void>;
}

/** Wall clock, injected so the core stays deterministic in tests. */
export interface Clock {
  now(): Date;
}

/** The system clock. */
export const systemClock: Clock = { now: () => new Date() };
