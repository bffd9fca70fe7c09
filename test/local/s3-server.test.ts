/**
 * The local S3 server's copy: s3rver reuses the source's MD5 for a copy that replaces the metadata
 * (lib/local/s3-server.ts) instead of reading the copy again; what a client sees must not change.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { request } from 'node:http';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { SignatureV4 } from '@smithy/signature-v4';
import { NodeSha256 } from '../../lib/local/request-auth';
import { startLocalS3, type LocalS3 } from './local-s3';

const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath ?? (e as unknown as { path: string }).path, e.name));
}

/** A PUT signed for `bytes.length + 1` bytes whose connection is cut after `bytes`: an aborted upload. */
async function abortedPut(endpoint: string, bucket: string, key: string, bytes: Buffer, credentials: { accessKeyId: string; secretAccessKey: string }): Promise<void> {
  const url = new URL(endpoint);
  const signer = new SignatureV4({ credentials, region: 'us-east-1', service: 's3', sha256: NodeSha256, uriEscapePath: false, applyChecksum: false });
  const path = `/${bucket}/${key}`;
  const signed = await signer.sign({ method: 'PUT', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path,
    headers: { host: url.host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', 'content-length': String(bytes.length + 1) } });
  await new Promise<void>((resolve) => {
    const req = request({ host: url.hostname, port: Number(url.port), method: 'PUT', path, headers: signed.headers });
    req.on('error', () => undefined);
    req.write(bytes, () => setTimeout(() => { req.destroy(); resolve(); }, 100));
  });
}

async function openFiles(): Promise<number> {
  return (await readdir('/proc/self/fd')).length;
}

describe('local S3 server: an aborted PUT (adversary F1, F2)', () => {
  let s3: LocalS3;
  beforeAll(async () => { s3 = await startLocalS3(); });
  afterAll(async () => { await s3.close(); });

  it('leaves the object it would have replaced as it was: same bytes, same ETag, and a copy pinned to that ETag copies those bytes', async () => {
    const good = Buffer.alloc(200_000, 1);
    const bad = Buffer.alloc(150_000, 2);
    await s3.store.put('staging/g/u/aa', good);
    await abortedPut(s3.gate.endpoint, s3.bucket, 'staging/g/u/aa', bad, s3.credentials);
    await new Promise((r) => setTimeout(r, 200));
    const after = await s3.store.get('staging/g/u/aa');
    expect(Buffer.from(after!.body).equals(good)).toBe(true);
    expect(after!.etag.replace(/"/g, '')).toBe(md5(good));
    await s3.store.copy('staging/g/u/aa', 'content/g/aa', { sourceIfMatch: `"${md5(good)}"`, contentType: 'application/octet-stream' });
    expect(Buffer.from((await s3.store.get('content/g/aa'))!.body).equals(good)).toBe(true);
  });

  it('keeps no file open and no partial file behind', async () => {
    const before = await openFiles();
    for (let i = 0; i < 30; i++) await abortedPut(s3.gate.endpoint, s3.bucket, `staging/g/u/ab${i}`, Buffer.alloc(70_000, 3), s3.credentials);
    await new Promise((r) => setTimeout(r, 300));
    expect(await openFiles()).toBeLessThan(before + 10);
    expect((await filesUnder(s3.dir)).filter((f) => f.includes('/ab'))).toEqual([]);
    expect(await s3.store.list('staging/g/u/ab')).toEqual([]);
  });
});

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

describe('local S3 server: deletes (no folder listing per DELETE)', () => {
  let s3: LocalS3;
  beforeAll(async () => { s3 = await startLocalS3(); });
  afterAll(async () => { await s3.close(); });

  it('removes the folders a delete empties, keeps the ones still holding objects', async () => {
    await s3.store.put('d/a/b/one', 'x');
    await s3.store.put('d/a/two', 'y');
    await s3.store.delete('d/a/b/one');
    const left = await filesUnder(s3.dir);
    expect(left.some((f) => f.includes(`${join('d', 'a', 'b')}`))).toBe(false);
    expect(left.some((f) => f.includes(join('d', 'a', 'two')))).toBe(true);
    await s3.store.delete('d/a/two');
    expect((await filesUnder(s3.dir)).some((f) => f.includes(`${join(s3.bucket, 'd')}`))).toBe(false);
    expect(await s3.store.list('d/')).toEqual([]);
  });

  it('never fails a PUT into a folder whose last object is being deleted at that moment', async () => {
    for (let round = 0; round < 40; round++) {
      await s3.store.put(`race/${round}/old`, 'o');
      const [, put] = await Promise.allSettled([s3.store.delete(`race/${round}/old`), s3.store.put(`race/${round}/new`, 'n')]);
      expect(put.status).toBe('fulfilled');
      expect((await s3.store.get(`race/${round}/new`))?.body).toEqual(new Uint8Array(Buffer.from('n')));
    }
  });
});
