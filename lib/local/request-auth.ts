/**
 * Who may do what on the local S3 endpoint: the gate's checks before anything reaches s3rver.
 *
 * s3rver accepts unsigned requests and never verifies SigV4 signatures, and its port is fixed, so
 * without these checks any local process, and any web page the developer opens, could write to the
 * bucket (an HTML form POST needs no CORS preflight). The gate therefore:
 *
 * - refuses browser requests: any `Origin` or `Sec-Fetch-*` header (S3 clients send none), CORS
 *   preflights, and form POSTs (S3 POST-policy uploads, which the pipeline never uses);
 * - refuses a `Host` that is not the address it was asked to serve (DNS rebinding: a page whose
 *   name resolves to 127.0.0.1 is same-origin with the endpoint);
 * - requires a SigV4 signature, in the `Authorization` header or a presigned query, made with one of
 *   the local identities, within 15 minutes of the gate's clock (presigned: not expired), for the
 *   service `s3` and a well-formed credential scope (any region: the local stack has none);
 * - gives each identity the reach of its AWS counterpart: the publisher exactly the grants of
 *   `PublisherUser` (lib/constructs/publisher-user.ts, all games, editor compatibility on), the
 *   operator and the pipeline everything.
 *
 * What the signature does not cover, and is not checked: the body. A hex `x-amz-content-sha256`
 * is signed as a claim but not compared with the bytes; with `STREAMING-AWS4-HMAC-SHA256-PAYLOAD`
 * (and the `-TRAILER` / `STREAMING-UNSIGNED-PAYLOAD-TRAILER` variants) the seed signature over the
 * headers is verified, the per-chunk signatures are not. So a request captured on the loopback
 * interface could be replayed with another body within 15 minutes; whoever can capture it can
 * write to the data folder directly anyway.
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html
 */
import { createHash, createHmac, randomBytes, timingSafeEqual, type Hash, type Hmac } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { SignatureV4 } from '@smithy/signature-v4';
import { PREFIX } from '../core/keys';
import { LOCAL_OPERATOR_CREDENTIALS, LOCAL_PUBLISHER_CREDENTIALS, type LocalCredentials } from './defaults';
import { encodeRfc3986, readCopySource, type RequestTarget } from './key-safety';

export { LOCAL_OPERATOR_CREDENTIALS, LOCAL_PUBLISHER_CREDENTIALS, type LocalCredentials } from './defaults';

/**
 * The reach of a local identity: `publisher` mirrors the AWS publisher user; `full` is the
 * pipeline's functions and the operators' control function, which may do anything in the bucket.
 */
export type LocalReach = 'publisher' | 'full';

/** The name of the pipeline's own identity (the key of {@link createPipelineCredentials}). */
export const PIPELINE_IDENTITY_NAME = 'pipeline';

/** A key pair the gate accepts and what it may do. */
export interface LocalIdentity extends LocalCredentials {
  /** A name for messages, e.g. "publisher". */
  readonly name: string;
  readonly reach: LocalReach;
}


/**
 * A fresh key pair for the pipeline's own writes (handlers, sweeper, local CDN) inside one
 * process: random, never printed, never stored.
 */
export function createPipelineCredentials(): LocalCredentials {
  return { accessKeyId: `LUPPIPELINE${randomBytes(6).toString('hex').toUpperCase()}`, secretAccessKey: randomBytes(32).toString('base64url') };
}

/** The identities of a local stack: the documented publisher and operator keys, and the pipeline's. */
export function localIdentities(pipeline: LocalCredentials): LocalIdentity[] {
  return [
    { name: 'publisher', reach: 'publisher', ...LOCAL_PUBLISHER_CREDENTIALS },
    { name: 'operator', reach: 'full', ...LOCAL_OPERATOR_CREDENTIALS },
    { name: PIPELINE_IDENTITY_NAME, reach: 'full', ...pipeline },
  ];
}

/** An S3-style refusal: HTTP status, error code, message. */
export interface AuthRefusal {
  readonly status: number;
  readonly code: string;
  readonly message: string;
  readonly extra: Record<string, string>;
}

const deny = (message: string, code = 'AccessDenied', status = 403): AuthRefusal => ({ status, code, message, extra: {} });

