/**
 * The sweeper (invariant I4): a release that never completes ends in a clear `failed` status with
 * what is missing, within the release timeout. Runs on a schedule (EventBridge in AWS, a timer in
 * the local stack).
 *
 * It reads only the uploads in flight (`state/_pending/`, see status.ts; a handful at a time, not
 * every upload ever made), decides at most {@link SWEEP_BATCH} overdue ones per run, and one upload it cannot handle (an unreadable staged object, a
 * damaged document) never stops the others: each failure is counted on the upload's entry, and after
 * {@link SWEEP_MAX_FAILURES} runs the upload is failed with the reason.
 */
import { isLupError, lupError } from '../errors';
import { keys } from '../keys';
import { isTerminal } from '../documents/upload-status';
import { log, type PipelineContext } from './context';
import { readJson } from './documents';
import { pointerCodec } from '../documents/pointer';
import { missingFor, readReleaseRequest, tryRelease } from './release';
import { completeUpload } from './steps';
import { readStatus, updateStatus, type PendingUpload } from './status';

/** Default time an incomplete release may wait. */
export const DEFAULT_RELEASE_TIMEOUT_MS = 60 * 60 * 1000;
/** Uploads looked at per run; the rest wait for the next run (it runs every few minutes). */
export const SWEEP_BATCH = 200;
/** Runs that may fail on one upload before it is failed with the error. */
export const SWEEP_MAX_FAILURES = 3;

/** What one sweeper run did. */
export interface SweepReport {
  /** Uploads failed by this run (timed out, or not sweepable). */
  readonly failed: { game: string; upload: string }[];
  /** Uploads whose handling threw this run (counted; failed after {@link SWEEP_MAX_FAILURES}). */
  readonly errors: { game: string; upload: string; message: string }[];
}

/** Fail every upload whose release stayed incomplete past the timeout. */
export async function sweepIncompleteReleases(context: PipelineContext): Promise<SweepReport> {
  const timeoutMs = context.releaseTimeoutMs ?? (context.config ? context.config.releaseTimeoutMinutes * 60_000 : DEFAULT_RELEASE_TIMEOUT_MS);
  const now = context.clock.now().getTime();
  const report: SweepReport = { failed: [], errors: [] };
  let handled = 0;
  for (const object of await context.store.list(keys.pendingPrefix())) {
    if (handled >= SWEEP_BATCH) break;
    let pending: PendingUpload | undefined;
    try {
      pending = (await readJson<PendingUpload>(context.store, object.key))?.value;
      if (!pending || now - Date.parse(pending.createdAt) < timeoutMs) continue;
      handled += 1;
      if (await sweepOne(context, pending, timeoutMs)) report.failed.push({ game: pending.game, upload: pending.upload });
    } catch (error) {
      const message = isLupError(error) ? `${error.code}: ${error.message}` : String(error);
      log(context, { level: 'error', step: 'sweeper', key: object.key, message });
      if (!pending) {
        // An entry that cannot even be read names nothing to fail: drop it.
        await context.store.delete(object.key);
        continue;
      }
      report.errors.push({ game: pending.game, upload: pending.upload, message });
      await countFailure(context, pending, message, timeoutMs);
    }
  }
  return report;
}

