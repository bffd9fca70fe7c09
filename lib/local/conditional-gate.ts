/**
 * The conditional-write gate: a narrow HTTP proxy in front of s3rver that adds what s3rver lacks,
 * S3's conditional writes, so the CAS flip of the channel pointer (invariant I2) means the same
 * thing locally as on AWS.
 *
 * First the gate decides whether to serve the request at all (`admitRequest`): it refuses browser
 * requests, a foreign Host, unsafe keys (lib/local/key-safety.ts), and requests not signed with one
 * of the local identities or beyond that identity's reach (lib/local/request-auth.ts). It then
 * forwards exactly the bucket and key it checked, in canonical encoding, with the query minus the
 * presigned-URL authentication and without the Authorization header (s3rver serves unsigned
 * requests and never verifies SigV4 itself); method, other headers and the streamed body go
 * unchanged. On top of that the gate:
 *
 * - for PutObject, CopyObject (destination) and CompleteMultipartUpload evaluates
 *   `If-None-Match: *` (412 `PreconditionFailed` when the object exists) and `If-Match: <etag>`
 *   (404 `NoSuchKey` when the object is missing, 412 when its ETag differs), and for CopyObject
 *   `x-amz-copy-source-if-match` / `-if-none-match` against the source;
 * - makes check-then-write atomic per key: every write to a key (conditional or not, and deletes)
 *   holds that key's exclusive lock from the check until s3rver has answered, so two CAS writes
 *   cannot both see the old ETag;
 * - evaluates `If-Match` on GET/HEAD (412 when the ETag differs), which s3rver ignores;
 * - serves small reads consistently: a GET/HEAD holds the key's shared lock until the response is
 *   buffered, because s3rver writes files in place and a read racing a write could otherwise see a
 *   truncated body or an ETag that does not match it. Bodies above `consistentReadMaxBytes` are
 *   streamed without the lock (content objects are immutable; only small documents are rewritten);
 * - pages ListObjectsV2 itself: s3rver 3.7 builds its continuation tokens with DES, which the
 *   OpenSSL 3 of Node 17+ no longer offers, so its second page of any listing fails with 500
 *   InternalError. The gate asks s3rver for the equivalent ListObjects (v1, `marker`) page and
 *   answers in the v2 shape with its own opaque token.
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html (If-Match, If-None-Match)
 */
