/**
 * The conditional-write contract of the ObjectStore port, which the CAS flip of the channel
 * pointer (I2) and create-only release records rely on.
 *
 * By default it runs against the memory store, the local stack's gate in front of s3rver, and the
 * local stack's direct store over s3rver's files (what the embedded pipeline uses). To run the same
 * assertions against real S3, give a bucket you may write to (objects go under `lup-contract/`
 * and are deleted afterwards) and the usual AWS credentials environment:
 *
 *   LUP_CONTRACT_S3_BUCKET=my-test-bucket LUP_CONTRACT_S3_ENDPOINT=aws AWS_REGION=eu-west-1 \
 *     npx jest test/contract
 *
 * `LUP_CONTRACT_S3_ENDPOINT` is `aws` for the region's AWS endpoint, or the URL of another
 * S3-compatible endpoint (path-style).
 */
import { randomUUID } from 'node:crypto';
import { createS3Client } from '../../lib/adapters/s3-client';
import { S3ObjectStore } from '../../lib/adapters/s3-store';
import type { ObjectStore } from '../../lib/core/ports';
import { MemoryObjectStore } from '../../lib/adapters/memory-store';
import { startLocalS3, type LocalS3 } from '../local/local-s3';

const REAL_ENDPOINT = process.env.LUP_CONTRACT_S3_ENDPOINT;
const REAL_BUCKET = process.env.LUP_CONTRACT_S3_BUCKET;

/** A store under test and how to let it go. */
interface Target {
  readonly name: string;
  open(): Promise<{ store: ObjectStore; close(): Promise<void> }>;
}

/**
 * The memory store that drives the model tests and the soak is held to the same contract as the
 * local gate (and real S3, when configured), so a fake cannot drift from S3's semantics.
 */
const TARGETS: Target[] = [
  { name: 'the memory store', open: async () => ({ store: new MemoryObjectStore(), close: async () => undefined }) },
  {
    name: 'the local gate in front of s3rver',
    open: async () => {
      const local: LocalS3 = await startLocalS3();
      return { store: local.store, close: () => local.close() };
    },
  },
  {
    name: "the local stack's direct store over s3rver's files",
    open: async () => {
      const local: LocalS3 = await startLocalS3();
      return { store: local.files, close: () => local.close() };
    },
  },
  ...(REAL_ENDPOINT && REAL_BUCKET ? [{
    name: `S3 bucket ${REAL_BUCKET}`,
    open: async () => {
      const client = createS3Client(REAL_ENDPOINT === 'aws' ? {} : { endpoint: REAL_ENDPOINT });
      const real = new S3ObjectStore({ client, bucket: REAL_BUCKET });
      return { store: real, close: async () => { await Promise.all([...written].map((k) => real.delete(k))); client.destroy(); } };
    },
  }] : []),
];

let store: ObjectStore;
const written = new Set<string>();
const runPrefix = `lup-contract/${randomUUID()}/`;

function key(name: string): string {
  const k = `${runPrefix}${name}`;
  written.add(k);
  return k;
}

const text = (body: Uint8Array) => Buffer.from(body).toString('utf8');

