/**
 * The S3 adapter: the only code that speaks S3 (with `s3-client.ts`, which builds the client).
 * It implements the core's {@link ObjectStore} port and turns SDK errors into {@link LupError}s,
 * keeping the SDK error as `cause`:
 *
 * | S3 answer | result |
 * |---|---|
 * | 412 `PreconditionFailed`, 409 `ConditionalRequestConflict` | `STORE_PRECONDITION_FAILED` |
 * | 404 on a conditional write or copy (`If-Match` on a missing key, missing copy source) | `STORE_PRECONDITION_FAILED` |
 * | 404 on a read | `undefined` |
 * | anything else | `STORE_UNAVAILABLE` (message names the operation and the key) |
 *
 * Retries are the SDK's (standard mode: throttling, 5xx, network). Note that a conditional write
 * the SDK retries after a lost response can come back 412 although the first attempt succeeded;
 * callers that CAS re-read the object and compare before treating a 412 as a lost race.
 */
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { lupError, type LupError } from '../core/errors';
import { checkOneCondition } from '../core/store-conditions';
import type {
  ByteSource,
  CopyOptions,
  ObjectInfo,
  ObjectStore,
  PutOptions,
  StoredObject,
} from '../core/ports';

/** Options of {@link S3ObjectStore}. */
export interface S3ObjectStoreProps {
  /** The client to send every command with; built by the caller (see `createS3Client`). */
  readonly client: S3Client;
  /** The bucket every key lives in. */
  readonly bucket: string;
  /**
   * Keys asked for per ListObjectsV2 page (S3 caps it at 1000).
   * @default 1000
   */
  readonly listPageSize?: number;
}

/** The shape of an SDK service error, read defensively (no `instanceof`, which breaks across bundles). */
interface SdkErrorShape {
  readonly name?: string;
  readonly Code?: string;
  readonly $metadata?: { readonly httpStatusCode?: number };
}

function statusOf(error: unknown): number | undefined {
  return (error as SdkErrorShape | undefined)?.$metadata?.httpStatusCode;
}

function nameOf(error: unknown): string | undefined {
  const e = error as SdkErrorShape | undefined;
  return e?.Code ?? e?.name;
}

function isNotFound(error: unknown): boolean {
  const name = nameOf(error);
  return statusOf(error) === 404 || name === 'NoSuchKey' || name === 'NotFound';
}

function isPreconditionFailure(error: unknown): boolean {
  const name = nameOf(error);
  // 409 only when S3 says the conditional write lost a race; other 409s are not about our condition.
  return statusOf(error) === 412 || name === 'PreconditionFailed' || name === 'ConditionalRequestConflict';
}

/** An S3 ETag as S3 writes it: with its double quotes. */
function quoted(etag: string): string {
  const bare = etag.trim().replace(/^"|"$/g, '');
  return `"${bare}"`;
}

/** Object storage on an S3 bucket (AWS, or the local stack's gate in front of s3rver). */
export class S3ObjectStore implements ObjectStore {
  /** The bucket this store reads and writes. */
  readonly bucket: string;
  private readonly client: S3Client;
  private readonly listPageSize: number;

