import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createS3Client } from '../../lib/adapters/s3-client';
import { S3ObjectStore } from '../../lib/adapters/s3-store';

import { startLocalS3, type LocalS3 } from '../local/local-s3';
import { collect } from '../helpers/streams';

let local: LocalS3;
beforeAll(async () => {
  local = await startLocalS3();
});
afterAll(async () => {
  await local.close();
});

describe(S3ObjectStore, () => {
  test('reads of a missing object are undefined, not errors', async () => {
    const { store } = local;
    expect(await store.head('nothing/here')).toBeUndefined();
    expect(await store.get('nothing/here')).toBeUndefined();
    expect(await store.getStream('nothing/here')).toBeUndefined();
    expect(await store.openRange('nothing/here')).toBeUndefined();
  });

  test('put then head, get and getStream agree on ETag, size and bytes', async () => {
    const { store } = local;
    const body = new TextEncoder().encode('{"hello":"world"}');
    const { etag } = await store.put('docs/a.json', body, { contentType: 'application/json', cacheControl: 'no-cache' });
    expect(await store.head('docs/a.json')).toMatchObject({ key: 'docs/a.json', etag, sizeBytes: body.length });
    const got = await store.get('docs/a.json');
    expect(got).toMatchObject({ etag, sizeBytes: body.length });
    expect(Buffer.from(got?.body ?? []).toString()).toBe('{"hello":"world"}');
    const streamed = await store.getStream('docs/a.json');
    expect(streamed?.info).toMatchObject({ etag, sizeBytes: body.length });
    expect((await collect(streamed?.body ?? [])).toString()).toBe('{"hello":"world"}');
    const raw = await local.client.send(new GetObjectCommand({ Bucket: local.bucket, Key: 'docs/a.json' }));
    await raw.Body?.transformToString();
    expect({ type: raw.ContentType, cache: raw.CacheControl }).toEqual({ type: 'application/json', cache: 'no-cache' });
  });

  test('an empty object reads back as zero bytes', async () => {
    await local.store.put('docs/empty', new Uint8Array(0));
    expect((await local.store.get('docs/empty'))?.body).toHaveLength(0);
  });

  test('list pages through every object under the prefix, in key order', async () => {
    const paged = new S3ObjectStore({ client: local.client, bucket: local.bucket, listPageSize: 2 });
    const keys = ['list/d', 'list/a', 'list/sub/c', 'list/b', 'list/e'];
    await Promise.all(keys.map((k) => local.store.put(k, k)));
    await local.store.put('listing-not-this', 'x');
    const listed = await paged.list('list/');
    expect(listed.map((o) => o.key)).toEqual(['list/a', 'list/b', 'list/d', 'list/e', 'list/sub/c']);
    expect(listed[0]).toMatchObject({ sizeBytes: 6, etag: expect.stringMatching(/^"[0-9a-f]{32}"$/) });
    expect(await local.store.list('list/none/')).toEqual([]);
    expect((await paged.list('list/', { limit: 3 })).map((o) => o.key)).toEqual(['list/a', 'list/b', 'list/d']);
    expect(await paged.list('list/', { limit: 0 })).toEqual([]);
  });

  test('openRange reads exactly the bytes asked for, also the first byte alone', async () => {
    const body = Buffer.from('0123456789abcdefghij');
    await local.store.put('range/r.bin', body);
    const opened = await local.store.openRange('range/r.bin');
    if (!opened) throw new Error('expected the object');
    expect(opened.source.sizeBytes).toBe(20);
    const read = async (s: number, e: number) => (await collect(opened.source.read(s, e))).toString();
    expect(await read(0, 1)).toBe('0');
    expect(await read(5, 12)).toBe('56789ab');
    expect(await read(16, 20)).toBe('ghij');
    expect(await read(7, 7)).toBe('');
    await expect(collect(opened.source.read(15, 21))).rejects.toMatchObject({ code: 'INTERNAL' });
  });

  test('a ranged read of an object replaced since it was opened fails instead of mixing versions', async () => {
    await local.store.put('range/moving.bin', 'version one bytes');
    const opened = await local.store.openRange('range/moving.bin');
    await local.store.put('range/moving.bin', 'version two bytes');
    await expect(collect(opened?.source.read(0, 7) ?? [])).rejects.toMatchObject({
      code: 'STORE_PRECONDITION_FAILED',
      location: { key: 'range/moving.bin', offset: 0 },
    });
  });

  test('copy keeps the bytes and can replace the content type', async () => {
    await local.store.put('copy/src', 'payload', { contentType: 'text/plain' });
    await local.store.copy('copy/src', 'copy/dst', { contentType: 'application/zip' });
    const raw = await local.client.send(new GetObjectCommand({ Bucket: local.bucket, Key: 'copy/dst' }));
    expect(await raw.Body?.transformToString()).toBe('payload');
    expect(raw.ContentType).toBe('application/zip');
  });

  test('delete removes the object and is quiet when it is already gone', async () => {
    await local.store.put('del/x', 'x');
    await local.store.delete('del/x');
    expect(await local.store.head('del/x')).toBeUndefined();
    await expect(local.store.delete('del/x')).resolves.toBeUndefined();
  });

  test('refuses ifMatch and ifNoneMatch together before sending anything', async () => {
    await expect(local.store.put('both', 'x', { ifMatch: '"a"', ifNoneMatch: '*' })).rejects.toMatchObject({ code: 'INTERNAL' });
  });

  test('reports every problem with its props at once', () => {
    expect(() => new S3ObjectStore({ client: undefined as unknown as S3Client, bucket: '', listPageSize: 5000 })).toThrow(
      /client is required.*bucket must be.*listPageSize/,
    );
  });
});

