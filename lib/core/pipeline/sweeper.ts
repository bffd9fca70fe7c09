/**
 * The sweeper (invariant I4): a release that never completes ends in a clear `failed` status with
 * what is missing, within the release timeout. Runs on a schedule (EventBridge in AWS, a timer in
 * the local stack).
 */
import { lupError } from '../errors';
import { PREFIX, keys } from '../keys';
import { isTerminal, uploadStatusCodec } from '../documents/upload-status';
import { log, type PipelineContext } from './context';
import { readJson } from './documents';
import { missingFor } from './release';
import { completeUpload } from './steps';
import { updateStatus } from './status';

/** Default time an incomplete release may wait. */
export const DEFAULT_RELEASE_TIMEOUT_MS = 60 * 60 * 1000;

/**
 * How far back the sweeper looks, beyond the timeout. A status untouched for longer was decided by
 * an earlier run (the sweeper runs every few minutes), so each run reads only a bounded window of
 * status objects, however many uploads the bucket has seen.
 */
export const SWEEP_WINDOW_MS = 24 * 60 * 60 * 1000;

/** Fail every upload whose release stayed incomplete past the timeout. Returns the failed uploads. */
export async function sweepIncompleteReleases(context: PipelineContext): Promise<{ game: string; upload: string }[]> {
  const timeoutMs = context.releaseTimeoutMs ?? (context.config ? context.config.releaseTimeoutMinutes * 60_000 : DEFAULT_RELEASE_TIMEOUT_MS);
  const now = context.clock.now().getTime();
  const failed: { game: string; upload: string }[] = [];
  const candidates = (await context.store.list(PREFIX.status)).filter((o) => {
    const age = o.lastModified ? now - o.lastModified.getTime() : Infinity;
    return age >= timeoutMs && age <= timeoutMs + SWEEP_WINDOW_MS;
  });
  for (const object of candidates) {
    const status = (await readJson(context.store, object.key, uploadStatusCodec))?.value;
    if (!status || isTerminal(status.state)) continue;
    if (now - Date.parse(status.createdAt) < timeoutMs) continue;
    // One last attempt: the missing piece may have arrived since the last event.
    const attempt = status.upload.startsWith('editor-') ? undefined : await completeUpload(context, status.game, status.upload);
    if (attempt && attempt.state !== 'waiting') continue;
    const reason = attempt?.state === 'waiting' ? attempt.reason : 'the editor never uploaded every resource of its manifest';
    const missing = await missingFor(context, status.game, status.upload);
    await updateStatus(context, status.game, status.upload, {
      state: 'failed',
      message: `release timed out after ${Math.round(timeoutMs / 60_000)} minutes`,
      errors: [lupError({
        code: 'RELEASE_INCOMPLETE', location: { key: keys.uploadPrefix(status.game, status.upload) },
        expected: `a complete release within ${Math.round(timeoutMs / 60_000)} minutes`,
        actual: missing.length > 0 ? `${reason}; missing: ${missing.slice(0, 20).join(', ')}${missing.length > 20 ? ', …' : ''}` : reason,
        message: `The release never completed: ${reason}. Publish it again; nothing was served.`,
      })],
      missing,
    });
    log(context, { level: 'warn', step: 'sweeper', game: status.game, upload: status.upload, code: 'RELEASE_INCOMPLETE', message: reason });
    failed.push({ game: status.game, upload: status.upload });
  }
  return failed;
}
