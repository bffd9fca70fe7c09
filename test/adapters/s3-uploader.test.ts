/**
 * lib/adapters/s3-uploader.ts against a real local S3 server: a large file goes multipart by default
 * (AWS) and in one PutObject below the local cut-off (s3rver joins parts at completion: one more
 * pass over the whole archive; issue 12). The server's own event names tell which request stored it.
 */
import { randomBytes } from 'node:crypto';
import { readdir, stat, writeFile } from 'node:fs/promises';
import { createS3Client } from '../../lib/adapters/s3-client';
import { join } from 'node:path';
import { LOCAL_MULTIPART_THRESHOLD_BYTES, MULTIPART_THRESHOLD_BYTES, uploadFile } from '../../lib/adapters/s3-uploader';
import { startLocalS3, type LocalS3 } from '../local/local-s3';

let s3: LocalS3;
const events: string[] = [];
beforeAll(async () => {
  s3 = await startLocalS3();
  s3.s3.onEvent((e) => { for (const r of e.Records) events.push(`${r.eventName} ${r.s3.object.key}`); });
});
afterAll(async () => { await s3.close(); });

test('a 20 MB file: multipart by default, one PutObject under the local cut-off; the bytes arrive whole', async () => {
  expect(MULTIPART_THRESHOLD_BYTES).toBeLessThan(20_000_000);
  expect(LOCAL_MULTIPART_THRESHOLD_BYTES).toBeGreaterThan(20_000_000);
  const bytes = randomBytes(20_000_000);
  const path = join(s3.dir, '..', `upload-${process.pid}.bin`);
  await writeFile(path, bytes);
  await uploadFile({ client: s3.client, bucket: s3.bucket, key: 'up/multipart.bin', path, sizeBytes: bytes.length });
  await uploadFile({ client: s3.client, bucket: s3.bucket, key: 'up/single.bin', path, sizeBytes: bytes.length, multipartThresholdBytes: LOCAL_MULTIPART_THRESHOLD_BYTES });
  expect(events.filter((e) => e.endsWith('up/multipart.bin'))).toEqual(['ObjectCreated:Post up/multipart.bin']); // s3rver names a CompleteMultipartUpload (a POST) so
  expect(events.filter((e) => e.endsWith('up/single.bin'))).toEqual(['ObjectCreated:Put up/single.bin']);
  for (const key of ['up/multipart.bin', 'up/single.bin']) {
    const stored = await s3.store.get(key);
    expect(Buffer.from(stored!.body).equals(bytes)).toBe(true);
  }
}, 60_000);

describe('an upload held until the local check passes (lup publish checks an archive while it uploads)', () => {
  const deferred = (): { promise: Promise<void>; resolve: () => void; reject: (error: Error) => void } => {
    let resolve!: () => void;
    let reject!: (error: Error) => void;
    const promise = new Promise<void>((res, rej) => { resolve = res; reject = rej; });
    return { promise, resolve, reject };
  };
  const localClient = () => createS3Client({ endpoint: s3.gate.endpoint, credentials: s3.credentials, requestChecksums: 'when-required', sdkWarnings: 'silent' });
  const file = async (name: string, size: number): Promise<{ path: string; bytes: Buffer }> => {
    const bytes = randomBytes(size);
    const path = join(s3.dir, '..', `held-${process.pid}-${name}`);
    await writeFile(path, bytes);
    return { path, bytes };
  };
  const leftovers = async (): Promise<string[]> => {
    const found: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
        if (entry.isDirectory()) await walk(join(dir, entry.name));
        else if (entry.name.includes('.lup-partial')) found.push(entry.name);
      }
    };
    await walk(join(s3.dir, s3.bucket));
    const uploads = await readdir(join(s3.dir, s3.bucket, '._S3rver_uploads')).catch(() => []);
    return [...found, ...uploads.map((u) => `multipart upload ${u}`)];
  };

  test('in one PutObject: nothing is stored while the hold is pending, then the whole file', async () => {
    const client = localClient();
    const { path, bytes } = await file('single-ok', 3_000_000);
    const hold = deferred();
    const uploading = uploadFile({ client, bucket: s3.bucket, key: 'held/ok.bin', path, sizeBytes: bytes.length, multipartThresholdBytes: LOCAL_MULTIPART_THRESHOLD_BYTES, holdLastBytesUntil: hold.promise });
    await new Promise((r) => setTimeout(r, 300));
    // Not asked through the gate, which holds the key's lock for the upload in progress.
    expect(events.filter((e) => e.endsWith('held/ok.bin'))).toEqual([]);
    await expect(stat(join(s3.dir, s3.bucket, 'held', 'ok.bin._S3rver_object'))).rejects.toMatchObject({ code: 'ENOENT' });
    hold.resolve();
    await uploading;
    expect(Buffer.from((await s3.store.get('held/ok.bin'))!.body).equals(bytes)).toBe(true);
    client.destroy();
  });

  test.each([
    ['in one PutObject', LOCAL_MULTIPART_THRESHOLD_BYTES, 3_000_000],
    ['multipart', MULTIPART_THRESHOLD_BYTES, 20_000_000],
  ])('%s: a failed hold stops the upload and nothing is stored, not even parts', async (_how, threshold, size) => {
    const client = localClient();
    const key = `held/refused-${size}.bin`;
    const { path, bytes } = await file(`refused-${size}`, size);
    const hold = deferred();
    const uploading = uploadFile({ client, bucket: s3.bucket, key, path, sizeBytes: bytes.length, multipartThresholdBytes: threshold, holdLastBytesUntil: hold.promise });
    await new Promise((r) => setTimeout(r, 300));
    hold.reject(new Error('the local check refused the archive'));
    await expect(uploading).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE', location: { key } });
    await new Promise((r) => setTimeout(r, 200));
    expect(await s3.store.head(key)).toBeUndefined();
    expect(events.filter((e) => e.endsWith(key))).toEqual([]);
    expect(await leftovers()).toEqual([]);
    client.destroy();
  }, 60_000);
});
