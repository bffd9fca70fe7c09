/**
 * The channel flip: the one place the pointer moves.
 *
 * Invariant I2 lives here. The pointer is replaced in one PUT made conditional on the ETag read
 * (`If-Match`), or on absence for a channel's first release (`If-None-Match: *`). A writer that lost
 * the race re-reads and builds its pointer again from the fresh state, so concurrent releases,
 * promotions and rollbacks are serialised and none is lost: each gets its own sequence number.
 *
 * Invariant I5 (no flip applied twice): before each PUT the request's flip record names the sequence
 * it targets, and after the PUT it says applied (`flip-record.ts`). A retried flip — a duplicate
 * event, a crash after the PUT, a Lambda retry, the sweeper an hour later — reads the record first
 * and only redoes the idempotent follow-ups: the history record, the stable manifest beside the
 * pointer, and the CDN invalidation (whose failure fails the step, so it is retried; never ignored).
 *
 * Invariant I1 (no pointer to missing content): before the PUT the flip claims every object the
 * release serves from garbage collection (`gc-marks.ts`) and checks that each exists.
 */
import { CHANNEL_CACHE } from '../../http-policy';
import { hashHex } from '../format/digest';
import { isLupError, lupError, type LupError } from '../errors';
import { keys } from '../keys';
import type { ReleaseRecord } from '../documents/release-record';
import { POINTER_HISTORY_LENGTH, POINTER_SCHEMA_VERSION, ROLLOUT_CAUSES, ROLLOUT_SHARE_WHOLE, pointerCodec, type ChannelPointer, type FlipCause, type FlipEntry, type PointerRollout } from '../documents/pointer';
import { cdnUrl, log, type PipelineContext } from './context';
import { createJson, readJson } from './documents';
import { flipLanded, readFlipRecord, writeFlipRecord, type FlipRecord } from './flip-record';
import { claimContent } from './gc-marks';
import { releaseContentKeys } from './gc';

/** A request to point a channel at a release. */
export interface FlipRequest {
  readonly game: string;
  readonly channel: string;
  /**
   * The (stable) release the channel serves after the flip.
   * @default - the release the channel serves now (rollout operations that leave it; the channel must have one)
   */
  readonly release?: ReleaseRecord;
  /**
   * The channel's rollout block after the flip, given the pointer this attempt replaces; called again
   * on every compare-and-swap attempt, so it decides on fresh state (it throws to refuse).
   * @default - the current rollout is kept, unless its candidate becomes the release
   */
  readonly rollout?: (current: ChannelPointer | undefined) => PointerRollout | undefined;
  /** A release the flip starts serving beside `release` (a rollout's candidate): claimed from gc and checked to exist like it. */
  readonly candidate?: ReleaseRecord;
  readonly requestId: string;
  readonly cause: FlipCause;
  /** Why the game's current rules were overridden (`--force`); recorded in the history. */
  readonly reason?: string;
  /** Minutes gc waits between marking and deleting (the claim must be fresh within half of it). */
  readonly gcGraceMinutes: number;
}

/** The outcome of a flip. */
export interface FlipResponse {
  /** The pointer as this flip left it (or found it, for a retry). */
  readonly pointer: ChannelPointer;
  /** False when the flip had already been applied (a retry). */
  readonly applied: boolean;
  /** The sequence this request's flip holds. */
  readonly sequence: number;
}

/**
 * Refuse to point a channel at a release whose content is not all there (garbage-collected since):
 * `RELEASE_INCOMPLETE` naming the release and the missing objects. Operator actions check this
 * before the game's rules, which read the release's manifests.
 */
export async function assertServable(context: PipelineContext, release: ReleaseRecord): Promise<void> {
  const paths = [release.manifest.path, ...release.archives.map((a) => a.path)];
  const heads = await Promise.all(paths.map((p) => context.store.head(p)));
  const missing = paths.filter((_, i) => !heads[i]);
  if (release.resources.length > 0) {
    const listed = new Set((await context.store.list(release.resourcesBase.path)).map((o) => o.key));
    missing.push(...release.resources.map((d) => keys.resource(release.game, d)).filter((k) => !listed.has(k)));
  }
  if (missing.length > 0) throw releaseCollected(release, missing);
}

