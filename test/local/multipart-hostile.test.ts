/**
 * Multipart uploads a hostile client can send to the local S3 endpoint (adversary review of issue
 * 12). s3rver joins `uploadId` and `partNumber` into file paths, joins the listed parts with a stream
 * that has no error handling, and completes an upload at the key it was started for, whatever the
 * URL says. Each case failed on the code before the fix: a file written outside the data folder, a
 * crashed server, an object written past the gate's lock on another key.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { startLocalS3, type LocalS3 } from './local-s3';

let s3: LocalS3;
beforeAll(async () => { s3 = await startLocalS3(); });
afterAll(async () => { await s3.close(); });

async function failure(promise: Promise<unknown>): Promise<{ name: string; status?: number }> {
  const error = (await promise.then(() => undefined, (e: unknown) => e)) as { name: string; $metadata?: { httpStatusCode?: number } } | undefined;
  if (!error) throw new Error('expected the request to fail, but it succeeded');
  return { name: error.name, status: error.$metadata?.httpStatusCode };
}

test('an uploadId or partNumber with a path in it is refused; nothing is written outside the data folder', async () => {
  const outside = join(s3.dir, '..', `pwned-${process.pid}`);
  const part = (UploadId: string, PartNumber: number) =>
    s3.client.send(new UploadPartCommand({ Bucket: s3.bucket, Key: 'staging/g/u/a.zip', UploadId, PartNumber, Body: 'x' }));
  expect((await failure(part(`../../../pwned-${process.pid}`, 1))).status).toBe(400);
  expect((await failure(part('0123456789abcdef0123456789abcdef/../../x', 1))).status).toBe(400);
  expect(existsSync(outside)).toBe(false);
});

test('completing with a part that was never uploaded is InvalidPart, and the server keeps serving', async () => {
  const { UploadId } = await s3.client.send(new CreateMultipartUploadCommand({ Bucket: s3.bucket, Key: 'staging/g/u/b.zip' }));
  const one = await s3.client.send(new UploadPartCommand({ Bucket: s3.bucket, Key: 'staging/g/u/b.zip', UploadId, PartNumber: 1, Body: Buffer.alloc(5 * 1024 * 1024, 1) }));
  const complete = s3.client.send(new CompleteMultipartUploadCommand({
    Bucket: s3.bucket, Key: 'staging/g/u/b.zip', UploadId,
    MultipartUpload: { Parts: [{ PartNumber: 1, ETag: one.ETag }, { PartNumber: 2, ETag: '"0123456789abcdef0123456789abcdef"' }] },
  }));
  expect(await failure(complete)).toEqual({ name: 'InvalidPart', status: 400 });
  await s3.store.put('staging/g/u/after.txt', 'still here');
  expect(Buffer.from((await s3.store.get('staging/g/u/after.txt'))!.body).toString()).toBe('still here');
  expect(await s3.store.head('staging/g/u/b.zip')).toBeUndefined();
});

test('an upload started for one key cannot be completed at another', async () => {
  const { UploadId } = await s3.client.send(new CreateMultipartUploadCommand({ Bucket: s3.bucket, Key: 'staging/g/u/started.zip' }));
  const one = await s3.client.send(new UploadPartCommand({ Bucket: s3.bucket, Key: 'staging/g/u/started.zip', UploadId, PartNumber: 1, Body: 'x' }));
  const complete = s3.client.send(new CompleteMultipartUploadCommand({
    Bucket: s3.bucket, Key: 'staging/g/u/other.zip', UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: one.ETag }] },
  }));
  expect((await failure(complete)).name).toBe('NoSuchUpload');
  expect(await s3.store.head('staging/g/u/started.zip')).toBeUndefined();
  expect(await s3.store.head('staging/g/u/other.zip')).toBeUndefined();
});

test('AbortMultipartUpload removes the upload\'s parts, only at the key it was started for (s3rver 3.7 answered 405 and kept them for good)', async () => {
  const key = 'staging/g/u/aborted.zip';
  const { UploadId } = await s3.client.send(new CreateMultipartUploadCommand({ Bucket: s3.bucket, Key: key }));
  await s3.client.send(new UploadPartCommand({ Bucket: s3.bucket, Key: key, UploadId, PartNumber: 1, Body: Buffer.alloc(1024, 1) }));
  const folder = join(s3.dir, s3.bucket, '._S3rver_uploads', UploadId as string);
  expect(existsSync(folder)).toBe(true);
  const abort = (Key: string) => s3.client.send(new AbortMultipartUploadCommand({ Bucket: s3.bucket, Key, UploadId }));
  expect(await failure(abort('staging/g/u/other.zip'))).toEqual({ name: 'NoSuchUpload', status: 404 });
  expect(existsSync(folder)).toBe(true);
  await abort(key);
  expect(existsSync(folder)).toBe(false);
  expect(await failure(abort(key))).toEqual({ name: 'NoSuchUpload', status: 404 });
});
