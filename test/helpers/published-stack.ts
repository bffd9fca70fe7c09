/**
 * Test harness of the operator commands: the real pipeline stack on ephemeral ports in a temporary
 * folder, content published straight through the pipeline (real bob-built zips put into staging
 * with a release request, as `lup publish` would), and `lup` run in-process with captured output
 * against the stack's S3 endpoint and CDN.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../lib/cli/run';
import { captureIo } from './cli-run';
import { forEachArchiveEntry, readEntryBytes } from '../../lib/core/format/archive';
import { bytesSource } from '../../lib/core/format/byte-source';
import type { StudioConfig } from '../../lib/core/config';
import { MANIFEST_NAME, keys } from '../../lib/core/keys';
import type { ChannelPointer } from '../../lib/core/documents/pointer';
import type { ReleaseRequest } from '../../lib/core/documents/release-request';
import type { UploadStatus } from '../../lib/core/documents/upload-status';
import { startPipelineStack, type PipelineStack } from '../../lib/local/pipeline-stack';
import { REAL_BUILDS } from './real-fixtures';

/** Bob-built zips of one project: 1.2.192 (old manifest schema), 1.6.2 and 1.11.2 (schema 5). */
export const FIXTURE_ZIPS = {
  legacy: REAL_BUILDS[0].zipPath,
  v162: REAL_BUILDS[1].zipPath,
  v1112: REAL_BUILDS[2].zipPath,
} as const;

/** The output of one `lup` run. */
export interface LupRun {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** A running pipeline stack in a temporary folder, with helpers to publish and to run `lup`. */
export interface PublishedStack {
  readonly stack: PipelineStack;
  /** The temporary folder (the stack's data is in `<dir>/data`). */
  readonly dir: string;
  /** `--endpoint <s3> --cdn <cdn>`: the flags that point a command at this stack. */
  readonly targetArgs: readonly string[];
  /** Run `lup` with `args` plus {@link targetArgs}. */
  lup(args: readonly string[]): Promise<LupRun>;
  /** Publish a bob zip as an archive release, and wait until the pipeline settled. */
  publishArchive(request: PublishRequest): Promise<ChannelPointer>;
  /** Publish the entries of a bob zip as loose resources beside their manifest (engines ≤ 1.4). */
  publishLoose(request: PublishRequest): Promise<ChannelPointer>;
  /** Put content into the bucket and let the pipeline react, without a release request. */
  stageOnly(request: Omit<PublishRequest, 'channel' | 'note'>): Promise<void>;
  /** Make stored objects look `days` old (s3rver reports the file's mtime as LastModified). */
  age(keysToAge: readonly string[], days: number): Promise<void>;
  close(): Promise<void>;
}

/** What to publish. */
export interface PublishRequest {
  readonly game: string;
  readonly upload: string;
  readonly channel: string;
  /** Path of a bob-built zip. */
  readonly zip: string;
  readonly note?: string;
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Start the pipeline stack on ephemeral ports in a fresh temporary folder. */
export async function startPublishedStack(options: { config?: StudioConfig } = {}): Promise<PublishedStack> {
  const dir = await mkdtemp(join(tmpdir(), 'lup-cli-'));
  const dataDir = join(dir, 'data');
  let stack: PipelineStack;
  try {
    stack = await startPipelineStack({ dataDir, config: options.config, s3Port: 0, cdnPort: 0, sweepIntervalMs: 0, retryDelayMs: 5 });
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  const targetArgs = ['--endpoint', stack.s3Endpoint, '--cdn', stack.cdnBaseUrl];

  async function settle(game: string, upload: string): Promise<ChannelPointer> {
    await stack.router.idle();
    const statusObject = await stack.store.get(keys.status(game, upload));
    const status = statusObject ? (JSON.parse(Buffer.from(statusObject.body).toString('utf8')) as UploadStatus) : undefined;
    if (status?.state !== 'live' || !status.channel) throw new Error(`upload ${game}/${upload} did not go live: ${JSON.stringify(status)}`);
    const pointer = await stack.store.get(keys.pointer(game, status.channel));
    if (!pointer) throw new Error(`no pointer for ${game}/${status.channel}`);
    return JSON.parse(Buffer.from(pointer.body).toString('utf8')) as ChannelPointer;
  }

  async function requestRelease(request: PublishRequest, fields: Pick<ReleaseRequest, 'kind' | 'archives' | 'manifestSha256'>): Promise<void> {
    const body: ReleaseRequest = {
      schemaVersion: 1, game: request.game, upload: request.upload, channel: request.channel, ...fields,
      requestedAt: new Date().toISOString(), ...(request.note ? { note: request.note } : {}),
    };
    await stack.store.put(keys.releaseRequest(request.game, request.upload), JSON.stringify(body), { contentType: 'application/json' });
  }

  async function stageLoose(request: Omit<PublishRequest, 'channel' | 'note'>): Promise<string> {
    const zip = await readFile(request.zip);
    let manifestSha256 = '';
    const puts: Promise<unknown>[] = [];
    await forEachArchiveEntry(bytesSource(zip), async (entry) => {
      const bytes = await readEntryBytes(entry, 64 * 1024 * 1024);
      if (entry.name === MANIFEST_NAME) manifestSha256 = sha256(bytes);
      puts.push(stack.store.put(keys.staged(request.game, request.upload, entry.name), bytes));
    });
    await Promise.all(puts);
    return manifestSha256;
  }

  return {
    stack,
    dir,
    targetArgs,
    async lup(args) {
      const io = captureIo(dir);
      const code = await runCli([...args, ...targetArgs], io);
      return { code, out: io.out(), err: io.err() };
    },
    async publishArchive(request) {
      const bytes = await readFile(request.zip);
      await stack.store.put(keys.staged(request.game, request.upload, 'game.zip'), bytes);
      await requestRelease(request, { kind: 'archives', archives: [{ name: 'game.zip', sha256: sha256(bytes), sizeBytes: bytes.length, priority: 10 }] });
      return settle(request.game, request.upload);
    },
    async publishLoose(request) {
      const manifestSha256 = await stageLoose(request);
      await requestRelease(request, { kind: 'loose', archives: [], manifestSha256 });
      return settle(request.game, request.upload);
    },
    async stageOnly(request) {
      const bytes = await readFile(request.zip);
      await stack.store.put(keys.staged(request.game, request.upload, 'game.zip'), bytes);
      await stack.router.idle();
    },
    async age(keysToAge, days) {
      const when = new Date(Date.now() - days * 86_400_000);
      for (const key of keysToAge) {
        const parts = key.split('/');
        const file = join(dataDir, 's3', stack.bucket, ...parts.slice(0, -1), `${parts[parts.length - 1]}._S3rver_object`);
        await utimes(file, when, when);
      }
    },
    async close() {
      await stack.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Output with the volatile parts replaced: the stack's URLs, ISO times and request ids. */
export function normalise(text: string, published: PublishedStack): string {
  return text
    .split(published.stack.cdnBaseUrl).join('http://cdn/')
    .split(published.stack.s3Endpoint).join('http://s3')
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g, 'YYYY-MM-DDThh:mm:ss.sssZ')
    .replace(/cli-\d+-[0-9a-f]{8}/g, '<request-id>');
}
