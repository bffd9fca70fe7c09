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
import { hashHex } from '../format/digest';
import { lupError } from '../errors';
import { keys } from '../keys';
import { type ReleaseRecord } from '../documents/release-record';
import { POINTER_HISTORY_LENGTH, POINTER_SCHEMA_VERSION, pointerCodec, type ChannelPointer, type FlipCause } from '../documents/pointer';
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

/**
 * Refuse to point a channel at a release whose content is gone (garbage-collected since, for a
 * promote or rollback to an old release). Releases were checked completely when assembled, so for
 * them only the manifest and archives are looked at again.
 */
async function assertServable(context: PipelineContext, release: ReleaseRecord, checkResources: boolean): Promise<void> {
  const paths = [release.manifest.path, ...release.archives.map((a) => a.path)];
  const heads = await Promise.all(paths.map((p) => context.store.head(p)));
  const missing = paths.filter((_, i) => !heads[i]);
  if (checkResources && release.resources.length > 0) {
    const listed = new Set((await context.store.list(release.resourcesBase.path)).map((o) => o.key));
    missing.push(...release.resources.map((d) => `${release.resourcesBase.path}${d}`).filter((k) => !listed.has(k)));
  }
  if (missing.length > 0) {
    throw lupError({
      code: 'RELEASE_INCOMPLETE', location: { key: keys.release(release.game, release.releaseId) },
      expected: 'every object of the release under content/', actual: `${missing.length} missing: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''}`,
      message: `Release ${release.releaseId} cannot be served any more: garbage collection removed some of its content. Publish it again instead.`,
    });
  }
}

/** Move the channel pointer to the release (compare-and-swap), then run the follow-ups. */
export async function flipChannel(context: PipelineContext, request: FlipRequest): Promise<FlipResponse> {
  const { game, channel, release, requestId, cause } = request;
  const pointerKey = keys.pointer(game, channel);
  await assertServable(context, release, cause !== 'release');
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
    pointerCodec,
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
 * The copy is compared by its bytes' SHA-256 (ETags of copies are not comparable on every S3).
 */
async function syncStableManifest(context: PipelineContext, game: string, channel: string): Promise<void> {
  const target = keys.stableManifest(game, channel);
  for (let attempt = 0; attempt < 5; attempt++) {
    const pointer = (await readJson(context.store, keys.pointer(game, channel), pointerCodec))?.value;
    if (!pointer) return;
    const existing = await context.store.get(target);
    if (existing && hashHex('sha256', existing.body) === pointer.manifest.sha256) return;
    const source = await context.store.get(pointer.manifest.path);
    if (!source) {
      throw lupError({ code: 'INTERNAL', location: { key: pointer.manifest.path }, message: `The manifest of live release ${pointer.releaseId} is missing from content/.` });
    }
    await context.store.put(target, source.body, { cacheControl: CHANNEL_CACHE.cacheControl, contentType: 'application/octet-stream' });
  }
}