/** Largest clock difference S3 accepts between a signed request and the server. */
export const MAX_SKEW_MS = 15 * 60 * 1000;
/** Longest validity of a presigned URL (7 days), as on S3. */
const MAX_PRESIGNED_SECONDS = 604_800;

/**
 * Refuse what only a browser sends: CORS preflights, requests carrying `Origin` or `Sec-Fetch-*`
 * headers, and HTML form POSTs (no `Authorization` header: POST-policy uploads).
 */
export function refuseBrowserRequest(method: string, headers: IncomingHttpHeaders): AuthRefusal | undefined {
  if (method === 'OPTIONS') return deny('The local S3 endpoint does not answer CORS preflights: browsers may not use it.');
  if (headers.origin !== undefined || Object.keys(headers).some((h) => h.startsWith('sec-fetch-'))) {
    return deny('The local S3 endpoint refuses browser requests (Origin or Sec-Fetch-* header); use an S3 client with the local credentials.');
  }
  const type = (headers['content-type'] ?? '').toLowerCase();
  if (method === 'POST' && headers.authorization === undefined && /^\s*(multipart\/form-data|application\/x-www-form-urlencoded|text\/plain)/.test(type)) {
    return deny('The local S3 endpoint refuses form POSTs (POST-policy uploads); PUT the object with a signed request.');
  }
  return undefined;
}

/**
 * Refuse a `Host` header the endpoint was not asked to serve (DNS rebinding). `allowed` holds host
 * names without port; `undefined` accepts any (the endpoint listens on every interface).
 */
export function refuseHost(headers: IncomingHttpHeaders, allowed: ReadonlySet<string> | undefined): AuthRefusal | undefined {
  if (allowed === undefined) return undefined;
  const host = (headers.host ?? '').toLowerCase();
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:\d+$/, '');
  if (allowed.has(name)) return undefined;
  return deny(`The local S3 endpoint answers only for ${[...allowed].join(', ')}; Host "${host}" is refused.`);
}

