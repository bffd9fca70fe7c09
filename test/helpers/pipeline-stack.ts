/**
 * Test harness of the pipeline on the real local stack: s3rver behind the gate on ephemeral ports
 * in a temporary folder, the real event router and handlers, and the CLI run in-process with
 * captured output.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { StudioConfig } from '../../lib/core/config';
import { validateStudioConfig } from '../../lib/core/config';
import { keys } from '../../lib/core/keys';
import type { ChannelPointer } from '../../lib/core/documents/pointer';
import type { UploadStatus } from '../../lib/core/documents/upload-status';
import type { ObjectStore } from '../../lib/core/ports';
import { runCli } from '../../lib/cli/run';
import { captureIo } from './cli-run';
import { startPipelineStack, type PipelineStack, type StartPipelineStackRequest } from '../../lib/local/pipeline-stack';
import { createContent, type ContentFactoryOptions, type FactoryContent } from '../../lib/factory/content-factory';
import { writeLooseFolder, writeZip } from '../../lib/factory/write-content';

export interface TestStack extends PipelineStack {
  readonly dir: string;
  close(): Promise<void>;
}

/** Start the pipeline stack in a fresh temporary folder. */
export async function startTestStack(options: Partial<StartPipelineStackRequest> = {}): Promise<TestStack> {
  const dir = await mkdtemp(join(tmpdir(), 'lup-pipeline-'));
  const stack = await startPipelineStack({ dataDir: join(dir, 'data'), s3Port: 0, cdnPort: 0, sweepIntervalMs: 0, retryDelayMs: 5, ...options });
  return {
    ...stack,
    dir,
    close: async () => {
      await stack.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Run `lup` against the stack's S3 endpoint and CDN; returns the exit code and the output. */
export async function lup(stack: TestStack, args: readonly string[]): Promise<{ code: number; out: string; err: string }> {
  const io = captureIo(stack.dir);
  const code = await runCli([...args, '--endpoint', stack.s3Endpoint, '--cdn', stack.cdnBaseUrl], io);
  return { code, out: io.out(), err: io.err() };
}

/** Factory content written as a zip (and optionally a loose folder) under the stack's folder. */
export async function writeContent(stack: TestStack, name: string, options: ContentFactoryOptions): Promise<{ content: FactoryContent; zip: string; folder: string }> {
  const content = createContent(options);
  const zip = join(stack.dir, `${name}.zip`);
  const folder = join(stack.dir, name);
  await writeZip(content, zip);
  await writeLooseFolder(content, folder);
  return { content, zip, folder };
}

export async function readJsonKey<T>(store: ObjectStore, key: string): Promise<T | undefined> {
  const object = await store.get(key);
  return object ? (JSON.parse(Buffer.from(object.body).toString('utf8')) as T) : undefined;
}

export async function pointerOf(stack: PipelineStack, game: string, channel: string): Promise<ChannelPointer | undefined> {
  return readJsonKey<ChannelPointer>(stack.store, keys.pointer(game, channel));
}

export async function statusOf(stack: PipelineStack, game: string, upload: string): Promise<UploadStatus | undefined> {
  return readJsonKey<UploadStatus>(stack.store, keys.status(game, upload));
}

/** Every key under a prefix. */
export async function keysUnder(store: ObjectStore, prefix: string): Promise<string[]> {
  return (await store.list(prefix)).map((o) => o.key);
}

/** A studio configuration for tests (validated, so a typo fails loudly). */
export function studioConfig(raw: Record<string, unknown>): StudioConfig {
  const result = validateStudioConfig(raw);
  if (!result.ok) throw new Error(result.errors.map((e) => e.message).join('\n'));
  return result.config;
}

/** A fresh RSA key pair (1024 bits: fast, as bob's default). */
export function testKeyPair(): { privateKey: KeyObject; publicKey: KeyObject; publicKeyBase64: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
  return { privateKey, publicKey, publicKeyBase64: publicKey.export({ format: 'der', type: 'spki' }).toString('base64') };
}
