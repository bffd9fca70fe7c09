/**
 * Refusal of bad staged content: the object moves to `quarantine/` with the reason beside it, the
 * upload's status says why, and nothing reaches `content/`.
 */
import type { LupError } from '../errors';
import { EDITOR_UPLOAD, keys } from '../keys';
import { log, type PipelineContext } from './context';
import { createJson } from './documents';
import { discardReleaseRequest } from './release';
import { updateStatus } from './status';

/** The largest object S3 copies in one CopyObject request (5 GiB). */
export const MAX_SINGLE_COPY_BYTES = 5 * 1024 ** 3;

/** Move a staged object to quarantine and mark its upload refused. Idempotent. */
export async function quarantine(
  context: PipelineContext,
  staged: { game: string; upload: string; name: string; key: string },
  errors: readonly LupError[],
  step: string,
): Promise<void> {
  const { game, upload, name, key } = staged;
  const target = keys.quarantine(game, upload, name);
  const source = await context.store.head(key);
  // S3 copies at most 5 GiB in one request: a larger refused object (ARCHIVE_TOO_LARGE) keeps only
  // its reason in quarantine, with its size; the bytes go with the staged object.
  const copyable = source !== undefined && source.sizeBytes <= MAX_SINGLE_COPY_BYTES;
  if (source && copyable) {
    await context.store.copy(key, target, { sourceIfMatch: source.etag });
  }
  await createJson(context.store, keys.quarantineReason(game, upload, name), {
    schemaVersion: 1, game, upload, name, stagedKey: key, step, at: context.clock.now().toISOString(),
    ...(source && !copyable ? { notKept: `${source.sizeBytes} bytes, over the ${MAX_SINGLE_COPY_BYTES}-byte single-copy limit` } : {}),
    errors: errors.map((e) => e.toJSON()),
  });
  // The editor reuses one folder for every build and bad objects there belong to no build: the
  // reason beside each quarantined object is their record (one shared status document would be
  // rewritten by every refusal, and a thousand bad objects would fight over it).
  if (upload !== EDITOR_UPLOAD) await updateStatus(context, game, upload, { state: 'refused', message: `${name} refused by the ${step} step`, errors });
  if (source) await context.store.delete(key);
  await discardReleaseRequest(context, game, upload);
  for (const error of errors.slice(0, 5)) {
    log(context, { level: 'warn', step, game, upload, key, code: error.code, message: error.message });
  }
}
