import { rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { Upload } from '@aws-sdk/lib-storage';
import { startLocalStack, type LocalStack } from '../../lib/local/local-stack';
import type { StepHandler } from '../../lib/local/event-router';
import { rawRequest } from './http-request';
import { makeTempDir } from './local-s3';

const RESOURCE = 'staging/g1/u1/0a1b2c3d4e5f60718293a4b5c6d7e8f901234567';
const ARCHIVE = 'staging/g1/u1/levels.zip';

function recorder(): StepHandler & { calls: string[] } {
  const calls: string[] = [];
  return Object.assign(async (key: string) => void calls.push(key), { calls });
}

const dirs: string[] = [];
const stacks: LocalStack[] = [];
async function start(options: Partial<Parameters<typeof startLocalStack>[0]> = {}): Promise<LocalStack> {
  const dataDir = options.dataDir ?? (await makeTempDir());
  if (!dirs.includes(dataDir)) dirs.push(dataDir);
  const stack = await startLocalStack({ handlers: {}, retryDelayMs: 1, ...options, dataDir });
  stacks.push(stack);
  return stack;
}

afterEach(async () => {
  await Promise.all(stacks.splice(0).map((s) => s.stop()));
});
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe(startLocalStack, () => {
  test('delivers an object put into staging to the handler of its step', async () => {
    const resource = recorder();
    const archive = recorder();
    const stack = await start({ handlers: { resource, archive } });
    await stack.store.put(RESOURCE, 'bytes');
    await stack.store.put('content/g1/resources/abc', 'not routed');
    await stack.router.idle();
    expect(resource.calls).toEqual([RESOURCE]);
    expect(archive.calls).toEqual([]);
    expect(stack.router.stats).toMatchObject({ received: 2, ignored: 1, deliveries: 1 });
  });

  test('delivers a multipart upload once, when it completes', async () => {
    const archive = recorder();
    const stack = await start({ handlers: { archive } });
    const body = randomBytes(11 * 1024 * 1024);
    await new Upload({ client: stack.client, params: { Bucket: stack.bucket, Key: ARCHIVE, Body: body }, partSize: 5 * 1024 * 1024, queueSize: 3 }).done();
    await stack.router.idle();
    expect(archive.calls).toEqual([ARCHIVE]);
    expect((await stack.store.head(ARCHIVE))?.sizeBytes).toBe(body.length);
  });

  test('delivers a server-side copy into staging', async () => {
    const archive = recorder();
    const stack = await start({ handlers: { archive } });
    await stack.store.put('elsewhere/levels.zip', 'zip');
    await stack.store.copy('elsewhere/levels.zip', ARCHIVE);
    await stack.router.idle();
    expect(archive.calls).toEqual([ARCHIVE]);
  });

  test('a write the gate refuses is never delivered', async () => {
    const resource = recorder();
    const stack = await start({ handlers: { resource } });
    await stack.store.put(RESOURCE, 'first', { ifNoneMatch: '*' });
    await expect(stack.store.put(RESOURCE, 'second', { ifNoneMatch: '*' })).rejects.toMatchObject({ code: 'STORE_PRECONDITION_FAILED' });
    await stack.router.idle();
    expect(resource.calls).toEqual([RESOURCE]);
  });

  test('handlers built from the stack act on it: verify, copy to content, drop the staging copy', async () => {
    const stack = await start({
      handlers: ({ store }) => ({
        resource: async (key) => {
          const staged = await store.head(key);
          if (!staged) return; // a duplicate after the first delivery cleaned up
          const digest = key.split('/').pop() ?? '';
          await store.copy(key, `content/g1/resources/${digest}`, { sourceIfMatch: staged.etag });
          await store.delete(key);
        },
      }),
      faults: { duplicate: () => true },
    });
    await stack.store.put(RESOURCE, 'payload');
    await stack.router.idle();
    expect(await stack.store.head(RESOURCE)).toBeUndefined();
    const served = await rawRequest(stack.cdnBaseUrl, '/content/g1/resources/0a1b2c3d4e5f60718293a4b5c6d7e8f901234567');
    expect(served.body.toString()).toBe('payload');
    expect(stack.router.stats).toMatchObject({ duplicated: 1, succeeded: 2, deadLettered: 0 });
  });

  test('a handler failing every time ends as a dead letter after three attempts', async () => {
    const stack = await start({
      handlers: { release: async () => { throw new Error('release refused'); } },
    });
    await stack.store.put('staging/g1/u1/release-request.json', '{}');
    await stack.router.idle();
    expect(stack.router.deadLetters).toMatchObject([
      { key: 'staging/g1/u1/release-request.json', step: 'release', attempts: 3, message: 'Error: release refused' },
    ]);
  });

  test('keeps its data in dataDir across a restart', async () => {
    const dataDir = await makeTempDir();
    const first = await start({ dataDir });
    await first.store.put(RESOURCE, 'kept');
    await first.stop();
    const second = await start({ dataDir });
    const got = await second.store.get(RESOURCE);
    expect(Buffer.from(got?.body ?? []).toString()).toBe('kept');
  });

  test('stop() closes the S3 endpoint and the CDN', async () => {
    const stack = await start();
    await stack.stop();
    await expect(rawRequest(stack.s3Endpoint, '/')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await expect(rawRequest(stack.cdnBaseUrl, '/')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});
