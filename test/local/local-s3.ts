/**
 * Test fixture: s3rver in a fresh temp folder behind the conditional-write gate, both on
 * ephemeral ports, a store talking to the gate, and the local stack's direct store over the same files. `close()` stops everything and removes the folder.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { createS3Client } from '../../lib/adapters/s3-client';
import { S3ObjectStore } from '../../lib/adapters/s3-store';
import { startConditionalGate, type ConditionalGateHandle } from '../../lib/local/conditional-gate';
import { KeyLocks } from '../../lib/local/key-locks';
import { ServerFilesStore } from '../../lib/local/server-files-store';
import { createPipelineCredentials, localIdentities } from '../../lib/local/request-auth';
import { startS3Server, type S3EventLike, type S3ServerHandle } from '../../lib/local/s3-server';

export interface LocalS3 {
  readonly dir: string;
  readonly bucket: string;
  readonly s3: S3ServerHandle;
  readonly gate: ConditionalGateHandle;
  readonly client: S3Client;
  readonly store: S3ObjectStore;
  /** The local stack's direct store over the same files, sharing the gate's locks. */
  readonly files: ServerFilesStore;
  /** Events of the direct store's writes, in order. */
  readonly directEvents: S3EventLike[];
  /** The full-reach key the client signs with. */
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  close(): Promise<void>;
}

export async function makeTempDir(prefix = 'lup-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export async function startLocalS3(bucket = 'lup-test'): Promise<LocalS3> {
  const dir = await makeTempDir();
  const s3 = await startS3Server({ directory: dir, bucket });
  // Signed with a full-reach key, as the pipeline's own client is.
  const credentials = createPipelineCredentials();
  const locks = new KeyLocks();
  const gate = await startConditionalGate({ upstream: s3, access: { identities: localIdentities(credentials), bucket }, locks });
  const client = createS3Client({ endpoint: gate.endpoint, credentials });
  const store = new S3ObjectStore({ client, bucket });
  const directEvents: S3EventLike[] = [];
  const files = new ServerFilesStore({ directory: dir, bucket, locks, onEvent: (event) => directEvents.push(event) });
  return {
    files,
    directEvents,
    dir,
    bucket,
    s3,
    credentials,
    gate,
    client,
    store,
    async close() {
      client.destroy();
      await gate.close();
      await s3.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