/** Decide one overdue upload; true when it was failed. */
async function sweepOne(context: PipelineContext, pending: PendingUpload, timeoutMs: number): Promise<boolean> {
  const { game, upload } = pending;
  const status = await readStatus(context, game, upload);
  if (status?.state === 'live' && (await context.store.head(keys.releaseRequest(game, upload)))) {
    // Flipped, but every retry of the follow-ups (history, stable manifest, CDN invalidation) failed.
    await tryRelease(context, game, upload);
    return false;
  }
  if (!status || isTerminal(status.state)) {
    await context.store.delete(keys.pendingUpload(game, upload));
    return false;
  }
  // A newer release went live on the channel while this one waited (its request's event was lost,
  // or every attempt failed): completing it now would put an older build back (I5). Fail it.
  const superseded = upload.startsWith('editor-') ? undefined : await supersededBy(context, game, upload);
  if (superseded) {
    await updateStatus(context, game, upload, {
      state: 'failed',
      message: `superseded: ${superseded.releaseId} went live on ${superseded.channel} while this upload waited`,
      errors: [lupError({
        code: 'RELEASE_SUPERSEDED', location: { key: keys.releaseRequest(game, upload) },
        expected: `no release on ${superseded.channel} after this request (${superseded.requestedAt})`,
        actual: `${superseded.releaseId} went live at ${superseded.publishedAt} (sequence ${superseded.sequence})`,
        message: `A newer release went live on ${superseded.channel} while this upload waited; it was not released, so players keep the newer one. Publish it again to make it live.`,
      })],
    });
    log(context, { level: 'warn', step: 'sweeper', game, upload, code: 'RELEASE_SUPERSEDED', message: `superseded by ${superseded.releaseId}` });
    return true;
  }
  // One last attempt: the missing piece may have arrived since the last event.
  const editor = upload.startsWith('editor-');
  const attempt = editor ? undefined : await completeUpload(context, game, upload);
  if (attempt && attempt.state !== 'waiting') return false;
  const reason = attempt?.state === 'waiting' ? attempt.reason : 'the editor never uploaded every resource of its manifest';
  const request = editor ? undefined : await readReleaseRequest(context, game, upload);
  const missing = await missingFor(context, game, upload, request?.ok ? request.request : undefined);
  await updateStatus(context, game, upload, {
    state: 'failed',
    message: `release timed out after ${Math.round(timeoutMs / 60_000)} minutes`,
    errors: [lupError({
      code: 'RELEASE_INCOMPLETE', location: { key: keys.uploadPrefix(game, upload) },
      expected: `a complete release within ${Math.round(timeoutMs / 60_000)} minutes`,
      actual: missing.length > 0 ? `${reason}; missing: ${missing.slice(0, 20).join(', ')}${missing.length > 20 ? ', …' : ''}` : reason,
      message: `The release never completed: ${reason}. Publish it again; nothing was served.`,
    })],
    missing,
  });
  log(context, { level: 'warn', step: 'sweeper', game, upload, code: 'RELEASE_INCOMPLETE', message: reason });
  return true;
}

/** Count a failed run on an upload; fail the upload once it has failed too often. */
async function countFailure(context: PipelineContext, pending: PendingUpload, message: string, timeoutMs: number): Promise<void> {
  const failures = pending.failures + 1;
  if (failures < SWEEP_MAX_FAILURES) {
    await context.store.put(keys.pendingUpload(pending.game, pending.upload), `${JSON.stringify({ ...pending, failures })}\n`, { contentType: 'application/json' });
    return;
  }
  try {
    await updateStatus(context, pending.game, pending.upload, {
      state: 'failed',
      message: `the sweeper could not complete the release (${failures} attempts)`,
      errors: [lupError({
        code: 'RELEASE_INCOMPLETE', location: { key: keys.uploadPrefix(pending.game, pending.upload) },
        expected: `a complete release within ${Math.round(timeoutMs / 60_000)} minutes`, actual: message,
        message: `The release could not be completed (${message}); nothing was served. Publish it again.`,
      })],
    });
  } finally {
    // Even when the status itself cannot be written, the upload leaves the sweeper's list.
    await context.store.delete(keys.pendingUpload(pending.game, pending.upload));
  }
}

/**
 * The flip that superseded an upload's release request: the request's channel moved to another
 * release after the request was written (the store's time of the request, not the publisher's).
 */
async function supersededBy(context: PipelineContext, game: string, upload: string): Promise<{ channel: string; releaseId: string; publishedAt: string; sequence: number; requestedAt: string } | undefined> {
  const requestInfo = await context.store.head(keys.releaseRequest(game, upload));
  if (!requestInfo?.lastModified) return undefined;
  const request = await readReleaseRequest(context, game, upload);
  if (!request?.ok) return undefined;
  const channel = request.request.channel;
  const pointer = await readJson(context.store, keys.pointer(game, channel), pointerCodec);
  if (!pointer || pointer.value.releaseId === upload) return undefined;
  if (Date.parse(pointer.value.publishedAt) <= requestInfo.lastModified.getTime()) return undefined;
  // This upload's own flip may have landed before a newer one: then it is not waiting, only unfinished.
  if (pointer.value.history.some((h) => h.releaseId === upload)) return undefined;
  return { channel, releaseId: pointer.value.releaseId, publishedAt: pointer.value.publishedAt, sequence: pointer.value.sequence, requestedAt: requestInfo.lastModified.toISOString() };
}
