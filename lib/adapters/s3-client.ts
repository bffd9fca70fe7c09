/**
 * The one place an `S3Client` is built. Units that talk to S3 receive the client from outside
 * (STYLE #8); entry points (Lambda runtime, CLI, local stack) call {@link createS3Client} once.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { S3Client } from '@aws-sdk/client-s3';

/** Access keys for an S3 endpoint. */
export interface S3Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/** Options of {@link createS3Client}. */
export interface CreateS3ClientRequest {
  /**
   * Endpoint of an S3-compatible server, e.g. the local stack's `http://127.0.0.1:4568`.
   * When given, requests use path-style addressing (`forcePathStyle`), which local servers need.
   * @default - the AWS endpoint of the region
   */
  readonly endpoint?: string;
  /**
   * AWS region.
   * @default - `us-east-1` when an endpoint is given, else resolved by the SDK (`AWS_REGION`, profile)
   */
  readonly region?: string;
  /**
   * Credentials to sign with.
   * @default - the SDK's default provider chain (environment, profile, Lambda role)
   */
  readonly credentials?: S3Credentials;
  /**
   * Sockets kept per host. Each in-flight request holds one socket, so this bounds real
   * concurrency: if you raise the upload or verification concurrency above it, requests queue
   * for a socket instead of running in parallel.
   * @default 64
   */
  readonly maxSockets?: number;
  /**
   * When the SDK computes a checksum of each request body (S3's flexible checksums: CRC32 of every
   * PutObject and part). A local S3 server ignores it, and for a 150 MB archive it cost the
   * publisher 0.3 s of CPU before the first byte; S3 itself verifies it, so keep it there.
   * @default "when-supported" (the SDK's default)
   */
  readonly requestChecksums?: 'when-supported' | 'when-required';
  /**
   * Where the SDK's own warnings go. Without a logger it writes some to the console, such as "An
   * error was encountered in a non-retryable streaming request." when `lup publish` stops a
   * streamed upload on purpose (its local check refused the archive); the failure itself is
   * reported by the caller either way.
   * @default "console"
   */
  readonly sdkWarnings?: 'console' | 'silent';
}

const SILENT_LOGGER = { trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

/** Sockets per host when not told otherwise: the CLI and handlers run up to 64 requests at once. */
export const DEFAULT_MAX_SOCKETS = 64;

/**
 * Build an `S3Client` with keep-alive sockets sized for {@link CreateS3ClientRequest.maxSockets}
 * concurrent requests. Keep-alive matters: without it every small PUT pays a TCP handshake,
 * which dominates publish time for thousands of small resources.
 *
 * @example
 * const client = createS3Client({ endpoint: stack.s3Endpoint, credentials: LOCAL_S3_CREDENTIALS });
 */
export function createS3Client(request: CreateS3ClientRequest = {}): S3Client {
  const maxSockets = request.maxSockets ?? DEFAULT_MAX_SOCKETS;
  if (!Number.isInteger(maxSockets) || maxSockets < 1) {
    throw new RangeError(`maxSockets must be a whole number of at least 1, got ${maxSockets}`);
  }
  const agentOptions = { keepAlive: true, maxSockets };
  return new S3Client({
    endpoint: request.endpoint,
    region: request.region ?? (request.endpoint ? 'us-east-1' : undefined),
    forcePathStyle: request.endpoint !== undefined,
    credentials: request.credentials,
    requestHandler: { httpAgent: new HttpAgent(agentOptions), httpsAgent: new HttpsAgent(agentOptions) },
    ...(request.requestChecksums === 'when-required' ? { requestChecksumCalculation: 'WHEN_REQUIRED' as const } : {}),
    ...(request.sdkWarnings === 'silent' ? { logger: SILENT_LOGGER } : {}),
  });
}