/** `crypto` hashes in the shape `@smithy/signature-v4` wants (a `Checksum` constructor). */
export class NodeSha256 {
  private hash: Hash | Hmac;
  constructor(private readonly secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = this.fresh();
  }
  private fresh(): Hash | Hmac {
    if (this.secret === undefined) return createHash('sha256');
    const key = typeof this.secret === 'string' ? this.secret : ArrayBuffer.isView(this.secret)
      ? Buffer.from(this.secret.buffer, this.secret.byteOffset, this.secret.byteLength)
      : Buffer.from(this.secret);
    return createHmac('sha256', key);
  }
  update(data: Uint8Array | string): void {
    this.hash.update(data);
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {
    this.hash = this.fresh();
  }
}

/** The parts of a SigV4 signature, from the header or the query. */
interface SignatureParts {
  readonly accessKeyId: string;
  readonly scope: { readonly date: string; readonly region: string; readonly service: string; readonly terminator: string };
  readonly amzDate: string;
  readonly signedHeaders: readonly string[];
  readonly signature: string;
  readonly payloadHash: string;
  /** Presigned: seconds of validity from `amzDate`. */
  readonly expiresSeconds?: number;
}

const AUTH_QUERY = new Set(['X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Date', 'X-Amz-Expires', 'X-Amz-SignedHeaders', 'X-Amz-Signature']);

/** The query parameters to forward: the request's, without the presigned-URL authentication ones. */
export function forwardedQuery(query: RequestTarget['query']): string {
  return query
    .filter(([name]) => !AUTH_QUERY.has(name))
    .map(([name, value]) => (value === '' ? encodeRfc3986(name) : `${encodeRfc3986(name)}=${encodeRfc3986(value)}`))
    .join('&');
}

function parseCredential(credential: string | undefined): Pick<SignatureParts, 'accessKeyId' | 'scope'> | AuthRefusal {
  const parts = (credential ?? '').split('/');
  if (parts.length !== 5 || parts.some((p) => p === '')) {
    return deny('The credential must be <access key>/<yyyymmdd>/<region>/s3/aws4_request.', 'AuthorizationHeaderMalformed', 400);
  }
  const [accessKeyId, date, region, service, terminator] = parts;
  return { accessKeyId, scope: { date, region, service, terminator } };
}

function readSignatureParts(headers: IncomingHttpHeaders, query: RequestTarget['query']): SignatureParts | AuthRefusal | undefined {
  const q = new Map(query);
  const header = headers.authorization;
  const presigned = q.has('X-Amz-Signature') || q.has('X-Amz-Algorithm');
  if (header !== undefined && presigned) return deny('Only one auth mechanism allowed: the Authorization header or a presigned query.', 'InvalidArgument', 400);
  if (header !== undefined) {
    const match = /^AWS4-HMAC-SHA256\s+(.*)$/s.exec(header);
    if (!match) return deny('Only AWS4-HMAC-SHA256 (SigV4) signatures are accepted.', 'InvalidArgument', 400);
    const fields = new Map(match[1].split(',').map((f) => {
      const eq = f.indexOf('=');
      return [f.slice(0, eq).trim(), f.slice(eq + 1).trim()] as [string, string];
    }));
    const credential = parseCredential(fields.get('Credential'));
    if ('status' in credential) return credential;
    const amzDate = headerValue(headers['x-amz-date']);
    const payloadHash = headerValue(headers['x-amz-content-sha256']);
    if (amzDate === undefined) return deny('A signed request needs an x-amz-date header.', 'AccessDenied');
    if (payloadHash === undefined) return deny('Missing required header for this request: x-amz-content-sha256', 'InvalidRequest', 400);
    return { ...credential, amzDate, payloadHash, signedHeaders: (fields.get('SignedHeaders') ?? '').split(';'), signature: fields.get('Signature') ?? '' };
  }
  if (!presigned) return undefined;
  if (q.get('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256') return deny('X-Amz-Algorithm only supports "AWS4-HMAC-SHA256".', 'AuthorizationQueryParametersError', 400);
  const credential = parseCredential(q.get('X-Amz-Credential'));
  if ('status' in credential) return credential;
  const expires = Number(q.get('X-Amz-Expires'));
  if (!Number.isInteger(expires) || expires < 1 || expires > MAX_PRESIGNED_SECONDS) {
    return deny(`X-Amz-Expires must be a whole number of seconds from 1 to ${MAX_PRESIGNED_SECONDS}.`, 'AuthorizationQueryParametersError', 400);
  }
  return {
    ...credential,
    amzDate: q.get('X-Amz-Date') ?? '',
    // Presigned URLs sign UNSIGNED-PAYLOAD; the SDK's presigner says so in the query as well.
    payloadHash: q.get('X-Amz-Content-Sha256') ?? 'UNSIGNED-PAYLOAD',
    signedHeaders: (q.get('X-Amz-SignedHeaders') ?? '').split(';'),
    signature: q.get('X-Amz-Signature') ?? '',
    expiresSeconds: expires,
  };
}

function parseAmzDate(value: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return undefined;
  const date = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]));
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** Every value of a header as sent (repeated headers joined with ","), from the raw header list. */
function rawHeaderValues(rawHeaders: readonly string[]): Map<string, string[]> {
  const values = new Map<string, string[]>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i].toLowerCase();
    values.set(name, [...(values.get(name) ?? []), rawHeaders[i + 1]]);
  }
  return values;
}

/** The SigV4 canonical request (the documented text, no cryptography). */
function canonicalRequest(request: SignedRequest, parts: SignatureParts, headerValues: Map<string, string[]>): string | undefined {
  const canonicalQuery = request.target.query
    .filter(([name]) => name !== 'X-Amz-Signature')
    .map(([name, value]) => [encodeRfc3986(name), encodeRfc3986(value)] as const)
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
  const lines: string[] = [];
  for (const name of parts.signedHeaders) {
    const values = headerValues.get(name);
    if (values === undefined) return undefined;
    lines.push(`${name}:${values.map((v) => v.trim().replace(/\s+/g, ' ')).join(',')}\n`);
  }
  return [request.method, request.target.path, canonicalQuery, lines.join(''), parts.signedHeaders.join(';'), parts.payloadHash].join('\n');
}

