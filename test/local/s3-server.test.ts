/**
 * The local S3 server's copy: s3rver reuses the source's MD5 for a copy that replaces the metadata
 * (lib/local/s3-server.ts) instead of reading the copy again; what a client sees must not change.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { startLocalS3, type LocalS3 } from './local-s3';

const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath ?? (e as unknown as { path: string }).path, e.name));
}

describe('local S3 server: copies that replace metadata', () => {
  let s3: LocalS3;
  beforeAll(async () => { s3 = await startLocalS3(); });
  afterAll(async () => { await s3.close(); });

  it('gives the copy the bytes, the ETag (MD5) and the new content type a copy on S3 has', async () => {
    const body = new Uint8Array(randomBytes(3 * 1024 * 1024 + 17));
    await s3.store.put('staging/g/u/a.zip', body, { contentType: 'application/octet-stream' });
    await s3.store.copy('staging/g/u/a.zip', 'state/g/_verified/a.zip', { contentType: 'application/zip', cacheControl: 'no-store' });
    const copied = await s3.store.get('state/g/_verified/a.zip');
    expect(copied?.etag.replace(/"/g, '')).toBe(md5(body));
    expect(Buffer.from(copied!.body).equals(Buffer.from(body))).toBe(true);
    const head = await s3.client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: 'state/g/_verified/a.zip' }));
    expect(head.ContentType).toBe('application/zip');
    expect(head.CacheControl).toBe('no-store');
  });

  it('leaves nothing behind when the copy fails', async () => {
    await expect(s3.store.copy('staging/g/u/missing.zip', 'state/g/_verified/missing.zip', { contentType: 'application/zip' })).rejects.toThrow();
    expect(await s3.store.head('state/g/_verified/missing.zip')).toBeUndefined();
    expect((await filesUnder(s3.dir)).filter((f) => f.includes('missing.zip'))).toEqual([]);
  });
});
