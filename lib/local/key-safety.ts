/**
 * Reading the target of a request to the local S3 endpoint safely: the bucket and key it names,
 * decoded once, refused when a segment could make s3rver write somewhere else than the key says.
 *
 * s3rver stores an object under `path.join(<data>/<bucket>, ...key.split('/'))`, so a key segment
 * `..` walks out of the bucket folder (`staging/../../../../tmp/x`) or onto another key
 * (`staging/alpha/u1/../../bravo/u2/x.zip` is `staging/bravo/u2/x.zip`). S3 itself treats such keys
 * as opaque names; locally they are refused, and the gate forwards the canonical encoding of exactly
 * the bucket and key it checked, never the client's raw path (WHATWG URL parsing and koa's router
 * would each normalise a raw path differently).
 */

/** What a request's path and query name, decoded. */
export interface RequestTarget {
  /** The bucket, or `undefined` for the service (`GET /`). */
  readonly bucket?: string;
  /** The object key, or `undefined` for a bucket-level request. */
  readonly key?: string;
  /** Query parameters in their order, names and values decoded. */
  readonly query: readonly (readonly [string, string])[];
  /** The canonical path: `/bucket/key`, each segment encoded as SigV4 and the gate's forward do. */
  readonly path: string;
}

/** Why a request target is refused. */
export interface UnsafeTarget {
  readonly unsafe: string;
}

/**
 * Encode one path segment or query component as SigV4 canonicalisation does (RFC 3986: everything
 * but `A-Z a-z 0-9 - _ . ~` is percent-encoded), which is also what the SDK, botocore and rclone send.
 */
export function encodeRfc3986(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The canonical path of a bucket and key: `/bucket/k/e/y`, every segment RFC 3986-encoded. */
export function canonicalPath(bucket: string | undefined, key: string | undefined): string {
  if (bucket === undefined) return '/';
  const encodedKey = key === undefined ? '' : `/${key.split('/').map(encodeRfc3986).join('/')}`;
  return `/${encodeRfc3986(bucket)}${encodedKey}`;
}

function decode(value: string): string | undefined {
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}

/** The upload ids s3rver hands out (`crypto.randomBytes(16).toString('hex')`). */
const UPLOAD_ID = /^[0-9a-f]{32}$/;
/** S3's part numbers: 1 to 10,000. */
const PART_NUMBER = /^[1-9][0-9]{0,4}$/;

/** Why a decoded key is unsafe to hand to s3rver, or `undefined` when it is a plain key. */
export function unsafeKeyReason(key: string): string | undefined {
  if (key.length > 1024) return 'keys are at most 1024 bytes';
  if (key.includes('\0')) return 'keys may not contain NUL';
  if (key.includes('\\')) return 'keys may not contain "\\" (a path separator on some systems)';
  const segments = key.split('/');
  if (segments.some((s) => s === '')) return 'keys may not start or end with "/" or contain "//" (empty segments)';
  if (segments.some((s) => s === '.' || s === '..')) return 'keys may not contain "." or ".." segments';
  return undefined;
}

/**
 * Read the bucket, key and query of a raw request URL (as it came on the wire) and check them.
 * The bucket must be a plain S3 bucket name; every key segment, once decoded, must be non-empty,
 * not `.` or `..`, without NUL or backslash.
 *
 * @example
 * readRequestTarget('/lup-local/staging/a/..%2F../x') // => { unsafe: 'keys may not contain "." or ".." segments' }
 */
export function readRequestTarget(rawUrl: string): RequestTarget | UnsafeTarget {
  const question = rawUrl.indexOf('?');
  const rawPath = question < 0 ? rawUrl : rawUrl.slice(0, question);
  const rawQuery = question < 0 ? '' : rawUrl.slice(question + 1);
  if (!rawPath.startsWith('/')) return { unsafe: 'the request path must start with "/"' };
  const query: [string, string][] = [];
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = decode(eq < 0 ? part : part.slice(0, eq));
    const value = decode(eq < 0 ? '' : part.slice(eq + 1));
    if (name === undefined || value === undefined) return { unsafe: 'the query string is not valid percent-encoding' };
    // s3rver joins both into file paths (uploads/<uploadId>/<partNumber>): `../` in either wrote
    // files outside the data folder and made CompleteMultipartUpload delete a folder anywhere.
    if (name === 'uploadId' && !UPLOAD_ID.test(value)) return { unsafe: 'uploadId is not one this server handed out (32 lowercase hex digits)' };
    if (name === 'partNumber' && !(PART_NUMBER.test(value) && Number(value) <= 10_000)) return { unsafe: 'partNumber must be a whole number from 1 to 10000' };
    query.push([name, value]);
  }
  const rest = rawPath.slice(1);
  if (rest === '') return { query, path: '/' };
  const slash = rest.indexOf('/');
  const bucket = decode(slash < 0 ? rest : rest.slice(0, slash));
  if (bucket === undefined || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket) || bucket.includes('..')) {
    return { unsafe: 'the bucket is not a valid S3 bucket name' };
  }
  const rawKey = slash < 0 ? '' : rest.slice(slash + 1);
  // Keep a bucket-level request's trailing slash: it is part of the path the client signed.
  if (rawKey === '') return { bucket, query, path: `${canonicalPath(bucket, undefined)}${slash < 0 ? '' : '/'}` };
  const key = decode(rawKey);
  if (key === undefined) return { unsafe: 'the key is not valid percent-encoding' };
  const reason = unsafeKeyReason(key);
  if (reason) return { unsafe: reason };
  return { bucket, key, query, path: canonicalPath(bucket, key) };
}

/**
 * The bucket and key of an `x-amz-copy-source` header (`bucket/key` or `/bucket/key`, URL-encoded,
 * optionally `?versionId=`), checked as a request path is; `undefined` when it is malformed or unsafe.
 */
export function readCopySource(header: string): { bucket: string; key: string } | undefined {
  const withoutQuery = header.split('?')[0];
  const target = readRequestTarget(withoutQuery.startsWith('/') ? withoutQuery : `/${withoutQuery}`);
  if ('unsafe' in target || target.bucket === undefined || target.key === undefined) return undefined;
  return { bucket: target.bucket, key: target.key };
}
