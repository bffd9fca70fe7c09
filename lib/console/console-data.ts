/**
 * What `lup console` shows, read with the same codecs and helpers as `lup status` and
 * `lup releases`: games, each channel's live release, a channel's flips, and recent uploads.
 * No business rule lives here; every document is decoded by its one codec.
 */
import { createHash } from 'node:crypto';
import pLimit from 'p-limit';
import { formatError, type LupErrorData } from '../core/errors';
import { keys } from '../core/keys';
import type { ObjectInfo, ObjectStore } from '../core/ports';
import { type ChannelPointer, type FlipCause } from '../core/documents/pointer';
import { releaseRecordCodec, type ReleaseRecord } from '../core/documents/release-record';
import { uploadStatusCodec, type UploadState } from '../core/documents/upload-status';
import { listGames, readChannelPointers } from '../cli/operator-support';
import { readHistory } from '../cli/releases-command';

export { listGames };

/** The live release of one channel, as the console's channel card shows it. */
export interface ChannelView {
  readonly channel: string;
  readonly releaseId: string;
  readonly sequence: number;
  readonly cause: FlipCause;
  readonly publishedAt: string;
  readonly pointerPath: string;
  /** Bytes a player downloads for the release: its manifest and archives (loose resources are not counted). */
  readonly sizeBytes?: number;
  readonly kind?: ReleaseRecord['kind'];
  readonly archiveCount: number;
  /** Loose resources the release serves (0 for archive releases). */
  readonly resourceCount?: number;
  /** Hex SHA-1 digests of the engine versions the release supports. */
  readonly engineVersions: readonly string[];
  readonly note?: string;
  /** A rollout in progress, as the pointer carries it (present only once the pointer schema has one). */
  readonly rollout?: Record<string, unknown>;
}

/** One flip on a channel's timeline. */
export interface FlipView {
  readonly sequence: number;
  readonly releaseId: string;
  readonly cause: FlipCause;
  readonly at: string;
  readonly current: boolean;
  readonly reason?: string;
  /** Size of the release (manifest + archives), for the chart; absent when its record cannot be read. */
  readonly sizeBytes?: number;
  readonly note?: string;
}

/** One upload, newest first in the list. */
export interface UploadView {
  readonly upload: string;
  readonly state: UploadState;
  readonly channel?: string;
  readonly releaseId?: string;
  readonly sequence?: number;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** Every listed error, with `text` exactly as `lup status --upload` prints it. */
  readonly errors: readonly (LupErrorData & { readonly text: string })[];
  readonly errorCount: number;
  readonly lastEvent?: string;
}

/** How many uploads the console lists per game, newest first. */
export const CONSOLE_UPLOAD_LIMIT = 30;
/** How many flips a channel's timeline shows. */
export const CONSOLE_HISTORY_LIMIT = 50;

/** Size of what a release serves from its record: manifest plus archives. */
export function releaseSizeBytes(record: ReleaseRecord): number {
  return record.manifest.sizeBytes + record.archives.reduce((sum, a) => sum + a.sizeBytes, 0);
}

/**
 * A strong ETag of a listing: a digest of each object's key and ETag. Two listings with the same
 * tag hold the same documents, so a poll answers 304 after one LIST and no GET.
 */
export function listingTag(objects: readonly ObjectInfo[]): string {
  const hash = createHash('sha256');
  for (const o of objects) hash.update(`${o.key}\n${o.etag}\n`);
  return `"${hash.digest('hex').slice(0, 32)}"`;
}

/** The pointer objects of a game (one LIST). */
export async function listPointers(store: ObjectStore, game: string): Promise<ObjectInfo[]> {
  const prefix = keys.channelsPrefix(game);
  return (await store.list(prefix)).filter((o) => o.key.endsWith('.json') && !o.key.slice(prefix.length).includes('/'));
}

/** The status objects of a game (one LIST). */
export async function listStatuses(store: ObjectStore, game: string): Promise<ObjectInfo[]> {
  return store.list(keys.statusPrefix(game));
}