import { Agent, createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { readCopySource, readRequestTarget } from './key-safety';
import { KeyLocks } from './key-locks';
import { decodeListToken, listV1ToV2, trimListPage } from './list-paging';
import { listen } from './listen';
import { sameEtag } from '../core/etag';
import { authorize, forwardedQuery, refuseBrowserRequest, refuseHost, SignatureVerifier, type LocalIdentity } from './request-auth';

/** Options of {@link startConditionalGate}. */
export interface StartConditionalGateRequest {
  /** The s3rver instance to forward to. */
  readonly upstream: { readonly host: string; readonly port: number };
  /**
   * Who may use the endpoint: the key pairs the gate accepts (SigV4 only; unsigned requests are
   * refused) and what each may do in `bucket` (lib/local/request-auth.ts).
   */
  readonly access: GateAccess;
  /**
   * Port to listen on: the public S3 port of the local stack. 0 picks a free one.
   * @default 0
   */
  readonly port?: number;
  /**
   * Interface to listen on. Requests must name it (or a loopback name) in their Host header;
   * `0.0.0.0` or `::` accept any Host: anyone who can reach the port and knows the documented
   * publisher key can then stage content, so you will want a firewall.
   * @default "127.0.0.1"
   */
  readonly host?: string;
  /**
   * Largest read response buffered under the key's shared lock, in bytes. Larger bodies stream
   * without it, so a write to the same key during a long read could be seen half-done.
   * @default 1048576 (1 MiB)
   */
  readonly consistentReadMaxBytes?: number;
  /**
   * The discovery document answered at {@link DISCOVERY_PATH} (unsigned, read-only), so a client
   * given only this endpoint finds the stack's CDN; undefined while the stack is starting.
   * @default - no discovery document: the path is forwarded like any other request
   */
  readonly discovery?: () => object | undefined;
  /**
   * The per-key locks of the server's objects, when something besides the gate writes them (the
   * local stack's direct store); the gate's own otherwise.
   */
  readonly locks?: KeyLocks;
}

/** Who may use a gate. */
export interface GateAccess {
  /** The accepted key pairs and the reach of each. */
  readonly identities: readonly LocalIdentity[];
  /** The stack's bucket: the only one the publisher identity may touch. */
  readonly bucket: string;
}

/** Counters of what the gate did; read by tests and benchmarks. */
export interface GateStats {
  /** Requests forwarded to s3rver. */
  forwarded: number;
  /** Writes that carried a condition and were evaluated. */
  conditionalWrites: number;
  /** Writes refused with 412 or 404 because a condition did not hold. */
  refused: number;
  /** Requests refused before forwarding: unsafe key, browser request, bad signature, beyond the identity's reach. */
  denied: number;
}

/** A running gate. */
export interface ConditionalGateHandle {
  readonly host: string;
  readonly port: number;
  /** `http://host:port`: the S3 endpoint clients use. */
  readonly endpoint: string;
  readonly stats: Readonly<GateStats>;
  /**
   * From now on admit only requests signed by the identity named `name` (the pipeline's own key);
   * everyone else gets 503. Called when the stack stops: a write answered 200 must reach the
   * pipeline, so outside writes are refused before the event router stops, while the handlers
   * still finishing their deliveries keep their way to the store.
   */
  admitOnly(name: string): void;
  /** Stop listening, drop connections and upstream sockets. */
  close(): Promise<void>;
}

/** Query parameters naming a subresource; a request carrying one is not a plain object read or write. */
const SUBRESOURCES = new Set([
  'acl', 'attributes', 'legal-hold', 'partNumber', 'restore', 'retention', 'select', 'tagging', 'torrent', 'uploadId', 'uploads', 'versionId',
]);

type WriteOperation = { readonly kind: 'put' | 'copy' | 'complete' | 'delete'; readonly lockKey: string; readonly bucket: string; readonly key: string };

type Operation =
  | WriteOperation
  | { readonly kind: 'read'; readonly lockKey: string; readonly bucket: string; readonly key: string }
  | { readonly kind: 'list'; readonly url: URL }
  | { readonly kind: 'pass' };

function classify(req: IncomingMessage): Operation {
  const url = new URL(req.url ?? '/', 'http://gate.invalid');
  const [bucketPart, ...keyParts] = url.pathname.slice(1).split('/');
  if (bucketPart && keyParts.join('/') === '' && req.method === 'GET' && url.searchParams.get('list-type') === '2') {
    return { kind: 'list', url };
  }
  if (!bucketPart || keyParts.length === 0 || keyParts.join('/') === '') return { kind: 'pass' };
  let bucket: string;
  let key: string;
  try {
    bucket = decodeURIComponent(bucketPart);
    key = decodeURIComponent(keyParts.join('/'));
  } catch {
    return { kind: 'pass' };
  }
  const params = [...url.searchParams.keys()];
  const lockKey = `${bucket}/${key}`;
  const hasSubresource = params.some((p) => SUBRESOURCES.has(p));
  switch (req.method) {
    case 'PUT':
      if (hasSubresource) return { kind: 'pass' };
      return { kind: req.headers['x-amz-copy-source'] ? 'copy' : 'put', lockKey, bucket, key };
    case 'POST':
      return url.searchParams.has('uploadId') ? { kind: 'complete', lockKey, bucket, key } : { kind: 'pass' };
    case 'DELETE':
      return hasSubresource ? { kind: 'pass' } : { kind: 'delete', lockKey, bucket, key };
    case 'GET':
    case 'HEAD':
      return hasSubresource ? { kind: 'pass' } : { kind: 'read', lockKey, bucket, key };
    default:
      return { kind: 'pass' };
  }
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'expect', 'upgrade', 'te', 'trailer']);

function forwardHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  }
  return out;
}

function responseHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out = forwardHeaders(headers);
  delete out['transfer-encoding'];
  return out;
}

function s3ErrorXml(code: string, message: string, extra: Record<string, string>, requestId: string): string {
  const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const fields = Object.entries(extra).map(([k, v]) => `<${k}>${escape(v)}</${k}>`).join('');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${escape(message)}</Message>${fields}<RequestId>${requestId}</RequestId><HostId>lup-local-gate</HostId></Error>`;
}

/**
 * The bucket's ACL as S3 answers GetBucketAcl for a bucket its account owns: the owner holds
 * FULL_CONTROL. s3rver does not implement GetBucketAcl, and the Defold editor's Amazon publisher
 * refuses to upload unless one grant is WRITE or FULL_CONTROL (AWSPublisher.hasWritePermissions).
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketAcl.html
 */
const BUCKET_ACL_XML = [
  '<?xml version="1.0" encoding="UTF-8"?>',
  '<AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/">',
  '<Owner><ID>lup-local</ID><DisplayName>lup-local</DisplayName></Owner>',
  '<AccessControlList><Grant>',
  '<Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>lup-local</ID><DisplayName>lup-local</DisplayName></Grantee>',
  '<Permission>FULL_CONTROL</Permission>',
  '</Grant></AccessControlList></AccessControlPolicy>',
].join('');

/** True for GetBucketAcl on `bucket` (`GET /<bucket>?acl`, nothing else). */
function isGetBucketAcl(req: IncomingMessage, bucket: string): boolean {
  const url = new URL(req.url ?? '/', 'http://gate.invalid');
  return req.method === 'GET' && url.pathname.replace(/\/$/, '') === `/${encodeURIComponent(bucket)}` && [...url.searchParams.keys()].join() === 'acl';
}

/** Wait until a request body has been read to its end (or the client went away). */
function drain(req: IncomingMessage): Promise<void> {
  if (req.readableEnded) return Promise.resolve();
  return new Promise((resolve) => {
    req.on('end', resolve);
    req.on('close', resolve);
    req.on('error', () => resolve());
    req.resume();
  });
}

function readAll(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
    stream.on('aborted', () => reject(new Error('upstream response aborted')));
  });
}

interface Refusal {
  readonly status: number;
  readonly code: string;
  readonly message: string;
  readonly extra: Record<string, string>;
}

const PRECONDITION_MESSAGE = 'At least one of the pre-conditions you specified did not hold';

/**
 * Start the gate on `host:port`, forwarding to `upstream`. See the file comment for what it adds.
 *
 * @example
 * const s3 = await startS3Server({ directory, bucket: 'lup-local' });
 * const pipeline = createPipelineCredentials();
 * const gate = await startConditionalGate({ upstream: s3, port: 4568, access: { identities: localIdentities(pipeline), bucket: 'lup-local' } });
 * const client = createS3Client({ endpoint: gate.endpoint, credentials: pipeline });
 */
export async function startConditionalGate(request: StartConditionalGateRequest): Promise<ConditionalGateHandle> {
  const host = request.host ?? '127.0.0.1';
  const consistentReadMaxBytes = request.consistentReadMaxBytes ?? 1024 * 1024;
  const upstream = request.upstream;
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const locks = request.locks ?? new KeyLocks();
  const stats: GateStats = { forwarded: 0, conditionalWrites: 0, refused: 0, denied: 0 };
  const verifier = new SignatureVerifier(request.access.identities);
  const allowedHosts = hostNamesFor(host);

  /**
   * Whether to serve a request, checked in this order: browser, Host, key safety, signature,
   * reach. When it is served, `req.url` and the copy source become the canonical form of what was
   * checked and the authentication is removed, so s3rver sees exactly that.
   */
  /** Set while stopping: the one identity still admitted (see `admitOnly`). */
  let onlyIdentity: string | undefined;

  async function admitRequest(req: IncomingMessage): Promise<Refusal | undefined> {
    const method = req.method ?? 'GET';
    const early = refuseBrowserRequest(method, req.headers) ?? refuseHost(req.headers, allowedHosts);
    if (early) return early;
    const target = readRequestTarget(req.url ?? '/');
    if ('unsafe' in target) return { status: 400, code: 'InvalidArgument', message: `Refused request path: ${target.unsafe}.`, extra: {} };
    const identity = await verifier.verify({ method, target, headers: req.headers, rawHeaders: req.rawHeaders });
    if ('status' in identity) return identity;
    if (onlyIdentity !== undefined && identity.name !== onlyIdentity) {
      return { status: 503, code: 'ServiceUnavailable', message: 'The local stack is stopping; nothing was stored. Retry once it runs again.', extra: {} };
    }
    const refusal = authorize(identity, method, target, req.headers, request.access.bucket);
    if (refusal) return refusal;
    const query = forwardedQuery(target.query);
    req.url = query ? `${target.path}?${query}` : target.path;
    delete req.headers.authorization;
    const copySource = headerValue(req.headers['x-amz-copy-source']);
    if (copySource !== undefined) {
      const source = readCopySource(copySource);
      if (source) req.headers['x-amz-copy-source'] = `/${source.bucket}/${source.key.split('/').map(encodeURIComponent).join('/')}`;
    }
    return undefined;
  }

  /** Send a request to s3rver; the body is piped from `body` when given. */
  function send(method: string, path: string, headers: OutgoingHttpHeaders, body?: IncomingMessage): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const up = httpRequest({ host: upstream.host, port: upstream.port, method, path, headers, agent }, resolve);
      up.on('error', reject);
      if (body) {
        body.on('aborted', () => up.destroy(new Error('client aborted the request')));
        body.pipe(up);
      } else {
        up.end();
      }
    });
  }

  /** The current ETag of an object, or `undefined` when it does not exist. */
  async function currentEtag(bucket: string, key: string): Promise<string | undefined> {
    const path = `/${encodeURIComponent(bucket)}/${key.split('/').map(encodeURIComponent).join('/')}`;
    const res = await send('HEAD', path, {});
    res.resume();
    if (res.statusCode === 404) return undefined;
    const etag = res.headers.etag;
    if (res.statusCode !== 200 || typeof etag !== 'string') {
      throw new Error(`HEAD ${path} answered ${res.statusCode} without an ETag`);
    }
    return etag;
  }

  function parseCopySource(header: string): { bucket: string; key: string } | undefined {
    const withoutQuery = header.split('?')[0];
    let decoded: string;
    try {
      decoded = decodeURIComponent(withoutQuery);
    } catch {
      return undefined;
    }
    const trimmed = decoded.startsWith('/') ? decoded.slice(1) : decoded;
    const slash = trimmed.indexOf('/');
    if (slash <= 0 || slash === trimmed.length - 1) return undefined;
    return { bucket: trimmed.slice(0, slash), key: trimmed.slice(slash + 1) };
  }

  /** Evaluate the write's conditions under the lock; a refusal, or `undefined` to go ahead. */
  async function evaluate(op: WriteOperation, headers: IncomingHttpHeaders): Promise<Refusal | undefined> {
    const ifMatch = headerValue(headers['if-match']);
    const ifNoneMatch = headerValue(headers['if-none-match']);
    if (op.kind === 'delete') return undefined;
    if (ifMatch !== undefined && ifNoneMatch !== undefined) {
      return { status: 501, code: 'NotImplemented', message: 'A header you provided implies functionality that is not implemented', extra: { Header: 'If-Match,If-None-Match' } };
    }
    if ((ifNoneMatch !== undefined && ifNoneMatch.trim() !== '*') || (ifMatch !== undefined && ifMatch.trim() === '*')) {
      const header = ifNoneMatch !== undefined ? 'If-None-Match' : 'If-Match';
      return { status: 501, code: 'NotImplemented', message: 'A header you provided implies functionality that is not implemented', extra: { Header: header } };
    }
    if (op.kind === 'copy') {
      const source = parseCopySource(headerValue(headers['x-amz-copy-source']) ?? '');
      const sourceIfMatch = headerValue(headers['x-amz-copy-source-if-match']);
      const sourceIfNoneMatch = headerValue(headers['x-amz-copy-source-if-none-match']);
      if (source && (sourceIfMatch !== undefined || sourceIfNoneMatch !== undefined)) {
        stats.conditionalWrites += 1;
        const sourceEtag = await currentEtag(source.bucket, source.key);
        if (sourceEtag === undefined) {
          return { status: 404, code: 'NoSuchKey', message: 'The specified key does not exist.', extra: { Key: source.key } };
        }
        if (sourceIfMatch !== undefined && !sameEtag(sourceIfMatch, sourceEtag)) {
          return { status: 412, code: 'PreconditionFailed', message: PRECONDITION_MESSAGE, extra: { Condition: 'x-amz-copy-source-If-Match' } };
        }
        if (sourceIfNoneMatch !== undefined && sameEtag(sourceIfNoneMatch, sourceEtag)) {
          return { status: 412, code: 'PreconditionFailed', message: PRECONDITION_MESSAGE, extra: { Condition: 'x-amz-copy-source-If-None-Match' } };
        }
      }
    }
    if (ifMatch === undefined && ifNoneMatch === undefined) return undefined;
    stats.conditionalWrites += 1;
    const etag = await currentEtag(op.bucket, op.key);
    if (ifNoneMatch !== undefined && etag !== undefined) {
      return { status: 412, code: 'PreconditionFailed', message: PRECONDITION_MESSAGE, extra: { Condition: 'If-None-Match' } };
    }
    if (ifMatch !== undefined) {
      // S3 answers If-Match on a key without a current object with 404 NoSuchKey, not 412.
      if (etag === undefined) return { status: 404, code: 'NoSuchKey', message: 'The specified key does not exist.', extra: { Key: op.key } };
      if (!sameEtag(ifMatch, etag)) {
        return { status: 412, code: 'PreconditionFailed', message: PRECONDITION_MESSAGE, extra: { Condition: 'If-Match' } };
      }
    }
    return undefined;
  }

  function refuse(res: ServerResponse, refusal: Refusal): void {
    stats.refused += 1;
    writeRefusal(res, refusal);
  }

  function writeRefusal(res: ServerResponse, refusal: Refusal): void {
    const requestId = randomBytes(8).toString('hex').toUpperCase();
    const body = s3ErrorXml(refusal.code, refusal.message, refusal.extra, requestId);
    res.writeHead(refusal.status, {
      'Content-Type': 'application/xml',
      'Content-Length': Buffer.byteLength(body),
      'x-amz-request-id': requestId,
    });
    res.end(body);
  }

  async function deny(req: IncomingMessage, res: ServerResponse, refusal: Refusal): Promise<void> {
    stats.denied += 1;
    await drain(req);
    writeRefusal(res, refusal);
  }

  function fail(res: ServerResponse, error: unknown): void {
    if (res.headersSent) {
      res.destroy(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    const message = error instanceof Error ? error.message : String(error);
    const body = s3ErrorXml('InternalError', `Local S3 gate: ${message}`, {}, 'GATE');
    res.writeHead(500, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  }

  async function handleWrite(op: WriteOperation, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const wanted = [{ key: op.lockKey, write: true }];
    if (op.kind === 'copy') {
      const source = parseCopySource(headerValue(req.headers['x-amz-copy-source']) ?? '');
      if (source) wanted.push({ key: `${source.bucket}/${source.key}`, write: false });
    }
    const release = await locks.acquireAll(wanted);
    let answer: { status: number; headers: OutgoingHttpHeaders; body: Buffer } | undefined;
    let refusal: Refusal | undefined;
    try {
      refusal = await evaluate(op, req.headers);
      if (!refusal) {
        stats.forwarded += 1;
        const up = await send(req.method ?? 'PUT', req.url ?? '/', forwardHeaders(req.headers), req);
        // Buffer s3rver's (small) answer so the lock is not held while a slow client reads it.
        answer = { status: up.statusCode ?? 502, headers: responseHeaders(up.headers), body: await readAll(up) };
      }
    } finally {
      release();
    }
    if (refusal) {
      await drain(req);
      refuse(res, refusal);
    } else if (answer) {
      answer.headers['content-length'] = answer.body.length;
      res.writeHead(answer.status, answer.headers);
      res.end(answer.body);
    }
  }

  async function handleRead(op: Extract<Operation, { kind: 'read' }>, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const release = await locks.acquire(op.lockKey, false);
    let up: IncomingMessage;
    try {
      // s3rver ignores If-Match on reads; S3 answers 412, which is what lets a ranged reader
      // notice that the object was replaced between two ranges.
      const ifMatch = headerValue(req.headers['if-match']);
      if (ifMatch !== undefined) {
        const etag = await currentEtag(op.bucket, op.key);
        if (etag !== undefined && !sameEtag(ifMatch, etag)) {
          release();
          await drain(req);
          refuse(res, { status: 412, code: 'PreconditionFailed', message: PRECONDITION_MESSAGE, extra: { Condition: 'If-Match' } });
          return;
        }
      }
      stats.forwarded += 1;
      up = await send(req.method ?? 'GET', req.url ?? '/', forwardHeaders(req.headers), req);
    } catch (error) {
      release();
      throw error;
    }
    const length = Number(up.headers['content-length']);
    if (req.method === 'HEAD' || (Number.isFinite(length) && length <= consistentReadMaxBytes)) {
      let body: Buffer;
      try {
        body = await readAll(up);
      } finally {
        release();
      }
      const headers = responseHeaders(up.headers);
      if (req.method !== 'HEAD') headers['content-length'] = body.length;
      res.writeHead(up.statusCode ?? 502, headers);
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    release();
    await pipeResponse(up, res);
  }

  async function handleList(op: Extract<Operation, { kind: 'list' }>, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const v2 = op.url.searchParams;
    const token = v2.get('continuation-token');
    const marker = token !== null ? decodeListToken(token) : (v2.get('start-after') ?? '');
    if (marker === undefined) {
      refuse(res, { status: 400, code: 'InvalidArgument', message: 'The continuation token provided is incorrect', extra: { ArgumentName: 'continuation-token' } });
      await drain(req);
      return;
    }
    const v1 = new URLSearchParams();
    for (const [name, value] of v2) {
      if (!['list-type', 'continuation-token', 'start-after', 'fetch-owner', 'encoding-type'].includes(name)) v1.append(name, value);
    }
    if (marker) v1.set('marker', marker);
    // s3rver takes the first max-keys keys of its directory walk and only then drops those whose
    // metadata file is missing: objects being written or deleted at that moment. Under a busy
    // pipeline (staged objects deleted as they are verified) a page can so come back short, even
    // empty while more keys follow, which S3 never does for keys that exist; an empty truncated page
    // also gives no key to continue from. Ask again for more keys until the page is full or the
    // listing ends, then trim it to what the client asked for.
    const requested = Math.min(Math.max(Number(v2.get('max-keys') ?? 1000) || 0, 0), 1000);
    let ask = requested;
    let body: string;
    for (;;) {
      v1.set('max-keys', String(ask));
      stats.forwarded += 1;
      const up = await send('GET', `${op.url.pathname}?${v1.toString()}`, forwardHeaders(req.headers), ask === requested ? req : undefined);
      body = (await readAll(up)).toString('utf8');
      if (up.statusCode !== 200) {
        const headers = responseHeaders(up.headers);
        headers['content-length'] = Buffer.byteLength(body);
        res.writeHead(up.statusCode ?? 502, headers);
        res.end(body);
        return;
      }
      const kept = (body.match(/<Contents>/g) ?? []).length;
      if (kept >= requested || !/<IsTruncated>true<\/IsTruncated>/.test(body) || requested === 0) break;
      ask = ask * 2 + 16;
    }
    const xml = listV1ToV2(trimListPage(body, requested), token, token === null ? v2.get('start-after') : null);
    res.writeHead(200, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(xml) });
    res.end(xml);
  }

  async function handlePass(req: IncomingMessage, res: ServerResponse): Promise<void> {
    stats.forwarded += 1;
    const up = await send(req.method ?? 'GET', req.url ?? '/', forwardHeaders(req.headers), req);
    await pipeResponse(up, res);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // The discovery document is read-only and unsigned (the CLI finds the stack's CDN with it).
    if (answerDiscovery(req, res, request.discovery)) return;
    const refusal = await admitRequest(req);
    if (refusal) return deny(req, res, refusal);
    if (isGetBucketAcl(req, request.access.bucket)) {
      res.writeHead(200, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(BUCKET_ACL_XML) });
      res.end(BUCKET_ACL_XML);
      return;
    }
    const op = classify(req);
    return op.kind === 'pass'
      ? handlePass(req, res)
      : op.kind === 'read'
        ? handleRead(op, req, res)
        : op.kind === 'list'
          ? handleList(op, req, res)
          : handleWrite(op, req, res);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => fail(res, error));
  });

  const port = await listen(server, request.port ?? 0, host);

  return {
    host,
    port,
    endpoint: `http://${host}:${port}`,
    stats,
    admitOnly(name) {
      onlyIdentity = name;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => {
          agent.destroy();
          if (error) reject(error);
          else resolve();
        });
        server.closeAllConnections();
      }),
  };
}