/** What the signature check needs of a request. */
export interface SignedRequest {
  readonly method: string;
  readonly target: RequestTarget;
  readonly headers: IncomingHttpHeaders;
  /** `IncomingMessage.rawHeaders`: names as sent, repeated headers kept. */
  readonly rawHeaders: readonly string[];
}

/** Checks SigV4 signatures against a fixed set of identities. */
export class SignatureVerifier {
  private readonly signers = new Map<string, { identity: LocalIdentity; signer: SignatureV4 }>();

  constructor(identities: readonly LocalIdentity[], private readonly now: () => number = Date.now) {
    for (const identity of identities) {
      const signer = new SignatureV4({ credentials: identity, region: 'us-east-1', service: 's3', sha256: NodeSha256, uriEscapePath: false, applyChecksum: false });
      this.signers.set(identity.accessKeyId, { identity, signer });
    }
  }

  /**
   * The identity that signed the request, or why it is refused. Unsigned requests are refused:
   * the local endpoint has no anonymous access (players read through the local CDN).
   */
  async verify(request: SignedRequest): Promise<LocalIdentity | AuthRefusal> {
    const parts = readSignatureParts(request.headers, request.target.query);
    if (parts === undefined) return deny('The local S3 endpoint requires a SigV4 signature made with the local credentials (see README, "The local stack").');
    if ('status' in parts) return parts;
    const known = this.signers.get(parts.accessKeyId);
    if (!known) return deny('The AWS Access Key Id you provided does not exist in our records.', 'InvalidAccessKeyId');
    const { scope } = parts;
    if (scope.service !== 's3' || scope.terminator !== 'aws4_request' || !/^[a-z0-9-]{1,32}$/.test(scope.region)) {
      return deny('The credential scope must name a region, the service "s3" and end in "aws4_request".', 'AuthorizationHeaderMalformed', 400);
    }
    const signedAt = parseAmzDate(parts.amzDate);
    if (!signedAt || parts.amzDate.slice(0, 8) !== scope.date) {
      return deny('The request date must be yyyymmddThhmmssZ and match the credential scope date.', 'AuthorizationHeaderMalformed', 400);
    }
    const now = this.now();
    if (parts.expiresSeconds === undefined ? Math.abs(now - signedAt.getTime()) > MAX_SKEW_MS : signedAt.getTime() - now > MAX_SKEW_MS) {
      return deny('The difference between the request time and the current time is too large.', 'RequestTimeTooSkewed');
    }
    if (parts.expiresSeconds !== undefined && now > signedAt.getTime() + parts.expiresSeconds * 1000) {
      return deny('Request has expired.', 'AccessDenied');
    }
    const signed = parts.signedHeaders;
    const sortedUnique = signed.every((h, i) => h === h.toLowerCase() && h !== '' && (i === 0 || signed[i - 1] < h));
    if (!sortedUnique || !signed.includes('host')) return deny('SignedHeaders must be sorted lowercase names and include host.', 'AuthorizationHeaderMalformed', 400);
    if (parts.expiresSeconds === undefined && !signed.includes('x-amz-content-sha256')) {
      return deny('x-amz-content-sha256 must be signed.', 'AuthorizationHeaderMalformed', 400);
    }
    // S3 requires every x-amz-* header to be signed: an unsigned one could be added to a captured request.
    const unsigned = Object.keys(request.headers).filter((h) => h.startsWith('x-amz-') && !signed.includes(h));
    if (unsigned.length > 0) return deny(`These headers must be signed: ${unsigned.join(', ')}.`, 'AccessDenied');
    const canonical = canonicalRequest(request, parts, rawHeaderValues(request.rawHeaders));
    if (canonical === undefined) return deny('A signed header is missing from the request.', 'SignatureDoesNotMatch');
    const stringToSign = ['AWS4-HMAC-SHA256', parts.amzDate, `${scope.date}/${scope.region}/${scope.service}/${scope.terminator}`, createHash('sha256').update(canonical).digest('hex')].join('\n');
    const expected = await known.signer.sign(stringToSign, { signingDate: signedAt, signingRegion: scope.region, signingService: 's3' });
    const given = Buffer.from(parts.signature, 'utf8');
    const wanted = Buffer.from(expected, 'utf8');
    if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) {
      return deny('The request signature we calculated does not match the signature you provided. Check your key and signing method.', 'SignatureDoesNotMatch');
    }
    return known.identity;
  }
}

