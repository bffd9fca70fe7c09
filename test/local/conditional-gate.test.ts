import { createHash, randomBytes } from 'node:crypto';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createS3Client } from '../../lib/adapters/s3-client';
import { S3ObjectStore } from '../../lib/adapters/s3-store';
import { startConditionalGate } from '../../lib/local/conditional-gate';
import { createPipelineCredentials, localIdentities } from '../../lib/local/request-auth';
import type { S3EventLike } from '../../lib/local/s3-server';
import { startLocalS3, type LocalS3 } from './local-s3';

let local: LocalS3;
beforeAll(async () => {
  local = await startLocalS3();
});
afterAll(async () => {
  await local.close();
});

const md5 = (body: Uint8Array | string) => `"${createHash('md5').update(body).digest('hex')}"`;

async function sdkError(promise: Promise<unknown>): Promise<{ name: string; status?: number }> {
  const error = (await promise.then(
    () => undefined,
    (e: unknown) => e,
  )) as { name: string; $metadata?: { httpStatusCode?: number } } | undefined;
  if (!error) throw new Error('expected the request to fail, but it succeeded');
  return { name: error.name, status: error.$metadata?.httpStatusCode };
}

describe(startConditionalGate, () => {
  const put = (Key: string, Body: string, extra: { IfMatch?: string; IfNoneMatch?: string } = {}) =>
    local.client.send(new PutObjectCommand({ Bucket: local.bucket, Key, Body, ...extra }));

  test('answers If-Match on a missing key with 404 NoSuchKey, as S3 documents', async () => {
    expect(await sdkError(put('gate/missing', 'x', { IfMatch: md5('x') }))).toEqual({ name: 'NoSuchKey', status: 404 });
  });

  test('answers a stale If-Match with 412 PreconditionFailed', async () => {
    await put('gate/stale', 'one');
    expect(await sdkError(put('gate/stale', 'two', { IfMatch: md5('other') }))).toEqual({ name: 'PreconditionFailed', status: 412 });
  });

  test('answers If-None-Match: * on an existing key with 412 PreconditionFailed', async () => {
    await put('gate/exists', 'one');
    expect(await sdkError(put('gate/exists', 'two', { IfNoneMatch: '*' }))).toEqual({ name: 'PreconditionFailed', status: 412 });
  });

  test('refuses both conditions at once, and If-None-Match other than *, with 501 NotImplemented', async () => {
    expect(await sdkError(put('gate/both', 'x', { IfMatch: md5('x'), IfNoneMatch: '*' }))).toEqual({ name: 'NotImplemented', status: 501 });
    expect(await sdkError(put('gate/etag-none-match', 'x', { IfNoneMatch: md5('x') }))).toEqual({ name: 'NotImplemented', status: 501 });
  });

  test('applies If-None-Match to CompleteMultipartUpload and leaves the existing object alone', async () => {
    const Key = 'gate/multipart.bin';
    await put(Key, 'original');
    const { UploadId } = await local.client.send(new CreateMultipartUploadCommand({ Bucket: local.bucket, Key }));
    const part = await local.client.send(
      new UploadPartCommand({ Bucket: local.bucket, Key, UploadId, PartNumber: 1, Body: 'replacement' }),
    );
    const complete = (IfNoneMatch?: string) =>
      local.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: local.bucket,
          Key,
          UploadId,
          IfNoneMatch,
          MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
        }),
      );

    expect(await sdkError(complete('*'))).toEqual({ name: 'PreconditionFailed', status: 412 });
    const got = await local.client.send(new GetObjectCommand({ Bucket: local.bucket, Key }));
    expect(await got.Body?.transformToString()).toBe('original');
  });

  test('passes bodies through unchanged, streamed in both directions', async () => {
    const body = randomBytes(3 * 1024 * 1024 + 17);
    const written = await local.store.put('gate/big.bin', body);
    expect(written.etag).toBe(md5(body));
    const streamed = await local.store.getStream('gate/big.bin');
    const chunks: Uint8Array[] = [];
    for await (const chunk of streamed?.body ?? []) chunks.push(chunk);
    expect(Buffer.compare(Buffer.concat(chunks), body)).toBe(0);
  });

  test('a refused write reaches neither the object nor the event stream', async () => {
    await put('gate/quiet', 'one');
    const events: S3EventLike[] = [];
    const unsubscribe = local.s3.onEvent((e) => events.push(e));
    await sdkError(put('gate/quiet', 'two', { IfNoneMatch: '*' }));
    await put('gate/quiet', 'three');
    unsubscribe();
    expect(events.map((e) => e.Records[0].s3.object.key)).toEqual(['gate/quiet']);
    expect(events[0].Records[0].s3.object.eTag).toBe(md5('three').replace(/"/g, ''));
  });

  test('readers never see a half-written object or an ETag that does not match the body', async () => {
    // GIVEN a document (below the gate's consistent-read size) rewritten over and over with
    // bodies of different lengths, large enough that s3rver reads them in several chunks
    const key = 'gate/pointer.json';
    const bodies = Array.from({ length: 6 }, (_, i) => JSON.stringify({ seq: i, pad: 'x'.repeat(150_000 * (i + 1)) }));
    await local.store.put(key, bodies[0]);
    let writing = true;
    const writer = (async () => {
      for (let round = 0; round < 30; round++) await local.store.put(key, bodies[round % bodies.length]);
      writing = false;
    })();
    // WHEN readers read it meanwhile
    const seen: string[] = [];
    let reads = 0;
    const reader = async () => {
      while (writing) {
        reads += 1;
        const got = await local.store.get(key);
        if (!got) throw new Error('pointer vanished');
        const text = Buffer.from(got.body).toString('utf8');
        // THEN every read is one complete version, and its ETag is that version's
        if (!bodies.includes(text) || got.etag !== md5(text)) seen.push(`torn read: ${text.length} bytes, etag ${got.etag}`);
      }
    };
    await Promise.all([writer, reader(), reader(), reader()]);
    expect(reads).toBeGreaterThan(10);
    expect(seen).toEqual([]);
  });

  test('counts conditional writes and refusals', async () => {
    const before = { ...local.gate.stats };
    await put('gate/count', 'a', { IfNoneMatch: '*' });
    await sdkError(put('gate/count', 'b', { IfNoneMatch: '*' }));
    expect(local.gate.stats.conditionalWrites - before.conditionalWrites).toBe(2);
    expect(local.gate.stats.refused - before.refused).toBe(1);
  });

  it('lists full pages while objects are being deleted (s3rver counts them toward max-keys, then drops them)', async () => {
    // GIVEN an upstream that lists as s3rver 3.7 does while objects vanish: it takes the first
    // max-keys keys of its directory walk, then drops those whose metadata file is gone (here
    // `a` and `b`, deleted between the walk and the read), so a page can come back short or empty
    // though more keys follow (node_modules/s3rver/lib/stores/filesystem.js, listObjects).
    const walk = ['gate-list/a', 'gate-list/b', 'gate-list/c'];
    const vanished = new Set(['gate-list/a', 'gate-list/b']);
    const upstream = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://upstream');
      const max = Number(url.searchParams.get('max-keys') ?? 1000);
      // The gate lists s3rver with ListObjects (V1): `marker`, no KeyCount.
      const after = url.searchParams.get('marker') ?? '';
      const walked = walk.filter((k) => k.startsWith(url.searchParams.get('prefix') ?? '') && k > after);
      const page = walked.slice(0, max);
      const truncated = walked.length > max;
      const listed = page.filter((k) => !vanished.has(k));
      res.setHeader('content-type', 'application/xml');
      res.end(`<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>${local.bucket}</Name><Prefix>gate-list/</Prefix><Marker>${after}</Marker><MaxKeys>${max}</MaxKeys><IsTruncated>${truncated}</IsTruncated>${listed.map((k) => `<Contents><Key>${k}</Key><LastModified>2026-12-02T00:00:00.000Z</LastModified><ETag>"${md5(k).slice(1, -1)}"</ETag><Size>1</Size><StorageClass>STANDARD</StorageClass></Contents>`).join('')}</ListBucketResult>`);
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const credentials = createPipelineCredentials();
    const gate = await startConditionalGate({
      upstream: { host: '127.0.0.1', port: (upstream.address() as AddressInfo).port },
      access: { identities: localIdentities(credentials), bucket: local.bucket },
    });
    const client = createS3Client({ endpoint: gate.endpoint, credentials });
    const store = new S3ObjectStore({ client, bucket: local.bucket });
    try {
      // WHEN listing with small pages THEN the page holds the object that exists, not nothing.
      expect((await store.list('gate-list/', { limit: 1 })).map((o) => o.key)).toEqual(['gate-list/c']);
      expect((await store.list('gate-list/')).map((o) => o.key)).toEqual(['gate-list/c']);
    } finally {
      client.destroy();
      await gate.close();
      await new Promise((resolve) => upstream.close(resolve));
    }
  });
});
