/**
 * The local S3 server: s3rver, silent, on 127.0.0.1, its data in a folder that survives restarts.
 * It sits behind the conditional-write gate; nobody but the gate should talk to it directly,
 * because s3rver ignores `If-Match` / `If-None-Match` on writes, serves unsigned requests, never
 * verifies SigV4 signatures and joins keys into file paths (the gate checks all of that).
 */
import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';

/** An S3-style event record as s3rver emits it (subset we read). Keys are NOT URL-encoded. */
export interface S3EventRecordLike {
  readonly eventName: string;
  readonly s3: {
    readonly bucket: { readonly name: string };
    readonly object: { readonly key: string; readonly size?: number; readonly eTag?: string };
  };
}

/** An S3-style event as s3rver emits it. */
export interface S3EventLike {
  readonly Records: readonly S3EventRecordLike[];
}

/** The part of an s3rver instance we use. s3rver ships no types. */
interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
  on(event: 'event', listener: (event: S3EventLike) => void): unknown;
  off(event: 'event', listener: (event: S3EventLike) => void): unknown;
  on(event: 'error', listener: (error: unknown) => void): unknown;
  httpServer?: { closeAllConnections?: () => void };
}

type S3rverConstructor = new (options: Record<string, unknown>) => S3rverInstance;

/** Options of {@link startS3Server}. */
export interface StartS3ServerRequest {
  /** Folder holding the buckets; created if missing and kept across restarts. */
  readonly directory: string;
  /** Bucket to create when it does not exist yet. */
  readonly bucket: string;
  /**
   * Port to listen on; 0 picks a free one.
   * @default 0
   */
  readonly port?: number;
  /**
   * Interface to listen on. Loopback only: the local server has no access control.
   * @default "127.0.0.1"
   */
  readonly host?: string;
}

/** A running local S3 server. */
export interface S3ServerHandle {
  readonly host: string;
  readonly port: number;
  /** `http://host:port`. */
  readonly endpoint: string;
  /** Subscribe to s3rver's S3-style event records (ObjectCreated:Put/Post/Copy, ObjectRemoved:Delete). */
  onEvent(listener: (event: S3EventLike) => void): () => void;
  /** Stop listening and drop open connections. */
  close(): Promise<void>;
}

/** Start s3rver on `host:port` with its data under `directory`, creating `bucket` if missing. */
export async function startS3Server(request: StartS3ServerRequest): Promise<S3ServerHandle> {
  const host = request.host ?? '127.0.0.1';
  await mkdir(request.directory, { recursive: true });
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- s3rver is CommonJS without types
  const S3rver = require('s3rver') as S3rverConstructor;
  const server = new S3rver({
    address: host,
    port: request.port ?? 0,
    silent: true,
    directory: request.directory,
    // Path-style only: the gate forwards the client's Host header unchanged, and a host name that
    // is not an IP must not be mistaken for a virtual-hosted bucket.
    vhostBuckets: false,
    resetOnClose: false,
    configureBuckets: [{ name: request.bucket }],
  });
  const address = await server.run();
  const listeners = new Set<(event: S3EventLike) => void>();
  const dispatch = (event: S3EventLike): void => {
    for (const listener of listeners) listener(event);
  };
  server.on('event', dispatch);
  return {
    host,
    port: address.port,
    endpoint: `http://${host}:${address.port}`,
    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      server.off('event', dispatch);
      listeners.clear();
      const closing = server.close();
      // Keep-alive sockets would hold close() open until they time out.
      server.httpServer?.closeAllConnections?.();
      await closing;
    },
  };
}
