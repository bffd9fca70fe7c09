/**
 * The gate's admission checks as units: key safety, browser and Host refusals, SigV4 verification
 * (header and presigned, clock skew, scope, tampering) and the publisher's reach, written out
 * literally from lib/constructs/publisher-user.ts rather than derived from the code under test.
 */
import { createHash } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { readCopySource, readRequestTarget, type RequestTarget } from '../../lib/local/key-safety';
import {
  authorize, forwardedQuery, localIdentities, LOCAL_OPERATOR_CREDENTIALS, LOCAL_PUBLISHER_CREDENTIALS, refuseBrowserRequest, refuseHost, SignatureVerifier,
  type LocalIdentity,
} from '../../lib/local/request-auth';
import { DOCUMENTED_OPERATOR, DOCUMENTED_PUBLISHER, Sha256 } from '../helpers/sigv4-request';

const target = (url: string): RequestTarget => {
  const t = readRequestTarget(url);
  if ('unsafe' in t) throw new Error(t.unsafe);
  return t;
};

describe(readRequestTarget, () => {
  test.each([
    '/bk1/staging/../../../../tmp/x', '/bk1/staging/alpha/u1/../../bravo/u2/x.zip', '/bk1/staging/%2e%2e/x', '/bk1/staging/..%2Fx',
    '/bk1/staging/./x', '/bk1/staging//x', '/bk1/staging/x/', '/bk1//staging/x', '/bk1/staging/x%00', '/bk1/staging/a%5C..%5Cb', '/../etc/passwd', '/B1/x', '/bk1/%zz', '/b1/x',
  ])('refuses %s', (url) => {
    expect(readRequestTarget(url)).toHaveProperty('unsafe');
  });

  test('decodes once and gives the canonical path it forwards', () => {
    expect(readRequestTarget('/lup-local/staging/a/my%20file(1).zip?uploads&x=%2F')).toEqual({
      bucket: 'lup-local', key: 'staging/a/my file(1).zip', query: [['uploads', ''], ['x', '/']], path: '/lup-local/staging/a/my%20file%281%29.zip',
    });
    expect(readRequestTarget('/lup-local/?list-type=2')).toMatchObject({ bucket: 'lup-local', path: '/lup-local/' });
    expect(readRequestTarget('/')).toEqual({ query: [], path: '/' });
  });

  test('checks copy sources the same way', () => {
    expect(readCopySource('/bk1/status/a/u1.json')).toEqual({ bucket: 'bk1', key: 'status/a/u1.json' });
    expect(readCopySource('bk1/staging/a/../../channels/x.json')).toBeUndefined();
  });
});

describe(refuseBrowserRequest, () => {
  test('refuses preflights, Origin and Sec-Fetch headers, and form POSTs without Authorization', () => {
    expect(refuseBrowserRequest('OPTIONS', {})).toMatchObject({ status: 403 });
    expect(refuseBrowserRequest('GET', { origin: 'http://evil.example' })).toMatchObject({ status: 403 });
    expect(refuseBrowserRequest('PUT', { 'sec-fetch-site': 'cross-site' })).toMatchObject({ status: 403 });
    expect(refuseBrowserRequest('POST', { 'content-type': 'multipart/form-data; boundary=x' })).toMatchObject({ status: 403 });
    expect(refuseBrowserRequest('POST', { 'content-type': 'application/x-www-form-urlencoded' })).toMatchObject({ status: 403 });
    expect(refuseBrowserRequest('POST', { 'content-type': 'application/xml', authorization: 'AWS4-HMAC-SHA256 …' })).toBeUndefined();
    expect(refuseBrowserRequest('PUT', { 'content-type': 'application/zip' })).toBeUndefined();
  });
});

describe(refuseHost, () => {
  test('accepts loopback names with any port and refuses others', () => {
    const allowed = new Set(['127.0.0.1', 'localhost', '[::1]']);
    expect(refuseHost({ host: '127.0.0.1:4569' }, allowed)).toBeUndefined();
    expect(refuseHost({ host: '[::1]:4569' }, allowed)).toBeUndefined();
    expect(refuseHost({ host: 'evil.example:4569' }, allowed)).toMatchObject({ status: 403 });
    expect(refuseHost({}, allowed)).toMatchObject({ status: 403 });
    expect(refuseHost({ host: 'evil.example' }, undefined)).toBeUndefined();
  });
});

describe('the documented local keys', () => {
  test('are the ones README.md gives to tools', () => {
    expect(LOCAL_PUBLISHER_CREDENTIALS).toEqual(DOCUMENTED_PUBLISHER);
    expect(LOCAL_OPERATOR_CREDENTIALS).toEqual(DOCUMENTED_OPERATOR);
  });
});

