/**
 * The embedded local stack, the default when no AWS target is given: s3rver behind the
 * conditional-write gate, the event router delivering object-created events to the pipeline's
 * handlers through the one route table, a recording CDN invalidator and the local CDN.
 *
 * ```
 * client ──► gate (public S3 port) ──► s3rver (worker thread; data in <dataDir>/s3/<bucket>/)
 *              │ key locks (shared)        │ 'event' (ObjectCreated:Put/Post/Copy)
 *              ▼                           ▼
 *  store: s3rver's files, direct ──► event router ──► handlers (resource, archive, manifest, release)
 * player ──► local CDN (content/, channels/) ──► store
 * ```
 *
 * Events come from s3rver itself: it emits one S3-style record per stored object (PutObject,
 * CopyObject, CompleteMultipartUpload, form POST) after the write, and before it answers the
 * request, so by the time a client sees its PUT succeed the event is already queued. Writes the
 * gate refuses never reach s3rver and so never produce an event, as on S3.
 *
 * The pipeline and the CDN reach the objects directly (lib/local/server-files-store.ts): the same
 * files, under the same per-key locks as the gate, with the same events for the pipeline's own
 * writes. Through HTTP each of the pipeline's five requests per loose resource cost 2.5–3.2 ms of
 * s3rver's one thread (BENCHMARKS.md, issue 12); on AWS they are S3 requests served elsewhere.
 */
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { RecordingInvalidator } from '../adapters/cdn';
import { createS3Client } from '../adapters/s3-client';
import { startCdnServer, type CdnServerHandle } from './cdn-server';
import { startConditionalGate, type ConditionalGateHandle } from './conditional-gate';
import { KeyLocks } from './key-locks';
import { ServerFilesStore } from './server-files-store';
import { EventRouter, type EventRouterOptions, type StepHandlers } from './event-router';
import { createPipelineCredentials, localIdentities, PIPELINE_IDENTITY_NAME, LOCAL_OPERATOR_CREDENTIALS, LOCAL_PUBLISHER_CREDENTIALS, type LocalCredentials } from './request-auth';
import { LOCAL_BUCKET } from './defaults';
import { startS3Server, type S3EventLike, type S3ServerHandle } from './s3-server';

export { LOCAL_OPERATOR_CREDENTIALS, LOCAL_PUBLISHER_CREDENTIALS, type LocalCredentials };

export { LOCAL_BUCKET };

/** What the handlers of a local stack may use; given to a handler factory. */
export interface LocalStackContext {
  readonly bucket: string;
  /** The pipeline's store: s3rver's files reached directly (server-files-store.ts). */
  readonly store: ServerFilesStore;
  readonly client: S3Client;
  readonly invalidator: RecordingInvalidator;
  /** Base URL of the local CDN, ending in `/`. */
  readonly cdnBaseUrl: string;
}

/** Options of {@link startLocalStack}. */
export interface StartLocalStackRequest extends Omit<EventRouterOptions, 'handlers'> {
  /** Folder for the stack's data; S3 objects live in `<dataDir>/s3/<bucket>/` and survive restarts. */
  readonly dataDir: string;
  /**
   * Handlers of the pipeline steps, or a function building them from the stack (they usually
   * need its store and invalidator).
   */
  readonly handlers: StepHandlers | ((stack: LocalStackContext) => StepHandlers);
  /**
   * Public S3 port (the gate's); 0 picks a free one.
   * @default 0
   */
  readonly s3Port?: number;
  /**
   * Interface the S3 endpoint and the local CDN listen on. Anything but loopback lets other
   * machines reach them: the S3 endpoint still requires signatures, but the publisher key is
   * documented, so anyone on the network could stage content.
   * @default "127.0.0.1"
   */
  readonly host?: string;
  /**
   * Local CDN port; 0 picks a free one.
   * @default 0
   */
  readonly cdnPort?: number;
  /**
   * Bucket name.
   * @default "lup-local"
   */
  readonly bucket?: string;
  /**
   * Origins the local CDN allows cross-origin.
   * @default ["*"]
   */
  readonly corsOrigins?: readonly string[];
  /**
   * The stack runs without a studio configuration: games are pinned at their first release. Said
   * in the discovery document, so `lup publish` knows to check the pin before it uploads.
   * @default false
   */
  readonly developmentMode?: boolean;
}

