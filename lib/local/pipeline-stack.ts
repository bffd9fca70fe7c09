/**
 * The embedded local stack running the real pipeline: the local S3 server, gate, router and CDN of
 * `startLocalStack`, with the pipeline's steps as handlers and the sweeper on a timer. This is what
 * `lup local` serves and what `lup publish` runs in-process when no endpoint is given.
 */
import { join } from 'node:path';
import type { StudioConfig } from '../core/config';
import { systemClock, type Clock } from '../core/ports';
import type { LogEvent, PipelineContext } from '../core/pipeline/context';
import { requestReleaseAttempt, onArchiveArrived, onManifestArrived, onReleaseRequested, onResourceArrived } from '../core/pipeline/steps';
import { sweepIncompleteReleases } from '../core/pipeline/sweeper';
import { lockDataDir } from './data-dir-lock';
import { startLocalStack, type LocalStack, type StartLocalStackRequest } from './local-stack';

import { DEFAULT_DATA_DIR } from './defaults';

export { DEFAULT_CDN_PORT, DEFAULT_DATA_DIR, DEFAULT_S3_PORT } from './defaults';

/** Options of {@link startPipelineStack}. */
export interface StartPipelineStackRequest extends Omit<StartLocalStackRequest, 'handlers'> {
  /** Studio configuration. @default - development mode */
  readonly config?: StudioConfig;
  /**
   * Development mode: the channel Defold editor uploads are released to. Ignored with a `config`
   * (each game's `autoReleaseChannel` decides there).
   * @default "stable"
   */
  readonly editorChannel?: string;
  readonly log?: (event: LogEvent) => void;
  readonly clock?: Clock;
  /** How long incomplete releases may wait. @default from the configuration, or 60 minutes */
  readonly releaseTimeoutMs?: number;
  /** How often the sweeper runs, in milliseconds; 0 disables it. @default 10000 */
  readonly sweepIntervalMs?: number;
  /**
   * Who runs the stack, recorded in the data folder's lock and named when another stack is refused.
   * @default "an embedded local stack"
   */
  readonly command?: string;
}

/** A running pipeline stack. */
export interface PipelineStack extends LocalStack {
  readonly context: PipelineContext;
}

/** Start the local stack with the pipeline wired in. */
export async function startPipelineStack(request: StartPipelineStackRequest): Promise<PipelineStack> {
  const { config, editorChannel, log, clock, releaseTimeoutMs, sweepIntervalMs, command, ...stackRequest } = request;
  const dataDir = request.dataDir ?? join(process.cwd(), DEFAULT_DATA_DIR);
  // One stack per data folder: a second gate over the same objects would break the CAS flip.
  const lock = lockDataDir({ dataDir, command: command ?? 'an embedded local stack' });
  let context: PipelineContext | undefined;
  let stack: LocalStack;
  try {
    stack = await startLocalStack({
      ...stackRequest,
      dataDir,
      corsOrigins: request.corsOrigins ?? config?.corsOrigins,
      developmentMode: config === undefined,
      handlers: (local) => {
        const ctx: PipelineContext = {
          store: local.store,
          cdn: local.invalidator,
          clock: clock ?? systemClock,
          config,
          developmentEditorChannel: config ? undefined : editorChannel,
          cdnBaseUrl: local.cdnBaseUrl,
          releaseTimeoutMs,
          log,
          // As on AWS: staging steps ask the release handler through a routed object.
          requestRelease: (attempt) => requestReleaseAttempt(local.store, attempt),
        };
        context = ctx;
        return {
          resource: (key) => onResourceArrived(ctx, key),
          archive: (key) => onArchiveArrived(ctx, key),
          manifest: (key) => onManifestArrived(ctx, key),
          release: (key) => onReleaseRequested(ctx, key),
        };
      },
    });
  } catch (error) {
    lock.release();
    throw error;
  }
  lock.update({ s3Endpoint: stack.s3Endpoint, cdnBaseUrl: stack.cdnBaseUrl });
  const pipeline = context as unknown as PipelineContext;
  const interval = sweepIntervalMs ?? 10_000;
  let sweeping: Promise<unknown> = Promise.resolve();
  const timer = interval > 0
    ? setInterval(() => {
      sweeping = sweepIncompleteReleases(pipeline).catch((error: unknown) => log?.({ level: 'error', step: 'sweeper', message: String(error) }));
    }, interval)
    : undefined;
  timer?.unref();
  return {
    ...stack,
    context: pipeline,
    stop: async () => {
      if (timer) clearInterval(timer);
      await sweeping;
      await stack.stop();
      lock.release();
    },
  };
}
