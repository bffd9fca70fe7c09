import { createHash, randomBytes } from 'node:crypto';
import { CHANNEL_CACHE, CONTENT_CACHE, contentTypeFor, corsHeaders, corsPolicy } from '../../lib/http-policy';
import { startCdnServer, type CdnServerHandle } from '../../lib/local/cdn-server';
import { rawRequest } from './http-request';
import { startLocalS3, type LocalS3 } from './local-s3';

const ORIGIN = 'https://games.example.com';
const RESOURCE = 'content/g1/resources/0a1b2c3d4e5f60718293a4b5c6d7e8f901234567';
const POINTER = 'channels/g1/stable.json';
const ARCHIVE = 'content/g1/archives/ab12.zip';
const BIG = randomBytes(5 * 1024 * 1024 + 3);

let local: LocalS3;
let cdn: CdnServerHandle;
let anyOriginCdn: CdnServerHandle;

beforeAll(async () => {
  local = await startLocalS3();
  cdn = await startCdnServer({ store: local.store, corsOrigins: [ORIGIN] });
  anyOriginCdn = await startCdnServer({ store: local.store });
  await Promise.all([
    local.store.put(RESOURCE, 'resource bytes'),
    local.store.put(POINTER, '{"sequence":1}'),
    local.store.put(ARCHIVE, BIG),
    ...['staging/g1/u1/levels.zip', 'releases/g1/r1.json', 'quarantine/g1/u1/x', 'status/g1/u1.json', 'state/g1/u1/manifest.json'].map((k) =>
      local.store.put(k, 'private'),
    ),
  ]);
});
afterAll(async () => {
  await cdn.close();
  await anyOriginCdn.close();
  await local.close();
});

const get = (path: string, headers: Record<string, string> = {}, method = 'GET') => rawRequest(cdn.baseUrl, path, { method, headers });