/**
 * Where the gate describes its stack. Path-style S3 reads it as bucket ".well-known", which no
 * bucket can be (bucket names start with a letter or digit), so it never shadows an object.
 */
export const DISCOVERY_PATH = '/.well-known/lup-local.json';

/** Answer a GET of {@link DISCOVERY_PATH} with the discovery document; true when answered. */
function answerDiscovery(req: IncomingMessage, res: ServerResponse, discovery: (() => object | undefined) | undefined): boolean {
  if (!discovery || (req.method !== 'GET' && req.method !== 'HEAD') || new URL(req.url ?? '/', 'http://gate.invalid').pathname !== DISCOVERY_PATH) return false;
  const document = discovery();
  const body = JSON.stringify(document ?? { error: 'starting' });
  res.writeHead(document ? 200 : 503, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(req.method === 'HEAD' ? undefined : body);
  return true;
}

/** The Host names a gate listening on `host` answers to; `undefined` (any) on a wildcard address. */
function hostNamesFor(host: string): ReadonlySet<string> | undefined {
  if (host === '0.0.0.0' || host === '::') return undefined;
  const named = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return new Set([named.toLowerCase(), '127.0.0.1', 'localhost', '[::1]']);
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(',') : value;
}

function pipeResponse(up: IncomingMessage, res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const headers = forwardHeaders(up.headers);
    res.writeHead(up.statusCode ?? 502, headers);
    up.pipe(res);
    up.on('end', resolve);
    up.on('error', (error) => {
      res.destroy(error);
      resolve();
    });
    res.on('close', () => {
      if (!up.readableEnded) up.destroy();
      resolve();
    });
  });
}