/** Query parameters that name an object subresource; each is its own IAM action. */
const OBJECT_SUBRESOURCES = ['acl', 'attributes', 'legal-hold', 'restore', 'retention', 'select', 'tagging', 'torrent', 'versionId'];

/** Listing prefixes the publisher may use, as `publisherListPrefixes()` grants (`content/*`, `status/*`). */
const PUBLISHER_LIST_PREFIXES = [PREFIX.content, PREFIX.status];

/** `staging/<game>/<something>`: where the publisher may put. */
function isStagingKey(key: string): boolean {
  const [top, game, ...rest] = key.split('/');
  return `${top}/` === PREFIX.staging && game !== undefined && rest.length > 0;
}

/**
 * Refuse what the identity may not do on the bucket: the publisher gets `PublisherUser`'s grants
 * (all games), full-reach identities everything but bucket-level POSTs (DeleteObjects names its keys
 * in the body, where they are not checked; POST-policy uploads are not offered). A copy source is
 * checked like a path and must be readable by the identity.
 */
export function authorize(identity: LocalIdentity, method: string, target: RequestTarget, headers: IncomingHttpHeaders, bucket: string): AuthRefusal | undefined {
  const params = new Set(target.query.map(([name]) => name));
  const copyHeader = headerValue(headers['x-amz-copy-source']);
  const copySource = copyHeader === undefined ? undefined : readCopySource(copyHeader);
  if (copyHeader !== undefined && copySource === undefined) {
    return { status: 400, code: 'InvalidArgument', message: 'x-amz-copy-source must name a bucket and a key without empty, "." or ".." segments.', extra: { ArgumentName: 'x-amz-copy-source' } };
  }
  if (method === 'POST' && target.key === undefined) {
    return { status: 501, code: 'NotImplemented', message: 'Bucket-level POST (DeleteObjects, POST-policy uploads) is not available on the local S3 endpoint.', extra: {} };
  }
  if (identity.reach === 'full') return undefined;

  const refused = deny(`The local publisher key may not ${method} ${target.path}: like the publisher user on AWS it may put under staging/<game>/, read status/ and list content/ and status/.`);
  if (target.bucket === undefined) return method === 'GET' ? undefined : refused; // s3:ListAllMyBuckets (editor compatibility)
  if (target.bucket !== bucket) return refused;
  if (target.key === undefined) {
    if (method !== 'GET') return refused;
    if (params.has('acl')) return params.size === 1 ? undefined : refused; // s3:GetBucketAcl (editor compatibility)
    const otherSubresource = [...params].some((p) => !['list-type', 'prefix', 'delimiter', 'max-keys', 'continuation-token', 'start-after', 'marker', 'encoding-type', 'fetch-owner'].includes(p));
    const prefix = new Map(target.query).get('prefix') ?? '';
    return !otherSubresource && PUBLISHER_LIST_PREFIXES.some((p) => prefix.startsWith(p)) ? undefined : refused;
  }
  const key = target.key;
  if (OBJECT_SUBRESOURCES.some((p) => params.has(p))) return refused;
  const uploadId = params.has('uploadId');
  switch (method) {
    case 'PUT': // PutObject, UploadPart, CopyObject, UploadPartCopy
      if (!isStagingKey(key) || (params.has('partNumber') && !uploadId)) return refused;
      if (copySource && (copySource.bucket !== bucket || !copySource.key.startsWith(PREFIX.status))) return refused;
      return undefined;
    case 'POST': // CreateMultipartUpload, CompleteMultipartUpload
      return isStagingKey(key) && (params.has('uploads') || uploadId) ? undefined : refused;
    case 'DELETE': // AbortMultipartUpload only: no s3:DeleteObject
      return uploadId && isStagingKey(key) ? undefined : refused;
    case 'GET':
    case 'HEAD':
      if (uploadId) return method === 'GET' && isStagingKey(key) ? undefined : refused; // ListParts
      return key.startsWith(PREFIX.status) ? undefined : refused;
    default:
      return refused;
  }
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(',') : value;
}