  constructor(props: S3ObjectStoreProps) {
    const problems: string[] = [];
    if (!props.client) problems.push('client is required (build one with createS3Client)');
    if (typeof props.bucket !== 'string' || props.bucket.length === 0) problems.push('bucket must be a non-empty bucket name');
    const pageSize = props.listPageSize ?? 1000;
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000) {
      problems.push(`listPageSize must be a whole number from 1 to 1000, got ${String(props.listPageSize)}`);
    }
    if (problems.length > 0) {
      throw lupError({ code: 'CONFIG_INVALID', message: `S3ObjectStore: ${problems.join('; ')}.` });
    }
    this.client = props.client;
    this.bucket = props.bucket;
    this.listPageSize = pageSize;
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { key, etag: quoted(out.ETag ?? ''), sizeBytes: out.ContentLength ?? 0, lastModified: out.LastModified };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw this.unavailable('HeadObject', key, error);
    }
  }

  async get(key: string): Promise<StoredObject | undefined> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      const body = out.Body ? await out.Body.transformToByteArray() : new Uint8Array(0);
      return { key, etag: quoted(out.ETag ?? ''), sizeBytes: body.byteLength, lastModified: out.LastModified, body };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw this.unavailable('GetObject', key, error);
    }
  }

  async readPrefix(key: string, lengthBytes: number): Promise<{ bytes: Uint8Array; sizeBytes: number; etag: string } | undefined> {
    if (lengthBytes <= 0) {
      const info = await this.head(key);
      return info && { bytes: new Uint8Array(0), sizeBytes: info.sizeBytes, etag: info.etag };
    }
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: `bytes=0-${lengthBytes - 1}` }));
      // `Content-Range: bytes 0-15/12345` carries the whole size. A server that ignores the range
      // sends the whole object instead: read only what was asked for, then drop the connection.
      const total = /\/(\d+)$/.exec(out.ContentRange ?? '')?.[1];
      const chunks: Uint8Array[] = [];
      let read = 0;
      const body = (out.Body ?? emptyStream()) as AsyncIterable<Uint8Array> & { destroy?: () => void };
      for await (const chunk of this.guardStream('GetObject', key, body)) {
        chunks.push(chunk.subarray(0, lengthBytes - read));
        read += chunk.length;
        if (read >= lengthBytes) break;
      }
      body.destroy?.();
      const bytes = Buffer.concat(chunks);
      return { bytes, sizeBytes: total !== undefined ? Number(total) : out.ContentLength ?? read, etag: quoted(out.ETag ?? '') };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw this.unavailable('GetObject', key, error);
    }
  }

  async getStream(key: string): Promise<{ info: ObjectInfo; body: AsyncIterable<Uint8Array> } | undefined> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      const info: ObjectInfo = { key, etag: quoted(out.ETag ?? ''), sizeBytes: out.ContentLength ?? 0, lastModified: out.LastModified };
      // In Node the SDK's body is an http.IncomingMessage, which is an AsyncIterable of Buffers.
      const body = (out.Body ?? emptyStream()) as AsyncIterable<Uint8Array>;
      return { info, body: this.guardStream('GetObject', key, body) };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw this.unavailable('GetObject', key, error);
    }
  }

  async openRange(key: string): Promise<{ info: ObjectInfo; source: ByteSource } | undefined> {
    const info = await this.head(key);
    if (!info) return undefined;
    const store = this;
    const source: ByteSource = {
      sizeBytes: info.sizeBytes,
      read(start: number, end: number): AsyncIterable<Uint8Array> {
        return store.readRange(info, start, end);
      },
    };
    return { info, source };
  }

  async list(prefix: string, options: { limit?: number } = {}): Promise<ObjectInfo[]> {
    const limit = options.limit ?? Infinity;
    if (!(limit >= 0)) {
      throw lupError({ code: 'INTERNAL', location: { key: prefix }, expected: 'a limit >= 0', actual: String(options.limit), message: `list of ${prefix} was given a negative limit.` });
    }
    const out: ObjectInfo[] = [];
    let token: string | undefined;
    do {
      if (out.length >= limit) break;
      let page;
      try {
        page = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: prefix,
            ContinuationToken: token,
            MaxKeys: Math.min(this.listPageSize, limit - out.length),
          }),
        );
      } catch (error) {
        throw this.unavailable('ListObjectsV2', prefix, error);
      }
      for (const item of page.Contents ?? []) {
        if (item.Key === undefined) continue;
        out.push({ key: item.Key, etag: quoted(item.ETag ?? ''), sizeBytes: item.Size ?? 0, lastModified: item.LastModified });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    // S3 returns keys in UTF-8 byte order already; sorting keeps that promise on S3-compatible servers too.
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)).slice(0, limit);
  }

  async put(key: string, body: Uint8Array | string, options: PutOptions = {}): Promise<{ etag: string }> {
    checkOneCondition('PutObject', key, options);
    try {
      const out = await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: body,
          ContentType: options.contentType,
          CacheControl: options.cacheControl,
          IfMatch: options.ifMatch,
          IfNoneMatch: options.ifNoneMatch,
        }),
      );
      return { etag: quoted(out.ETag ?? '') };
    } catch (error) {
      throw this.writeError('PutObject', key, options, error);
    }
  }

  async copy(fromKey: string, toKey: string, options: CopyOptions = {}): Promise<{ etag: string }> {
    checkOneCondition('CopyObject', toKey, options);
    // S3 copies the source's metadata unless told to REPLACE it, and REPLACE replaces all of it:
    // a copy given only a content type loses the source's Cache-Control.
    const replaceMetadata = options.contentType !== undefined || options.cacheControl !== undefined;
    try {
      const out = await this.client.send(
        new CopyObjectCommand({
          Bucket: this.bucket,
          Key: toKey,
          CopySource: `${this.bucket}/${encodeKeyForCopySource(fromKey)}`,
          CopySourceIfMatch: options.sourceIfMatch,
          // Destination conditions: S3 supports If-Match / If-None-Match on CopyObject like on PutObject.
          IfMatch: options.ifMatch,
          IfNoneMatch: options.ifNoneMatch,
          MetadataDirective: replaceMetadata ? 'REPLACE' : undefined,
          ContentType: options.contentType,
          CacheControl: options.cacheControl,
        }),
      );
      return { etag: quoted(out.CopyObjectResult?.ETag ?? '') };
    } catch (error) {
      if (isNotFound(error) && !options.ifMatch) {
        // The source is gone (or the bucket is): the state the caller copied from no longer holds.
        throw lupError(
          {
            code: 'STORE_PRECONDITION_FAILED',
            location: { key: fromKey },
            expected: options.sourceIfMatch ? `an object with ETag ${options.sourceIfMatch}` : 'an existing object',
            actual: 'no object',
            message: `CopyObject from ${fromKey} to ${toKey} failed: the source object does not exist.`,
          },
          error,
        );
      }
      throw this.writeError('CopyObject', toKey, options, error, fromKey);
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (error) {
      if (isNotFound(error)) return;
      throw this.unavailable('DeleteObject', key, error);
    }
  }

  private async *readRange(info: ObjectInfo, start: number, end: number): AsyncIterable<Uint8Array> {
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < start || end > info.sizeBytes) {
      throw lupError({
        code: 'INTERNAL',
        location: { key: info.key },
        expected: `0 <= start <= end <= ${info.sizeBytes}`,
        actual: `start ${start}, end ${end}`,
        message: `Byte range [${start}, ${end}) is outside ${info.key} (${info.sizeBytes} bytes).`,
      });
    }
    if (start === end) return;
    let out;
    try {
      out = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: info.key,
          Range: `bytes=${start}-${end - 1}`,
          // Every range read is pinned to the ETag seen at open, so an object replaced mid-read
          // fails loudly instead of mixing bytes of two versions.
          IfMatch: info.etag,
        }),
      );
    } catch (error) {
      if (isPreconditionFailure(error) || isNotFound(error)) {
        throw lupError(
          {
            code: 'STORE_PRECONDITION_FAILED',
            location: { key: info.key, offset: start },
            expected: `ETag ${info.etag}`,
            actual: isNotFound(error) ? 'no object' : 'another ETag',
            message: `${info.key} changed or disappeared while it was being read.`,
          },
          error,
        );
      }
      throw this.unavailable('GetObject (range)', info.key, error);
    }
    // Never yield more than asked: some S3-compatible servers (s3rver for `bytes=0-0`) answer a
    // range with the whole object.
    let remaining = end - start;
    for await (const chunk of this.guardStream('GetObject (range)', info.key, (out.Body ?? emptyStream()) as AsyncIterable<Uint8Array>)) {
      if (remaining <= 0) break;
      const piece = chunk.byteLength > remaining ? chunk.subarray(0, remaining) : chunk;
      remaining -= piece.byteLength;
      yield piece;
    }
    if (remaining > 0) {
      throw lupError({
        code: 'STORE_UNAVAILABLE',
        location: { key: info.key, offset: end - remaining },
        expected: `${end - start} bytes`,
        actual: `${end - start - remaining} bytes`,
        message: `GetObject (range) of ${info.key} ended early; retry the read.`,
      });
    }
  }

  /** Wrap a body so a broken connection mid-stream surfaces as STORE_UNAVAILABLE, not a raw socket error. */
  private async *guardStream(operation: string, key: string, body: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
    try {
      for await (const chunk of body) yield chunk;
    } catch (error) {
      throw this.unavailable(operation, key, error);
    }
  }

  private writeError(operation: string, key: string, options: CopyOptions, error: unknown, fromKey?: string): LupError {
    const conditional = options.ifMatch !== undefined || options.ifNoneMatch !== undefined || options.sourceIfMatch !== undefined;
    // S3 answers If-Match on a missing key with 404 NoSuchKey: the compare half of the CAS failed.
    if (isPreconditionFailure(error) || (conditional && isNotFound(error))) {
      const expected = options.ifNoneMatch
        ? 'no object at the key (If-None-Match: *)'
        : options.ifMatch
          ? `ETag ${options.ifMatch}`
          : `source ETag ${options.sourceIfMatch}`;
      const conflict = nameOf(error) === 'ConditionalRequestConflict';
      return lupError(
        {
          code: 'STORE_PRECONDITION_FAILED',
          location: { key },
          expected,
          actual: conflict ? 'a concurrent conditional write' : isNotFound(error) ? 'no object' : 'another state',
          message: `${operation} of ${key}${fromKey ? ` from ${fromKey}` : ''} was refused: the object is not in the expected state (${expected}). Re-read it and retry.`,
        },
        error,
      );
    }
    return this.unavailable(operation, key, error);
  }

  private unavailable(operation: string, key: string, error: unknown): LupError {
    const status = statusOf(error);
    const name = nameOf(error) ?? 'Error';
    const detail = error instanceof Error ? error.message : String(error);
    return lupError(
      {
        code: 'STORE_UNAVAILABLE',
        location: { key },
        actual: `${name}${status ? ` (HTTP ${status})` : ''}: ${detail}`,
        message: `${operation} of ${key} in bucket ${this.bucket} failed: ${detail}`,
      },
      error,
    );
  }
}

/** CopySource is `bucket/key` with the key URL-encoded, slashes kept. */
function encodeKeyForCopySource(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}

async function* emptyStream(): AsyncIterable<Uint8Array> {
  // An object of zero bytes may come back without a body.
}