describe(SignatureVerifier, () => {
  const now = Date.UTC(2026, 0, 15, 12, 0, 0);
  const pipeline = { accessKeyId: 'LUPPIPELINETEST', secretAccessKey: 'pipeline-secret' };
  const verifier = new SignatureVerifier(localIdentities(pipeline), () => now);
  const sha256 = Sha256;

  async function signed(options: { path?: string; method?: string; keyPair?: typeof DOCUMENTED_PUBLISHER; at?: number; presign?: number; region?: string; service?: string; payload?: string; extraHeaders?: Record<string, string> } = {}) {
    const path = options.path ?? '/lup-local/staging/a/u1/x.zip';
    const signer = new SignatureV4({ credentials: options.keyPair ?? DOCUMENTED_PUBLISHER, region: options.region ?? 'us-east-1', service: options.service ?? 's3', sha256, uriEscapePath: false });
    const headers: Record<string, string> = { host: '127.0.0.1:4569', 'x-amz-content-sha256': options.payload ?? createHash('sha256').update('x').digest('hex'), ...options.extraHeaders };
    const request = { method: options.method ?? 'PUT', protocol: 'http:', hostname: '127.0.0.1', port: 4569, path, query: {}, headers };
    const signingDate = new Date(options.at ?? now);
    const out = options.presign !== undefined
      ? await signer.presign({ ...request, headers: { host: headers.host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } }, { expiresIn: options.presign, signingDate })
      : await signer.sign(request, { signingDate });
    const query = Object.entries(out.query ?? {}).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`).join('&');
    const url = query ? `${path}?${query}` : path;
    const rawHeaders = Object.entries(out.headers).flat();
    const lower = Object.fromEntries(Object.entries(out.headers).map(([k, v]) => [k.toLowerCase(), v]));
    return { method: request.method, target: target(url), headers: lower, rawHeaders };
  }

  test('accepts the header signature of each identity and names it', async () => {
    expect(await verifier.verify(await signed())).toMatchObject({ name: 'publisher', reach: 'publisher' });
    expect(await verifier.verify(await signed({ keyPair: DOCUMENTED_OPERATOR }))).toMatchObject({ name: 'operator', reach: 'full' });
    expect(await verifier.verify(await signed({ keyPair: pipeline }))).toMatchObject({ name: 'pipeline', reach: 'full' });
  });

  test('accepts unsigned-payload and streaming seed signatures (the headers are what is verified)', async () => {
    for (const payload of ['UNSIGNED-PAYLOAD', 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD', 'STREAMING-UNSIGNED-PAYLOAD-TRAILER']) {
      expect(await verifier.verify(await signed({ payload }))).toMatchObject({ name: 'publisher' });
    }
  });

  test('accepts a presigned URL within its validity, refuses it expired', async () => {
    expect(await verifier.verify(await signed({ presign: 300 }))).toMatchObject({ name: 'publisher' });
    expect(await verifier.verify(await signed({ presign: 300, at: now - 301_000 }))).toMatchObject({ status: 403, code: 'AccessDenied' });
  });

  test('refuses unsigned, unknown, wrong-secret, skewed, out-of-scope and tampered requests', async () => {
    const plain = await signed();
    expect(await verifier.verify({ ...plain, headers: { host: '127.0.0.1:4569' }, rawHeaders: ['host', '127.0.0.1:4569'] })).toMatchObject({ status: 403, code: 'AccessDenied' });
    expect(await verifier.verify(await signed({ keyPair: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } }))).toMatchObject({ code: 'InvalidAccessKeyId' });
    expect(await verifier.verify(await signed({ keyPair: { ...DOCUMENTED_PUBLISHER, secretAccessKey: 'guess' } }))).toMatchObject({ code: 'SignatureDoesNotMatch' });
    expect(await verifier.verify(await signed({ at: now - 16 * 60_000 }))).toMatchObject({ code: 'RequestTimeTooSkewed' });
    expect(await verifier.verify(await signed({ at: now + 16 * 60_000 }))).toMatchObject({ code: 'RequestTimeTooSkewed' });
    expect(await verifier.verify(await signed({ service: 'sqs' }))).toMatchObject({ code: 'AuthorizationHeaderMalformed' });
    // Signed for one key, sent for another (the gate forwards the path it checked: the signed one).
    expect(await verifier.verify({ ...plain, target: target('/lup-local/channels/a/stable.json') })).toMatchObject({ code: 'SignatureDoesNotMatch' });
    expect(await verifier.verify({ ...plain, method: 'DELETE' })).toMatchObject({ code: 'SignatureDoesNotMatch' });
    // An x-amz-* header added after signing (a copy source smuggled into a captured PUT).
    const smuggled = { ...plain, headers: { ...plain.headers, 'x-amz-copy-source': '/lup-local/status/a/u1.json' }, rawHeaders: [...plain.rawHeaders, 'x-amz-copy-source', '/lup-local/status/a/u1.json'] };
    expect(await verifier.verify(smuggled)).toMatchObject({ status: 403, code: 'AccessDenied' });
  });
});

describe(authorize, () => {
  const [publisher, operator, pipeline] = localIdentities({ accessKeyId: 'P', secretAccessKey: 'p' }) as [LocalIdentity, LocalIdentity, LocalIdentity];
  const check = (who: LocalIdentity, method: string, url: string, headers: Record<string, string> = {}) => authorize(who, method, target(url), headers, 'lup-local')?.status ?? 200;

  // The publisher user's grants (lib/constructs/publisher-user.ts, every game, editor compatibility),
  // written out: s3:PutObject, s3:AbortMultipartUpload, s3:ListMultipartUploadParts on staging/*;
  // s3:GetObject on status/*; s3:ListBucket with s3:prefix content/* or status/*;
  // s3:ListAllMyBuckets; s3:GetBucketAcl.
  test.each([
    ['PUT', '/lup-local/staging/a/u1/x.zip', 200],
    ['PUT', '/lup-local/staging/a/u1/x.zip?partNumber=1&uploadId=0123456789abcdef0123456789abcdef', 200],
    ['POST', '/lup-local/staging/a/u1/x.zip?uploads', 200],
    ['POST', '/lup-local/staging/a/u1/x.zip?uploadId=0123456789abcdef0123456789abcdef', 200],
    ['DELETE', '/lup-local/staging/a/u1/x.zip?uploadId=0123456789abcdef0123456789abcdef', 200],
    ['GET', '/lup-local/staging/a/u1/x.zip?uploadId=0123456789abcdef0123456789abcdef', 200],
    ['GET', '/lup-local/status/a/u1.json', 200],
    ['HEAD', '/lup-local/status/a/u1.json', 200],
    ['GET', '/lup-local?list-type=2&prefix=content%2Fa%2F', 200],
    ['GET', '/lup-local?list-type=2&prefix=status%2Fa%2F', 200],
    ['GET', '/', 200],
    ['GET', '/lup-local?acl', 200],
    ['PUT', '/lup-local/staging/x.zip', 403],
    ['PUT', '/lup-local/staging/a/u1/x.zip?tagging', 403],
    ['PUT', '/lup-local/staging/a/u1/x.zip?acl', 403],
    ['PUT', '/lup-local/channels/a/stable.json', 403],
    ['PUT', '/lup-local/content/a/resources/00', 403],
    ['PUT', '/lup-local/releases/a/r.json', 403],
    ['PUT', '/lup-local/quarantine/a/x', 403],
    ['PUT', '/lup-local/state/a/_game/pin.json', 403],
    ['PUT', '/lup-local/status/a/u1.json', 403],
    ['DELETE', '/lup-local/staging/a/u1/x.zip', 403],
    ['GET', '/lup-local/staging/a/u1/x.zip', 403],
    ['GET', '/lup-local/content/a/resources/00', 403],
    ['GET', '/lup-local/channels/a/stable.json', 403],
    ['GET', '/lup-local?list-type=2', 403],
    ['GET', '/lup-local?list-type=2&prefix=channels%2F', 403],
    ['GET', '/lup-local?uploads', 403],
    ['HEAD', '/lup-local', 403],
    ['PUT', '/other-bucket/staging/a/u1/x.zip', 403],
    ['PUT', '/lup-local', 403],
    ['DELETE', '/lup-local', 403],
  ])('publisher: %s %s → %i', (method, url, status) => {
    expect(check(publisher, method, url)).toBe(status);
  });

  test('publisher copies only from what it may read, into staging', () => {
    expect(check(publisher, 'PUT', '/lup-local/staging/a/u1/x.json', { 'x-amz-copy-source': '/lup-local/status/a/u1.json' })).toBe(200);
    expect(check(publisher, 'PUT', '/lup-local/staging/a/u1/x.zip', { 'x-amz-copy-source': '/lup-local/content/a/archives/1.zip' })).toBe(403);
  });

  test('operator and pipeline reach everything but bucket-level POSTs and unsafe copy sources', () => {
    for (const who of [operator, pipeline]) {
      expect(check(who, 'PUT', '/lup-local/channels/a/stable.json')).toBe(200);
      expect(check(who, 'DELETE', '/lup-local/staging/a/u1/x.zip')).toBe(200);
      expect(check(who, 'GET', '/lup-local?list-type=2')).toBe(200);
      expect(check(who, 'POST', '/lup-local?delete')).toBe(501);
      expect(check(who, 'PUT', '/lup-local/content/a/x', { 'x-amz-copy-source': '/lup-local/staging/a/../../channels/x' })).toBe(400);
    }
  });
});

describe(forwardedQuery, () => {
  test('drops the presigned-URL authentication and re-encodes the rest', () => {
    expect(forwardedQuery(target('/bk1/k?X-Amz-Signature=s&X-Amz-Credential=c&prefix=a%2Fb&partNumber=2&uploads').query)).toBe('prefix=a%2Fb&partNumber=2&uploads');
  });
  test('an uploadId or partNumber that is not one s3rver hands out never reaches it (both become file paths there)', () => {
    for (const url of ['/bk1/k?uploadId=..%2F..%2Fx', '/bk1/k?uploadId=ABC', '/bk1/k?partNumber=0', '/bk1/k?partNumber=10001', '/bk1/k?partNumber=..%2Fkey']) {
      expect(readRequestTarget(url)).toHaveProperty('unsafe');
    }
    expect(readRequestTarget('/bk1/k?uploadId=0123456789abcdef0123456789abcdef&partNumber=10000')).not.toHaveProperty('unsafe');
  });
});