/** `RELEASE_INCOMPLETE` for a release some of whose objects (`missing` keys) garbage collection removed. */
export function releaseCollected(release: Pick<ReleaseRecord, 'game' | 'releaseId'>, missing: readonly string[]): LupError {
  return lupError({
    code: 'RELEASE_INCOMPLETE', location: { key: keys.release(release.game, release.releaseId) },
    expected: 'every object of the release under content/', actual: `${missing.length} missing: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''}`,
    message: `Release ${release.releaseId} cannot be served any more: garbage collection removed some of its content. `
      + 'Publish it again (lup publish), or pick another release from lup releases.',
  });
}

function nextPointer(context: PipelineContext, request: FlipRequest, current: ChannelPointer | undefined, floor: number): ChannelPointer {
  const { game, channel, requestId, cause, reason } = request;
  const release = request.release ?? current;
  if (!release) {
    throw lupError({
      code: 'CHANNEL_EMPTY', location: { key: keys.pointer(game, channel) }, expected: 'a release on the channel', actual: 'no pointer',
      message: `Channel "${channel}" of game ${game} has no release yet; publish one first.`,
    });
  }
  const rollout = request.rollout ? request.rollout(current) : current?.rollout && current.rollout.releaseId !== release.releaseId ? current.rollout : undefined;
  // A first pointer continues after the channel's history: if a pointer was ever deleted, starting
  // again at 1 would make every client that applied a higher sequence refuse all updates for good.
  const sequence = (current?.sequence ?? floor) + 1;
  const at = context.clock.now().toISOString();
  const stablePath = keys.stableManifest(game, channel);
  const rolloutNote = (ROLLOUT_CAUSES as readonly string[]).includes(cause)
    ? { candidate: (rollout ?? current?.rollout)?.releaseId ?? release.releaseId, share: rollout?.share ?? (cause === 'rollout-complete' ? ROLLOUT_SHARE_WHOLE : 0) }
    : {};
  const entry: FlipEntry = { sequence, releaseId: release.releaseId, requestId, cause, at, ...(reason ? { reason } : {}), ...rolloutNote };
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
    ...(rollout ? { rollout } : {}),
    history: [entry, ...(current?.history ?? [])].slice(0, POINTER_HISTORY_LENGTH),
  };
}

/**
 * The flip of a request that already landed on the channel (a retry), from its flip record or,
 * for flips made before flip records existed, the pointer's history; `undefined` when it did not.
 */
export async function findLandedFlip(context: PipelineContext, game: string, channel: string, requestId: string): Promise<FlipResponse | undefined> {
  const [record, current] = await Promise.all([
    readFlipRecord(context, game, channel, requestId),
    readJson(context.store, keys.pointer(game, channel), pointerCodec),
  ]);
  const pointer = current?.value;
  if (record && (await flipLanded(context, record, pointer))) {
    if (record.state === 'pending') await writeFlipRecord(context, { ...record, state: 'applied' });
    return { pointer: pointer as ChannelPointer, applied: false, sequence: record.sequence };
  }
  const inHistory = pointer?.history.find((h) => h.requestId === requestId);
  return inHistory && pointer ? { pointer, applied: false, sequence: inHistory.sequence } : undefined;
}

/** The highest sequence the channel's history records (0 for a new channel). */
async function historyFloor(context: PipelineContext, game: string, channel: string): Promise<number> {
  const prefix = keys.historyPrefix(game, channel);
  let highest = 0;
  for (const o of await context.store.list(prefix)) {
    const n = Number(o.key.slice(prefix.length).replace(/\.json$/, ''));
    if (Number.isInteger(n) && n > highest) highest = n;
  }
  return highest;
}

/** Attempts of the pointer compare-and-swap before giving up loudly. */
const FLIP_ATTEMPTS = 12;

/**
 * Move the pointer (compare-and-swap) unless this request's flip already landed. Does not run the
 * follow-ups: call {@link completeFlip} next (after recording the outcome, so that a failing
 * follow-up cannot leave an upload looking unreleased).
 */
