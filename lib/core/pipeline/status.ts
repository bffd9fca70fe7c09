/**
 * Updates of upload status objects. Several steps of one upload run concurrently, so each update is
 * a compare-and-swap on the status document; a terminal state is final.
 *
 * An upload that is not decided yet also has an entry under `state/_pending/` (written before its
 * status, removed once the status is terminal, or for a live upload once the flip's follow-ups are done): the sweeper lists those, not every status ever
 * written, so its work stays bounded by the uploads in flight.
 */
import type { LupError } from '../errors';
import { keys } from '../keys';
import { MAX_STATUS_ERRORS, MAX_STATUS_EVENTS, MAX_STATUS_MISSING, STATUS_SCHEMA_VERSION, isTerminal, uploadStatusCodec, type UploadState, type UploadStatus } from '../documents/upload-status';
import { type PipelineContext } from './context';
import { createJson, readJson, updateJson } from './documents';

/** A change to an upload's status. */
export interface StatusChange {
  readonly state?: UploadState;
  readonly message: string;
  readonly errors?: readonly LupError[];
  readonly missing?: readonly string[];
  readonly channel?: string;
  readonly releaseId?: string;
  readonly sequence?: number;
  readonly pointerPath?: string;
}

/** The sweeper's entry of an upload in flight (`state/_pending/<game>/<upload>`). */
export interface PendingUpload {
  readonly schemaVersion: 1;
  readonly game: string;
  readonly upload: string;
  readonly createdAt: string;
  /** Sweeper runs that failed on this upload. */
  readonly failures: number;
}

/** Apply a change unless the upload already reached a terminal state. Returns the resulting status. */
export async function updateStatus(context: PipelineContext, game: string, upload: string, change: StatusChange): Promise<UploadStatus | undefined> {
  const terminal = change.state !== undefined && isTerminal(change.state);
  if (!terminal) {
    await createJson<PendingUpload>(context.store, keys.pendingUpload(game, upload), { schemaVersion: 1, game, upload, createdAt: context.clock.now().toISOString(), failures: 0 });
  }
  const result = await updateJson<UploadStatus>(context.store, keys.status(game, upload), (current) => {
    // Terminal states are final, with one exception: the sweeper may have failed an upload an
    // instant before its flip landed; "live" is then the truth and replaces "failed".
    if (current && isTerminal(current.state) && !(current.state === 'failed' && change.state === 'live')) return undefined;
    // Many events of one upload report the same progress; writing it again only adds contention.
    if (current && change.state === undefined && !change.errors?.length && current.events.at(-1)?.message === change.message) return undefined;
    const at = context.clock.now().toISOString();
    const base: UploadStatus = current ?? {
      schemaVersion: STATUS_SCHEMA_VERSION, game, upload, state: 'pending', errors: [], events: [], createdAt: at, updatedAt: at,
    };
    const errorCount = (base.errorCount ?? base.errors.length) + (change.errors?.length ?? 0);
    return {
      ...base,
      state: change.state ?? base.state,
      channel: change.channel ?? base.channel,
      releaseId: change.releaseId ?? base.releaseId,
      sequence: change.sequence ?? base.sequence,
      pointerPath: change.pointerPath ?? base.pointerPath,
      errors: [...base.errors, ...(change.errors ?? []).slice(0, MAX_STATUS_ERRORS).map((e) => e.toJSON())].slice(0, MAX_STATUS_ERRORS),
      ...(errorCount > MAX_STATUS_ERRORS ? { errorCount } : {}),
      missing: (change.missing ?? base.missing)?.slice(0, MAX_STATUS_MISSING),
      events: [...base.events, { at, message: change.message }].slice(-MAX_STATUS_EVENTS),
      updatedAt: at,
    };
  }, { cacheControl: 'no-store' }, uploadStatusCodec);
  // A live upload keeps its entry until its release request is deleted (release.ts), which happens
  // only after the flip's follow-ups succeeded: if every retry of them fails, the sweeper finishes.
  if (result.value && isTerminal(result.value.state) && (result.value.state !== 'live' || upload.startsWith('editor-'))) {
    await context.store.delete(keys.pendingUpload(game, upload));
  }
  return result.value;
}

/** The status of an upload, if any step wrote one. */
export async function readStatus(context: PipelineContext, game: string, upload: string): Promise<UploadStatus | undefined> {
  return (await readJson(context.store, keys.status(game, upload), uploadStatusCodec))?.value;
}

/** The event a live upload gets once the flip's follow-ups are done; `lup publish` waits for it. */
export const FOLLOW_UPS_DONE_EVENT = 'published: channel history, stable manifest and CDN invalidation done';

/** Record on a live status that the flip's follow-ups are done (once). */
export async function markFollowUpsDone(context: PipelineContext, game: string, upload: string): Promise<void> {
  await updateJson<UploadStatus>(context.store, keys.status(game, upload), (current) => {
    if (!current || current.state !== 'live' || current.events.some((e) => e.message === FOLLOW_UPS_DONE_EVENT)) return undefined;
    const at = context.clock.now().toISOString();
    return { ...current, events: [...current.events, { at, message: FOLLOW_UPS_DONE_EVENT }].slice(-MAX_STATUS_EVENTS), updatedAt: at };
  }, { cacheControl: 'no-store' }, uploadStatusCodec);
}
