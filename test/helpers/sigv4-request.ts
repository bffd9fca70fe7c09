/**
 * Test helper: raw HTTP requests to an S3 endpoint, signed with SigV4 as real clients sign them
 * (`@smithy/signature-v4`, the AWS SDK's signer), over a path sent exactly as given (no
 * normalisation), so tests can sign hostile paths too. Also the documented local key pairs, written
 * out literally so a test notices when the documentation and the code drift apart.
 */
import { createHash } from 'node:crypto';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { SignatureV4 } from '@smithy/signature-v4';
import { NodeSha256 } from '../../lib/local/request-auth';

export interface KeyPair {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** The publisher key of `lup local`, as README.md documents it. */
export const DOCUMENTED_PUBLISHER: KeyPair = { accessKeyId: 'LUPLOCALPUBLISHER', secretAccessKey: 'lup-local-publisher-secret' };
/** The operator key of `lup local`, as README.md documents it. */
export const DOCUMENTED_OPERATOR: KeyPair = { accessKeyId: 'LUPLOCALOPERATOR', secretAccessKey: 'lup-local-operator-secret' };

/** `crypto` hashes as `@smithy/signature-v4` wants them (the gate's own shim). */
export const Sha256 = NodeSha256;

export interface RawS3Response {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  /** The S3 error code of an error answer, if any. */
  readonly code?: string;
}

export interface S3RequestOptions {
  readonly method?: string;
  /** Query parameters (decoded). */
  readonly query?: Record<string, string>;
  readonly headers?: Record<string, string>;
  readonly body?: string | Buffer;
  /** Sign with this key pair; unsigned when omitted. */
  readonly sign?: KeyPair;
  /** Presign (query auth) instead of the Authorization header, valid this many seconds. */
  readonly presignSeconds?: number;
  /** Signing time. @default now */
  readonly signingDate?: Date;
  /** Sign a Host other than the endpoint's (what a DNS-rebinding page would send). */
  readonly host?: string;
  /** Payload hash claim. @default sha256 of the body */
  readonly payloadHash?: string;
}

/** Send one request to `endpoint` with `rawPath` exactly as given, optionally SigV4-signed. */
export async function s3Request(endpoint: string, rawPath: string, options: S3RequestOptions = {}): Promise<RawS3Response> {
  const url = new URL(endpoint);
  const method = options.method ?? 'GET';
  const body = options.body === undefined ? undefined : Buffer.from(options.body);
  const host = options.host ?? url.host;
  let headers: Record<string, string> = { ...options.headers, host };
  let query: Record<string, string> = { ...options.query };
  if (options.sign) {
    const signer = new SignatureV4({ credentials: options.sign, region: 'us-east-1', service: 's3', sha256: Sha256, uriEscapePath: false });
    const request = { method, protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: rawPath, query, headers };
    if (options.presignSeconds !== undefined) {
      // As @aws-sdk/s3-request-presigner does: the payload is unsigned, said in the query.
      headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
      const signed = await signer.presign(request, { expiresIn: options.presignSeconds, signingDate: options.signingDate });
      query = signed.query as Record<string, string>;
      headers = signed.headers;
    } else {
      headers['x-amz-content-sha256'] = options.payloadHash ?? createHash('sha256').update(body ?? '').digest('hex');
      const signed = await signer.sign(request, { signingDate: options.signingDate });
      headers = signed.headers;
    }
  }
  const search = Object.entries(query).map(([k, v]) => `${encode(k)}=${encode(v)}`).join('&');
  const path = search ? `${rawPath}?${search}` : rawPath;
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, method, path, headers: body ? { ...headers, 'content-length': String(body.length) } : headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, code: /<Code>([^<]*)<\/Code>/.exec(text)?.[1] });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

function encode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
