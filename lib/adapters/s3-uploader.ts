/**
 * Uploads of local files to the bucket for `lup publish`: one PutObject for small files, a
 * multipart upload (lib-storage `Upload`) for large archives.
 */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { readFile } from 'node:fs/promises';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { lupError } from '../core/errors';

/** Files at or above this size go multipart (to AWS: parts upload in parallel and resume cheaply). */
export const MULTIPART_THRESHOLD_BYTES = 16 * 1024 * 1024;
/**
 * The cut-off for a local S3 server (`lup local`). s3rver stores each part and joins them into the
 * object at completion: one more read, write and MD5 of the whole archive on the server, which made
 * a 150 MB archive's upload take 2 s instead of 0.5 s and delayed its verification (BENCHMARKS.md,
 * issue 12). Below this size one PutObject is sent, read into memory first; rclone's default
 * cut-off is 200 MiB for the same reason.
 */
export const LOCAL_MULTIPART_THRESHOLD_BYTES = 256 * 1024 * 1024;
/** Part size of multipart uploads; memory per upload is about `MULTIPART_QUEUE_SIZE` × this. */
export const MULTIPART_PART_BYTES = 8 * 1024 * 1024;
export const MULTIPART_QUEUE_SIZE = 4;

/** One file to upload. */
export interface FileUploadRequest {
  readonly client: S3Client;
  readonly bucket: string;
  readonly key: string;
  /** Local file; or `body` for bytes already in memory. */
  readonly path?: string;
  readonly body?: Uint8Array | string;
  readonly sizeBytes: number;
  readonly contentType?: string;
  /** Called with the bytes sent so far of this file. */
  readonly onProgress?: (loadedBytes: number) => void;
  /** Size from which the file goes multipart. @default MULTIPART_THRESHOLD_BYTES */
  readonly multipartThresholdBytes?: number;
  /**
   * Send all but the file's last bytes at once, the rest only once this settles: if it rejects, the
   * upload fails with its error before it completes, and S3 (and the local server) stores nothing
   * of an incomplete PutObject or an aborted multipart upload. `lup publish` checks an archive this
   * way while it uploads. A held file below the multipart size is streamed in one PutObject, which
   * the SDK cannot retry.
   */
  readonly holdLastBytesUntil?: Promise<void>;
}

/** What a held upload keeps back until it may complete. */
const HELD_TAIL_BYTES = 64 * 1024;

/** The file as a stream whose last bytes wait for `hold`; the stream fails with its error if it rejects. */
function heldTailStream(path: string, sizeBytes: number, hold: Promise<void>): Readable {
  const tail = Math.min(sizeBytes, HELD_TAIL_BYTES);
  const stream = Readable.from((async function* () {
    if (sizeBytes > tail) yield* createReadStream(path, { start: 0, end: sizeBytes - tail - 1, highWaterMark: READ_CHUNK_BYTES });
    await hold;
    if (tail > 0) yield* createReadStream(path, { start: sizeBytes - tail, end: sizeBytes - 1 });
  })(), { objectMode: false });
  // The SDK pipes the body into the request without listening for its errors; the caller aborts the
  // request instead (an 'error' event nobody listens to would end the process).
  stream.on('error', () => undefined);
  return stream;
}

/** Bytes per read of a streamed upload. */
const READ_CHUNK_BYTES = 1024 * 1024;

/** Upload one file; failures become `STORE_UNAVAILABLE` naming the key, with the SDK error as cause. */
export async function uploadFile(request: FileUploadRequest): Promise<void> {
  const { client, bucket, key, sizeBytes } = request;
  try {
    const hold = request.holdLastBytesUntil;
    const multipart = request.body === undefined && sizeBytes >= (request.multipartThresholdBytes ?? MULTIPART_THRESHOLD_BYTES);
    if (!multipart && hold && request.path !== undefined) {
      // Streamed with its length known, so the held tail is the last thing the server receives. A
      // streamed body cannot be sent again, so the SDK does not retry it: callers hold local uploads
      // this way, and wait themselves before a small upload to AWS, which is then sent from memory.
      // The request is aborted when the hold fails: the server gets fewer bytes than announced and stores nothing.
      const aborted = new AbortController();
      hold.catch(() => aborted.abort());
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: heldTailStream(request.path, sizeBytes, hold), ContentLength: sizeBytes, ContentType: request.contentType }), { abortSignal: aborted.signal });
      request.onProgress?.(sizeBytes);
      return;
    }
    if (!multipart) {
      const body = request.body ?? (await readFile(request.path as string));
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: request.contentType }));
      request.onProgress?.(sizeBytes);
      return;
    }
    const path = request.path as string;
    const upload = new Upload({
      client,
      params: { Bucket: bucket, Key: key, Body: hold ? heldTailStream(path, sizeBytes, hold) : createReadStream(path), ContentType: request.contentType },
      partSize: MULTIPART_PART_BYTES,
      queueSize: MULTIPART_QUEUE_SIZE,
      leavePartsOnError: false,
    });
    upload.on('httpUploadProgress', (p) => request.onProgress?.(p.loaded ?? 0));
    // A failed hold ends the body with its error; aborting also stops the parts in flight.
    hold?.catch(() => { upload.abort().catch(() => undefined); });
    await upload.done();
    request.onProgress?.(sizeBytes);
  } catch (cause) {
    throw lupError({
      code: 'STORE_UNAVAILABLE', location: { key, file: request.path },
      message: `Uploading ${request.path ?? key} to ${key} failed: ${cause instanceof Error ? cause.message : String(cause)}. Check the endpoint, the bucket and your credentials, then publish again (already uploaded content is skipped).`,
    }, cause);
  }
}
