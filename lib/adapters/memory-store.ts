/**
 * An in-memory {@link ObjectStore} with S3's conditional-write semantics, for model-based tests and
 * the soak, where thousands of sequences must run in seconds. The handler tests run against the
 * real local S3 server instead; the contract test holds both to the same behaviour.
 */
import { createHash } from 'node:crypto';
import { lupError } from '../core/errors';
import { sameEtag } from '../core/etag';
import type { ByteSource, CopyOptions, ObjectInfo, ObjectStore, PutOptions, StoredObject } from '../core/ports';

interface Entry {
  body: Uint8Array;
  etag: string;
  lastModified: Date;
  cacheControl?: string;
  contentType?: string;
}

/** A fault a test injects into the next matching call. */
export interface StoreFault {
  readonly operation: 'put' | 'copy' | 'delete' | 'get';
  readonly keyPrefix?: string;
}

export class MemoryObjectStore implements ObjectStore {
  private readonly objects = new Map<string, Entry>();
  /** Calls per operation, for tests that count requests. */
  readonly calls: Record<string, number> = {};
  private readonly faults: StoreFault[] = [];
  private mutations = 0;
  private crashAtMutation: number | undefined;

  constructor(private readonly clock: () => Date = () => new Date()) {}

  /** Make the next call matching the fault fail with `STORE_UNAVAILABLE` (a simulated crash). */
  injectFault(fault: StoreFault): void {
    this.faults.push(fault);
  }

  /**
   * Make the `n`-th write from now (put, copy or delete; 1 = the next) fail before it happens: a
   * crash at that point of whatever step runs. Counting writes lets a test crash every step at
   * every point in turn.
   */
  crashAtWrite(n: number): void {
    this.mutations = 0;
    this.crashAtMutation = n;
  }

  /** Writes since the last {@link crashAtWrite} (or since creation). */
  get writes(): number {
    return this.mutations;
  }

  private count(operation: string, key: string): void {
    this.calls[operation] = (this.calls[operation] ?? 0) + 1;
    if (operation === 'put' || operation === 'copy' || operation === 'delete') {
      this.mutations += 1;
      if (this.crashAtMutation === this.mutations) {
        this.crashAtMutation = undefined;
        throw lupError({ code: 'STORE_UNAVAILABLE', location: { key }, message: `injected crash before ${operation} of ${key}` });
      }
    }
    const index = this.faults.findIndex((f) => f.operation === operation && key.startsWith(f.keyPrefix ?? ''));
    if (index >= 0) {
      this.faults.splice(index, 1);
      throw lupError({ code: 'STORE_UNAVAILABLE', location: { key }, message: `injected ${operation} failure on ${key}` });
    }
  }

  private info(key: string, e: Entry): ObjectInfo {
    return { key, etag: e.etag, sizeBytes: e.body.length, lastModified: e.lastModified };
  }

  /** Every key, for invariant checks. */
  keys(): string[] {
    return [...this.objects.keys()].sort();
  }

  /** Raw bytes of a key (tests). */
  bytes(key: string): Uint8Array | undefined {
    return this.objects.get(key)?.body;
  }

  /** Overwrite bytes directly, bypassing every rule (tests that corrupt storage). */
  tamper(key: string, body: Uint8Array): void {
    this.objects.set(key, { body, etag: etagOf(body), lastModified: this.clock() });
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    this.count('head', key);
    const e = this.objects.get(key);
    return e ? this.info(key, e) : undefined;
  }

  async get(key: string): Promise<StoredObject | undefined> {
    this.count('get', key);
    const e = this.objects.get(key);
    return e ? { ...this.info(key, e), body: e.body } : undefined;
  }

  async readPrefix(key: string, lengthBytes: number): Promise<{ bytes: Uint8Array; sizeBytes: number; etag: string } | undefined> {
    this.count('get', key);
    const e = this.objects.get(key);
    return e ? { bytes: e.body.subarray(0, lengthBytes), sizeBytes: e.body.length, etag: e.etag } : undefined;
  }

  async getStream(key: string): Promise<{ info: ObjectInfo; body: AsyncIterable<Uint8Array> } | undefined> {
    this.count('get', key);
    const e = this.objects.get(key);
    if (!e) return undefined;
    const body = e.body;
    return { info: this.info(key, e), body: (async function* () { yield body; })() };
  }

  async openRange(key: string): Promise<{ info: ObjectInfo; source: ByteSource } | undefined> {
    this.count('get', key);
    const e = this.objects.get(key);
    if (!e) return undefined;
    const body = e.body;
    return {
      info: this.info(key, e),
      source: { sizeBytes: body.length, read: async function* (start: number, end: number) { yield body.subarray(start, end); } },
    };
  }

  async list(prefix: string, options?: { limit?: number }): Promise<ObjectInfo[]> {
    this.count('list', prefix);
    const out = [...this.objects.entries()].filter(([k]) => k.startsWith(prefix)).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, e]) => this.info(k, e));
    return options?.limit !== undefined ? out.slice(0, options.limit) : out;
  }

  private checkConditions(key: string, options: PutOptions | undefined): void {
    const existing = this.objects.get(key);
    if (options?.ifNoneMatch === '*' && existing) throw precondition(key, 'no object', `object ${existing.etag}`);
    if (options?.ifMatch !== undefined && (!existing || !sameEtag(existing.etag, options.ifMatch))) {
      throw precondition(key, `ETag ${options.ifMatch}`, existing ? `ETag ${existing.etag}` : 'no object');
    }
  }

  async put(key: string, body: Uint8Array | string, options?: PutOptions): Promise<{ etag: string }> {
    this.count('put', key);
    this.checkConditions(key, options);
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    const etag = etagOf(bytes);
    this.objects.set(key, { body: bytes, etag, lastModified: this.clock(), cacheControl: options?.cacheControl, contentType: options?.contentType });
    return { etag };
  }

  async copy(fromKey: string, toKey: string, options?: CopyOptions): Promise<{ etag: string }> {
    this.count('copy', toKey);
    const source = this.objects.get(fromKey);
    // S3 answers a missing copy source with 404 NoSuchKey, which the S3 adapter reports as a failed precondition.
    if (!source) throw precondition(fromKey, 'a copy source', 'no object');
    if (options?.sourceIfMatch !== undefined && !sameEtag(source.etag, options.sourceIfMatch)) throw precondition(fromKey, `source ETag ${options.sourceIfMatch}`, `ETag ${source.etag}`);
    this.checkConditions(toKey, options);
    this.objects.set(toKey, { ...source, lastModified: this.clock(), cacheControl: options?.cacheControl ?? source.cacheControl, contentType: options?.contentType ?? source.contentType });
    return { etag: source.etag };
  }

  async delete(key: string): Promise<void> {
    this.count('delete', key);
    this.objects.delete(key);
  }

  /** Cache-Control stored with a key (tests of headers). */
  cacheControl(key: string): string | undefined {
    return this.objects.get(key)?.cacheControl;
  }
}

function etagOf(body: Uint8Array): string {
  return `"${createHash('md5').update(body).digest('hex')}"`;
}

function precondition(key: string, expected: string, actual: string) {
  // The cause stands where the S3 adapter keeps the service's 412 error.
  return lupError(
    { code: 'STORE_PRECONDITION_FAILED', location: { key }, expected, actual, message: `Conditional write to ${key} failed: expected ${expected}, found ${actual}.` },
    new Error(`PreconditionFailed (412): ${key}`),
  );
}