describe.each(TARGETS)('conditional writes on $name', (target) => {
  let close: () => Promise<void>;
  beforeAll(async () => {
    const opened = await target.open();
    store = opened.store;
    close = opened.close;
  });
  afterAll(async () => { await close?.(); });

  test('a create-only put succeeds once, then fails with STORE_PRECONDITION_FAILED and leaves the object alone', async () => {
    const k = key('create-only.json');
    const first = await store.put(k, 'first', { ifNoneMatch: '*' });
    expect(first.etag).toMatch(/^".+"$/);

    await expect(store.put(k, 'second', { ifNoneMatch: '*' })).rejects.toMatchObject({ code: 'STORE_PRECONDITION_FAILED' });
    const now = await store.get(k);
    expect(now && text(now.body)).toBe('first');
    expect(now?.etag).toBe(first.etag);
  });

  test('a put with If-Match on the current ETag succeeds and returns the new ETag', async () => {
    const k = key('cas.json');
    const v1 = await store.put(k, '{"seq":1}');
    const v2 = await store.put(k, '{"seq":2}', { ifMatch: v1.etag });
    expect(v2.etag).not.toBe(v1.etag);
    expect((await store.head(k))?.etag).toBe(v2.etag);
  });

  test('a put with If-Match on a stale ETag fails and leaves the object alone', async () => {
    const k = key('stale.json');
    const v1 = await store.put(k, '{"seq":1}');
    await store.put(k, '{"seq":2}', { ifMatch: v1.etag });

    const error = await store.put(k, '{"seq":3}', { ifMatch: v1.etag }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'STORE_PRECONDITION_FAILED', location: { key: k } });
    expect((error as Error).cause).toBeDefined();
    const now = await store.get(k);
    expect(now && text(now.body)).toBe('{"seq":2}');
  });

  test('an ETag given without quotes compares equal to the quoted one', async () => {
    const k = key('unquoted.json');
    const v1 = await store.put(k, 'a');
    await expect(store.put(k, 'b', { ifMatch: v1.etag.replace(/"/g, '') })).resolves.toMatchObject({ etag: expect.any(String) });
  });

  test('a put with If-Match on a missing key fails with STORE_PRECONDITION_FAILED', async () => {
    const k = key('missing.json');
    await expect(store.put(k, 'x', { ifMatch: '"0123456789abcdef0123456789abcdef"' })).rejects.toMatchObject({
      code: 'STORE_PRECONDITION_FAILED',
    });
    expect(await store.head(k)).toBeUndefined();
  });

  test('of N concurrent compare-and-swaps from the same ETag exactly one wins', async () => {
    const k = key('race.json');
    const base = await store.put(k, 'base');
    const writers = 12;
    const results = await Promise.allSettled(
      Array.from({ length: writers }, (_, i) => store.put(k, `writer-${i}`, { ifMatch: base.etag })),
    );
    const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
    expect(winners).toHaveLength(1);
    for (const r of results) {
      if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'STORE_PRECONDITION_FAILED' });
    }
    const now = await store.get(k);
    expect(now && text(now.body)).toBe(`writer-${winners[0]}`);
  });

  test('of N concurrent create-only puts exactly one wins', async () => {
    const k = key('create-race.json');
    const results = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => store.put(k, `writer-${i}`, { ifNoneMatch: '*' })));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
  });

  test('retrying CAS writers lose no update: a counter incremented by N writers ends at N', async () => {
    const k = key('counter.json');
    await store.put(k, '0', { ifNoneMatch: '*' });
    const writers = 6;
    const increment = async (): Promise<number> => {
      for (let tries = 1; ; tries++) {
        const current = await store.get(k);
        if (!current) throw new Error('counter vanished');
        try {
          await store.put(k, String(Number(text(current.body)) + 1), { ifMatch: current.etag });
          return tries;
        } catch (error) {
          if ((error as { code?: string }).code !== 'STORE_PRECONDITION_FAILED' || tries > 50) throw error;
        }
      }
    };
    await Promise.all(Array.from({ length: writers }, increment));
    const final = await store.get(k);
    expect(final && text(final.body)).toBe(String(writers));
  });

  test('a copy with the source ETag succeeds; with a stale source ETag it fails and writes nothing', async () => {
    const src = key('copy-src.bin');
    const dst = key('copy-dst.bin');
    const dst2 = key('copy-dst-2.bin');
    const v1 = await store.put(src, 'verified bytes');

    const copied = await store.copy(src, dst, { sourceIfMatch: v1.etag });
    expect(copied.etag).toBe(v1.etag);
    const got = await store.get(dst);
    expect(got && text(got.body)).toBe('verified bytes');

    await store.put(src, 'swapped bytes');
    await expect(store.copy(src, dst2, { sourceIfMatch: v1.etag })).rejects.toMatchObject({ code: 'STORE_PRECONDITION_FAILED' });
    expect(await store.head(dst2)).toBeUndefined();
  });

  test('a create-only copy refuses to overwrite an existing destination', async () => {
    const src = key('copy-create-src.bin');
    const dst = key('copy-create-dst.bin');
    await store.put(src, 'new');
    await store.put(dst, 'already there');
    await expect(store.copy(src, dst, { ifNoneMatch: '*' })).rejects.toMatchObject({ code: 'STORE_PRECONDITION_FAILED' });
    const now = await store.get(dst);
    expect(now && text(now.body)).toBe('already there');
  });

  test('a copy from a missing source fails with STORE_PRECONDITION_FAILED naming the source', async () => {
    await expect(store.copy(key('nothing-here'), key('copy-nowhere'))).rejects.toMatchObject({
      code: 'STORE_PRECONDITION_FAILED',
      location: { key: `${runPrefix}nothing-here` },
    });
  });
});
