/**
 * Uploads of local files to the bucket for `lup publish`: one PutObject for small files, a
 * multipart upload (lib-storage `Upload`) for large archives.
 */
import { createReadStream } from 'node:fs';
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
}

/** Upload one file; failures become `STORE_UNAVAILABLE` naming the key, with the SDK error as cause. */
export async function uploadFile(request: FileUploadRequest): Promise<void> {
  const { client, bucket, key, sizeBytes } = request;
  try {
    if (request.body !== undefined || sizeBytes < (request.multipartThresholdBytes ?? MULTIPART_THRESHOLD_BYTES)) {
      const body = request.body ?? (await readFile(request.path as string));
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: request.contentType }));
      request.onProgress?.(sizeBytes);
      return;
    }
    const upload = new Upload({
      client,
      params: { Bucket: bucket, Key: key, Body: createReadStream(request.path as string), ContentType: request.contentType },
      partSize: MULTIPART_PART_BYTES,
      queueSize: MULTIPART_QUEUE_SIZE,
      leavePartsOnError: false,
    });
    upload.on('httpUploadProgress', (p) => request.onProgress?.(p.loaded ?? 0));
    await upload.done();
    request.onProgress?.(sizeBytes);
  } catch (cause) {
    throw lupError({
      code: 'STORE_UNAVAILABLE', location: { key, file: request.path },
      message: `Uploading ${request.path ?? key} to ${key} failed: ${cause instanceof Error ? cause.message : String(cause)}. Check the endpoint, the bucket and your credentials, then publish again (already uploaded content is skipped).`,
    }, cause);
  }
}