describe('S3ObjectStore error mapping', () => {
  // A fake S3 answering every request with one canned error, to pin the mapping of each status.
  let server: Server;
  let answer: { status: number; code: string } = { status: 500, code: 'InternalError' };
  let store: S3ObjectStore;
  let client: S3Client;

  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const body = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${answer.code}</Code><Message>canned ${answer.code}</Message></Error>`;
        res.writeHead(answer.status, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(body) });
        res.end(req.method === 'HEAD' ? undefined : body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    client = createS3Client({ endpoint, credentials: { accessKeyId: 'FAKE', secretAccessKey: 'FAKE' } });
    store = new S3ObjectStore({ client, bucket: 'fake' });
  });
  afterAll(async () => {
    client.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  test('412 PreconditionFailed becomes STORE_PRECONDITION_FAILED with the SDK error as cause', async () => {
    answer = { status: 412, code: 'PreconditionFailed' };
    const error = await store.put('channels/g1/stable.json', '{}', { ifMatch: '"abc"' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'STORE_PRECONDITION_FAILED', location: { key: 'channels/g1/stable.json' }, expected: 'ETag "abc"' });
    expect((error as Error).cause).toMatchObject({ name: 'PreconditionFailed' });
  });

  test('409 ConditionalRequestConflict becomes STORE_PRECONDITION_FAILED', async () => {
    answer = { status: 409, code: 'ConditionalRequestConflict' };
    await expect(store.put('k', 'x', { ifNoneMatch: '*' })).rejects.toMatchObject({
      code: 'STORE_PRECONDITION_FAILED',
      actual: 'a concurrent conditional write',
    });
  });

  test('other failures become STORE_UNAVAILABLE naming the operation and the key', async () => {
    answer = { status: 403, code: 'AccessDenied' };
    const error = await store.put('staging/g1/u1/x', 'x').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'STORE_UNAVAILABLE', location: { key: 'staging/g1/u1/x' } });
    expect((error as Error).message).toMatch(/^PutObject of staging\/g1\/u1\/x in bucket fake failed/);
    expect((error as Error).cause).toMatchObject({ name: 'AccessDenied' });
    await expect(store.get('a')).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE', message: expect.stringMatching(/^GetObject of a /) });
    await expect(store.list('p/')).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE', message: expect.stringMatching(/^ListObjectsV2 of p\/ /) });
    await expect(store.delete('d')).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
  });

  test('a 5xx on a read is STORE_UNAVAILABLE, never a silent undefined', async () => {
    answer = { status: 503, code: 'SlowDown' };
    await expect(store.head('k')).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
  });
});