/** A running local stack. Call {@link LocalStack.stop} when done. */
export interface LocalStack {
  /**
   * S3 endpoint to use with `forcePathStyle`: the gate. Sign with {@link LOCAL_PUBLISHER_CREDENTIALS}
   * to publish, {@link LOCAL_OPERATOR_CREDENTIALS} for operator commands.
   */
  readonly s3Endpoint: string;
  /** Base URL of the local CDN, ending in `/`. */
  readonly cdnBaseUrl: string;
  readonly bucket: string;
  /** The pipeline's own key pair: random per start, full reach, used in-process only. */
  readonly credentials: LocalCredentials;
  /** An S3 client through the gate, signed with the pipeline's key (tests and tools; the pipeline uses `store`). */
  readonly client: S3Client;
  /**
   * The pipeline's object store: s3rver's files reached directly, under the gate's locks, with
   * s3rver's events (server-files-store.ts).
   */
  readonly store: ServerFilesStore;
  readonly invalidator: RecordingInvalidator;
  readonly router: EventRouter;
  readonly gate: ConditionalGateHandle;
  /** Let in-flight deliveries finish, then close every server. Data stays in `dataDir`. */
  stop(): Promise<void>;
}

/** What the gate answers at `/.well-known/lup-local.json`: how to reach this stack. */
export interface LocalStackDiscovery {
  readonly service: 'lup-local';
  readonly s3Endpoint: string;
  readonly cdnBaseUrl: string;
  readonly bucket: string;
  readonly pid: number;
  /** True when the stack runs without a studio configuration (games pinned at their first release). */
  readonly developmentMode: boolean;
}

function discoveryDocument(endpoints: { s3Endpoint: string; cdnBaseUrl: string; bucket: string }, developmentMode: boolean): LocalStackDiscovery {
  return { service: 'lup-local', ...endpoints, pid: process.pid, developmentMode };
}

/** Start the embedded local stack. On failure, whatever was started is stopped again. */
export async function startLocalStack(request: StartLocalStackRequest): Promise<LocalStack> {
  const { dataDir, handlers, s3Port, cdnPort, corsOrigins, host, developmentMode, ...routerOptions } = request;
  const bucket = request.bucket ?? LOCAL_BUCKET;
  const cleanups: (() => Promise<void>)[] = [];
  let stopping: Promise<void> | undefined;
  const stopAll = (): Promise<void> =>
    (stopping ??= (async () => {
      for (const cleanup of [...cleanups].reverse()) await cleanup();
    })());
  try {
    const s3: S3ServerHandle = await startS3Server({ directory: join(dataDir, 's3'), bucket });
    cleanups.push(() => s3.close());
    const credentials = createPipelineCredentials();
    let discovery: LocalStackDiscovery | undefined;
    // One lock table for both ways to the objects: HTTP through the gate, and the pipeline's direct store.
    const locks = new KeyLocks();
    const gate = await startConditionalGate({ upstream: s3, port: s3Port ?? 0, host, access: { identities: localIdentities(credentials), bucket }, discovery: () => discovery, locks });
    cleanups.push(() => gate.close());
    // On a wildcard address the pipeline reaches the gate on loopback.
    const wildcard = host === '0.0.0.0' || host === '::';
    const client = createS3Client({ endpoint: wildcard ? `http://127.0.0.1:${gate.port}` : gate.endpoint, credentials, requestChecksums: 'when-required', sdkWarnings: 'silent' });
    cleanups.push(async () => client.destroy());
    let deliver: ((event: S3EventLike) => void) | undefined;
    const store = new ServerFilesStore({ directory: join(dataDir, 's3'), bucket, locks, onEvent: (event) => deliver?.(event) });
    const invalidator = new RecordingInvalidator();
    const cdn: CdnServerHandle = await startCdnServer({ store, corsOrigins, port: cdnPort ?? 0, host });
    cleanups.push(() => cdn.close());
    discovery = discoveryDocument({ s3Endpoint: gate.endpoint, cdnBaseUrl: cdn.baseUrl, bucket }, developmentMode === true);
    const context: LocalStackContext = { bucket, store, client, invalidator, cdnBaseUrl: cdn.baseUrl };
    const router = new EventRouter({
      ...routerOptions,
      handlers: typeof handlers === 'function' ? handlers(context) : handlers,
    });
    deliver = (event) => {
      // Only the stack's own bucket is wired to the pipeline, as the CDK notifications are.
      if (event.Records.every((r) => r.s3.bucket.name === bucket)) router.handleS3Event(event);
    };
    const unsubscribe = s3.onEvent(deliver);
    cleanups.push(async () => {
      // Outside writes first: a PUT answered 200 after the router stopped would never be verified.
      gate.admitOnly(PIPELINE_IDENTITY_NAME);
      await router.stop();
      unsubscribe();
      deliver = undefined;
    });
    return {
      s3Endpoint: gate.endpoint,
      cdnBaseUrl: cdn.baseUrl,
      bucket,
      credentials,
      client,
      store,
      invalidator,
      router,
      gate,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