describe(startCdnServer, () => {
  test.each([
    [RESOURCE, CONTENT_CACHE.cacheControl],
    [POINTER, CHANNEL_CACHE.cacheControl],
  ])('serves %s with the cache rule, type and ETag of the one policy', async (key, cacheControl) => {
    const stored = await local.store.get(key);
    const res = await get(`/${key}`);
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe(cacheControl);
    expect(res.headers['content-type']).toBe(contentTypeFor(key));
    expect(res.headers.etag).toBe(stored?.etag);
    expect(Number(res.headers['content-length'])).toBe(stored?.sizeBytes);
    expect(Buffer.compare(res.body, Buffer.from(stored?.body ?? []))).toBe(0);
  });

  test('streams a large archive intact', async () => {
    const res = await get(`/${ARCHIVE}`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/zip');
    expect(createHash('sha256').update(res.body).digest('hex')).toBe(createHash('sha256').update(BIG).digest('hex'));
  });

  test.each(['staging/g1/u1/levels.zip', 'releases/g1/r1.json', 'quarantine/g1/u1/x', 'status/g1/u1.json', 'state/g1/u1/manifest.json', '', 'lup-test/content/x'])(
    'refuses /%s with 403 although the object exists',
    async (key) => {
      const res = await get(`/${key}`);
      expect(res.status).toBe(403);
      expect(res.body.toString()).not.toContain('private');
    },
  );

  test.each(['/content/../staging/g1/u1/levels.zip', '/content/%2e%2e/staging/g1/u1/levels.zip', '/content/g1%2F..%2F..%2Fstaging/g1/u1/levels.zip', '/content//g1'])(
    'refuses the dot-segment path %s with 403',
    async (path) => {
      expect((await get(path)).status).toBe(403);
    },
  );

  test('answers 404 for a missing object under a served prefix', async () => {
    expect((await get('/content/g1/resources/ffff')).status).toBe(404);
    expect((await get('/channels/g1/nope.json')).status).toBe(404);
  });

  test.each(['POST', 'PUT', 'DELETE', 'PATCH'])('answers %s with 405', async (method) => {
    const res = await get(`/${RESOURCE}`, {}, method);
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('GET, HEAD, OPTIONS');
  });

  test('HEAD sends the headers of GET and no body', async () => {
    const res = await get(`/${POINTER}`, {}, 'HEAD');
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe(CHANNEL_CACHE.cacheControl);
    expect(Number(res.headers['content-length'])).toBe('{"sequence":1}'.length);
    expect(res.body).toHaveLength(0);
  });

  test('answers a matching If-None-Match with 304', async () => {
    const { etag } = (await local.store.head(POINTER)) ?? { etag: '' };
    const res = await get(`/${POINTER}`, { 'If-None-Match': etag });
    expect(res.status).toBe(304);
    expect(res.headers.etag).toBe(etag);
    expect((await get(`/${POINTER}`, { 'If-None-Match': '"other"' })).status).toBe(200);
  });

  test('serves a single byte range with 206, and 416 when it is outside the object', async () => {
    const first = await get(`/${RESOURCE}`, { Range: 'bytes=0-0' });
    expect(first.status).toBe(206);
    expect(first.body.toString()).toBe('r');
    expect(first.headers['content-range']).toBe('bytes 0-0/14');
    const middle = await get(`/${RESOURCE}`, { Range: 'bytes=9-13' });
    expect(middle.body.toString()).toBe('bytes');
    const suffix = await get(`/${RESOURCE}`, { Range: 'bytes=-5' });
    expect(suffix.body.toString()).toBe('bytes');
    const tail = await get(`/${ARCHIVE}`, { Range: `bytes=${BIG.length - 10}-` });
    expect(Buffer.compare(tail.body, BIG.subarray(BIG.length - 10))).toBe(0);
    const outside = await get(`/${RESOURCE}`, { Range: 'bytes=14-20' });
    expect(outside.status).toBe(416);
    expect(outside.headers['content-range']).toBe('bytes */14');
  });

  test('sends the CORS headers of the policy to an allowed origin, and none to another', async () => {
    const policy = corsPolicy([ORIGIN]);
    const allowed = await get(`/${POINTER}`, { Origin: ORIGIN });
    for (const [name, value] of Object.entries(corsHeaders(policy, ORIGIN))) expect(allowed.headers[name.toLowerCase()]).toBe(value);
    expect(allowed.headers['access-control-allow-origin']).toBe(ORIGIN);
    const other = await get(`/${POINTER}`, { Origin: 'https://evil.example.com' });
    expect(other.status).toBe(200);
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });

  test('with the default policy any origin is allowed with *', async () => {
    const res = await rawRequest(anyOriginCdn.baseUrl, `/${RESOURCE}`, { headers: { Origin: 'https://portal.example.org' } });
    expect(res.headers['access-control-allow-origin']).toBe('*');
    expect(res.headers['access-control-expose-headers']).toBe(corsPolicy().exposeHeaders.join(', '));
  });

  test('answers a CORS preflight from an allowed origin with the policy', async () => {
    const policy = corsPolicy([ORIGIN]);
    const res = await get(`/${POINTER}`, { Origin: ORIGIN, 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'range' }, 'OPTIONS');
    expect(res.status).toBe(204);
    expect(res.headers).toMatchObject({
      'access-control-allow-origin': ORIGIN,
      'access-control-allow-methods': policy.allowMethods.join(', '),
      'access-control-allow-headers': policy.allowHeaders.join(', '),
      'access-control-max-age': String(policy.maxAgeSeconds),
    });
  });

  test.each([
    ['another origin', `/${POINTER}`, { Origin: 'https://evil.example.com', 'Access-Control-Request-Method': 'GET' }],
    ['a write method', `/${POINTER}`, { Origin: ORIGIN, 'Access-Control-Request-Method': 'PUT' }],
    ['a header outside the policy', `/${POINTER}`, { Origin: ORIGIN, 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'x-amz-acl' }],
    ['a private prefix', '/staging/g1/u1/levels.zip', { Origin: ORIGIN, 'Access-Control-Request-Method': 'GET' }],
  ])('refuses a CORS preflight for %s with 403', async (_what, path, headers) => {
    const res = await get(path, headers, 'OPTIONS');
    expect(res.status).toBe(403);
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('an origin failure', () => {
  it('answers 502 with a generic body, and reports the store error to the operator only', async () => {
    const reported: string[] = [];
    const failing = await startCdnServer({
      store: { ...local.store, head: async () => { throw new Error('ENOENT: /home/studio/.lup/data/content/g1/secret-path'); }, getStream: async () => { throw new Error('ENOENT: /home/studio/.lup/data/content/g1/secret-path'); } } as never,
      onOriginError: (error, path) => reported.push(`${path}: ${(error as Error).message}`),
    });
    try {
      const res = await rawRequest(failing.baseUrl, `/${RESOURCE}`, { method: 'GET', headers: {} });
      expect(res.status).toBe(502);
      expect(res.body.toString()).toBe('Bad gateway: the origin did not answer.\n');
      expect(reported).toEqual([`/${RESOURCE}: ENOENT: /home/studio/.lup/data/content/g1/secret-path`]);
    } finally {
      await failing.close();
    }
  });
});