export async function applyFlip(context: PipelineContext, request: FlipRequest): Promise<FlipResponse> {
  const { game, channel, requestId, cause } = request;
  const pointerKey = keys.pointer(game, channel);
  const readCurrent = async () => readJson(context.store, pointerKey, pointerCodec);
  const landedBefore = await findLandedFlip(context, game, channel, requestId);
  if (landedBefore) return landedBefore;
  const graceMs = request.gcGraceMinutes * 60_000;
  // What this flip starts serving: the release (absent when the flip keeps the live one) and a candidate.
  const serves = [request.release, request.candidate].filter((r): r is ReleaseRecord => r !== undefined);
  const claim = async (): Promise<Date> => claimContent(context, game, serves.flatMap((r) => releaseContentKeys(r)));
  let claimedAt = await claim();
  for (const release of serves) await assertServable(context, release);
  for (let attempt = 1; attempt <= FLIP_ATTEMPTS; attempt++) {
    const current = await readCurrent();
    const landed = current?.value.history.find((h) => h.requestId === requestId);
    if (landed) return { pointer: current!.value, applied: false, sequence: landed.sequence };
    if (context.clock.now().getTime() - claimedAt.getTime() > graceMs / 2) claimedAt = await claim();
    const next = nextPointer(context, request, current?.value, current ? 0 : await historyFloor(context, game, channel));
    const record: FlipRecord = {
      schemaVersion: 1, game, channel, requestId, releaseId: next.releaseId, cause, state: 'pending', sequence: next.sequence, at: next.publishedAt,
    };
    await writeFlipRecord(context, record);
    try {
      await context.store.put(pointerKey, pointerCodec.encode(next), {
        contentType: 'application/json', cacheControl: CHANNEL_CACHE.cacheControl,
        ...(current ? { ifMatch: current.etag } : { ifNoneMatch: '*' as const }),
      });
    } catch (error) {
      if (!(isLupError(error) && error.code === 'STORE_PRECONDITION_FAILED')) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt));
      continue;
    }
    await writeFlipRecord(context, { ...record, state: 'applied' });
    log(context, { level: 'info', step: 'flip', game, message: `${channel} -> ${next.releaseId}${next.rollout ? ` + ${next.rollout.releaseId} to ${next.rollout.share / 100} % (${next.rollout.state})` : ''} (sequence ${next.sequence}, ${cause})` });
    return { pointer: next, applied: true, sequence: next.sequence };
  }
  throw lupError({
    code: 'CHANNEL_CONFLICT', location: { key: pointerKey },
    expected: `a successful compare-and-swap within ${FLIP_ATTEMPTS} attempts`, actual: `${FLIP_ATTEMPTS} lost races`,
    message: `${pointerKey} kept changing under concurrent writers; the flip was not applied. Retry it.`,
  });
}

/**
 * The idempotent follow-ups of a flip, for the channel as it is now: history records, the stable
 * manifest beside the pointer, the CDN invalidation. Safe to repeat; a failure is thrown (retried).
 */
export async function completeFlip(context: PipelineContext, game: string, channel: string): Promise<void> {
  const pointer = (await readJson(context.store, keys.pointer(game, channel), pointerCodec))?.value;
  if (!pointer) return;
  await recordHistory(context, pointer);
  await syncStableManifest(context, game, channel);
  await context.cdn.invalidate([`/${keys.pointer(game, channel)}`, `/${keys.stableManifest(game, channel)}`], `${game}-${channel}-${pointer.sequence}`);
}

/** Move the pointer to the release (compare-and-swap), then run the follow-ups. */
export async function flipChannel(context: PipelineContext, request: FlipRequest): Promise<FlipResponse> {
  const response = await applyFlip(context, request);
  await completeFlip(context, request.game, request.channel);
  return response;
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

/** Attempts to make the stable manifest match the pointer while flips race. */
const STABLE_SYNC_ATTEMPTS = 8;

/**
 * Copy the current release's manifest to the stable path beside the pointer. Two flips racing may
 * write in either order, so after writing, re-read the pointer and repeat until the copy matches it;
 * if it never settles, fail (the step is retried) rather than leave the copy behind the pointer.
 * The copy is compared by its bytes' SHA-256 (ETags of copies are not comparable on every S3).
 */
async function syncStableManifest(context: PipelineContext, game: string, channel: string): Promise<void> {
  const target = keys.stableManifest(game, channel);
  for (let attempt = 0; attempt < STABLE_SYNC_ATTEMPTS; attempt++) {
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
  throw lupError({
    code: 'CHANNEL_CONFLICT', location: { key: target }, expected: `the manifest of the live release within ${STABLE_SYNC_ATTEMPTS} attempts`, actual: 'flips kept racing',
    message: `The stable manifest beside ${keys.pointer(game, channel)} could not be brought up to date; the step is retried.`,
  });
}