async function readRecords(store: ObjectStore, game: string, releaseIds: readonly string[]): Promise<Map<string, ReleaseRecord>> {
  const run = pLimit(16);
  const records = new Map<string, ReleaseRecord>();
  await Promise.all([...new Set(releaseIds)].map((id) => run(async () => {
    const key = keys.release(game, id);
    const object = await store.get(key);
    if (object) records.set(id, releaseRecordCodec.parse(object.body, { key }));
  })));
  return records;
}

/** Each channel of a game with its live release, in name order. */
export async function readChannels(store: ObjectStore, game: string): Promise<ChannelView[]> {
  const pointers = await readChannelPointers(store, game);
  const records = await readRecords(store, game, pointers.map((p) => p.releaseId));
  return pointers.map((p) => channelView(p, records.get(p.releaseId)));
}

function channelView(pointer: ChannelPointer, record: ReleaseRecord | undefined): ChannelView {
  // `rollout` arrives with the rollouts' pointer schema; until then no pointer has one.
  const rollout = (pointer as ChannelPointer & { rollout?: unknown }).rollout;
  return {
    channel: pointer.channel, releaseId: pointer.releaseId, sequence: pointer.sequence, cause: pointer.cause,
    publishedAt: pointer.publishedAt, pointerPath: keys.pointer(pointer.game, pointer.channel),
    archiveCount: pointer.archives.length, engineVersions: pointer.engineVersions,
    ...(record ? { sizeBytes: releaseSizeBytes(record), kind: record.kind, resourceCount: record.resources.length } : {}),
    ...(record?.note ? { note: record.note } : {}),
    ...(rollout && typeof rollout === 'object' ? { rollout: rollout as unknown as Record<string, unknown> } : {}),
  };
}

/** A channel's flips, newest first, with each release's size; `undefined` when the channel has no pointer. */
export async function readChannelHistory(store: ObjectStore, game: string, channel: string, limit = CONSOLE_HISTORY_LIMIT): Promise<FlipView[] | undefined> {
  const pointer = (await readChannelPointers(store, game)).find((p) => p.channel === channel);
  if (!pointer) return undefined;
  const { flips } = await readHistory(store, pointer, limit);
  const records = await readRecords(store, game, flips.map((f) => f.releaseId));
  return flips.map((f) => {
    const record = records.get(f.releaseId);
    return {
      sequence: f.sequence, releaseId: f.releaseId, cause: f.cause, at: f.at, current: f.sequence === pointer.sequence,
      ...(f.reason ? { reason: f.reason } : {}),
      ...(record ? { sizeBytes: releaseSizeBytes(record) } : {}),
      ...(record?.note ? { note: record.note } : {}),
    };
  });
}

/** One release record, or `undefined`. */
export async function readReleaseRecord(store: ObjectStore, game: string, releaseId: string): Promise<ReleaseRecord | undefined> {
  return (await readRecords(store, game, [releaseId])).get(releaseId);
}

/** The most recent uploads of a game, newest first, with their errors formatted as `lup status` prints them. */
export async function readUploads(store: ObjectStore, game: string, limit = CONSOLE_UPLOAD_LIMIT): Promise<UploadView[]> {
  const listed = (await listStatuses(store, game))
    .sort((a, b) => (b.lastModified?.getTime() ?? 0) - (a.lastModified?.getTime() ?? 0))
    .slice(0, limit);
  const run = pLimit(16);
  const views = await Promise.all(listed.map((o) => run(async (): Promise<UploadView | undefined> => {
    const object = await store.get(o.key);
    if (!object) return undefined;
    const status = uploadStatusCodec.parse(object.body, { key: o.key });
    return {
      upload: status.upload, state: status.state, createdAt: status.createdAt, updatedAt: status.updatedAt,
      ...(status.channel ? { channel: status.channel } : {}),
      ...(status.releaseId ? { releaseId: status.releaseId } : {}),
      ...(status.sequence !== undefined ? { sequence: status.sequence } : {}),
      errors: status.errors.map((e) => ({ ...e, text: formatError(e) })),
      errorCount: status.errorCount ?? status.errors.length,
      ...(status.events.length > 0 ? { lastEvent: status.events[status.events.length - 1].message } : {}),
    };
  })));
  // Newest first by the status's own clock (LastModified has a one-second resolution on some stores).
  return views.filter((v): v is UploadView => v !== undefined).sort((a, b) => b.updatedAt.localeCompare(a.updatedAt));
}
