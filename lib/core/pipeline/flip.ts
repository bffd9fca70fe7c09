/**
 * The channel flip: the one place the pointer moves.
 *
 * Invariant I2 lives here. The pointer is replaced in one PUT made conditional on the ETag read
 * (`If-Match`), or on absence for a channel's first release (`If-None-Match: *`). A writer that lost
 * the race re-reads and builds its pointer again from the fresh state, so concurrent releases,
 * promotions and rollbacks are serialised and none is lost: each gets its own sequence number.
 *
 * Invariant I3 too: a flip carries a request id, and the pointer remembers the last flips' ids. A
 * retried flip (duplicate event, crash after the PUT, Lambda retry) that finds its id in the history
 * does not flip again — it only redoes the idempotent follow-ups: the history record, the stable
 * manifest beside the pointer, and the CDN invalidation (whose failure fails the step, so Lambda
 * retries it; it is never ignored).
 */
import { CHANNEL_CACHE } from '../../http-policy';
import { isLupError } from '../errors';
import { keys } from '../keys';
import {
  POINTER_HISTORY_LENGTH,
  POINTER_SCHEMA_VERSION,
  type ChannelPointer,
  type FlipCause,
  type ReleaseRecord,
} from '../release-record';
import { cdnUrl, log, type PipelineContext } from './context';
import { createJson, readJson, updateJson } from './documents';

/** A request to point a channel at a release. */
export interface FlipRequest {
  readonly game: string;
  readonly channel: string;
  readonly release: ReleaseRecord;
  readonly requestId: string;
  readonly cause: FlipCause;
}

/** The outcome of a flip. */
export interface FlipResponse {
  readonly pointer: ChannelPointer;
  /** False when the flip had already been applied (a retry). */
  readonly applied: boolean;
}

/** Move the channel pointer to the release (compare-and-swap), then run the follow-ups. */
export async function flipChannel(context: PipelineContext, request: FlipRequest): Promise<FlipResponse> {
  const { game, channel, release, requestId, cause } = request;
  const pointerKey = keys.pointer(game, channel);
  const result = await updateJson<ChannelPointer>(
    context.store,
    pointerKey,
    (current) => {
      if (current?.history.some((h) => h.requestId === requestId)) return undefined;
      const sequence = (current?.sequence ?? 0) + 1;
      const at = context.clock.now().toISOString();
      const stablePath = keys.stableManifest(game, channel);
      return {
        schemaVersion: POINTER_SCHEMA_VERSION,
        game,
        channel,
        sequence,
        releaseId: release.releaseId,
        cause,
        publishedAt: at,
        manifest: release.manifest,
        stableManifest: { path: stablePath, url: cdnUrl(context, stablePath) },
        archives: release.archives,
        resourcesBase: release.resourcesBase,
        engineVersions: release.engineVersions,
        history: [{ sequence, releaseId: release.releaseId, requestId, cause, at }, ...(current?.history ?? [])].slice(0, POINTER_HISTORY_LENGTH),
      };
    },
    { cacheControl: CHANNEL_CACHE.cacheControl },
  );
  const pointer = result.value as ChannelPointer;
  const applied = result.changed;
  if (applied) log(context, { level: 'info', step: 'flip', game, message: `${channel} -> ${release.releaseId} (sequence ${pointer.sequence}, ${cause})` });
  await recordHistory(context, pointer);
  await syncStableManifest(context, game, channel);
  await context.cdn.invalidate([`/${pointerKey}`, `/${keys.stableManifest(game, channel)}`], `${game}-${channel}-${pointer.sequence}`);
  return { pointer, applied };
}

/** Write the create-only history records of every flip the pointer remembers and the bucket lacks. */
async function recordHistory(context: PipelineContext, pointer: ChannelPointer): Promise<void> {
  // Only the newest few: older ones were recorded by the flips that made them, or by their retries.
  for (const entry of pointer.history.slice(0, 3)) {
    await createJson(context.store, keys.history(pointer.game, pointer.channel, entry.sequence), {
      schemaVersion: 1, game: pointer.game, channel: pointer.channel, ...entry,
    });
  }
}

/**
 * Copy the current release's manifest to the stable path beside the pointer. Two flips racing may
 * write in either order, so after writing, re-read the pointer and repeat until the copy matches it.
 */
async function syncStableManifest(context: PipelineContext, game: string, channel: string): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const pointer = (await readJson<ChannelPointer>(context.store, keys.pointer(game, channel)))?.value;
    if (!pointer) return;
    const target = keys.stableManifest(game, channel);
    const existing = await context.store.head(target);
    const sourceKey = pointer.manifest.path;
    const source = await context.store.head(sourceKey);
    if (!source) return;
    if (existing?.etag === source.etag) return;
    try {
      await context.store.copy(sourceKey, target, { sourceIfMatch: source.etag, cacheControl: CHANNEL_CACHE.cacheControl, contentType: 'application/octet-stream' });
    } catch (error) {
      if (!(isLupError(error) && error.code === 'STORE_PRECONDITION_FAILED')) throw error;
    }
  }
}
