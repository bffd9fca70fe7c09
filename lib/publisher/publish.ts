/**
 * `lup publish`: upload a plan to staging in parallel (bounded), skip what is already published
 * (one listing per content prefix, not a HEAD per object), write the release request last, then
 * wait for the pipeline's verdict in the upload's status object.
 */
import { performance } from 'node:perf_hooks';
import pLimit from 'p-limit';
import { LOCAL_MULTIPART_THRESHOLD_BYTES, MULTIPART_THRESHOLD_BYTES, uploadFile } from '../adapters/s3-uploader';
import { isLupError, lupError, type LupError, type LupErrorData } from '../core/errors';
import type { StoredObject } from '../core/ports';
import { keys } from '../core/keys';
import { RELEASE_REQUEST_SCHEMA_VERSION, type ReleaseRequest } from '../core/documents/release-request';
import { encodeDocument } from '../core/documents/release-record';
import { isTerminal, type UploadState, type UploadStatus } from '../core/documents/upload-status';
import { FOLLOW_UPS_DONE_EVENT } from '../core/pipeline/status';
import type { Target } from '../cli/target';
import type { ArchiveReading, PlannedFile, PublishPlan } from './plan';

/** Progress of a publish, for the progress bar. */
export interface PublishProgress {
  readonly phase: 'uploading' | 'waiting';
  readonly loadedBytes: number;
  readonly totalBytes: number;
  readonly objectsDone: number;
  readonly objectsTotal: number;
}

/** Options of {@link publishPlan}. */
export interface PublishRequest {
  readonly target: Target;
  readonly plan: PublishPlan;
  readonly game: string;
  readonly channel: string;
  /** Upload folder id. @default - a new time-based id */
  readonly upload?: string;
  /** Uploads in flight at once; each holds one socket and, for small files, the file in memory. @default 32 */
  readonly concurrency?: number;
  readonly note?: string;
  /** Development mode: base64 DER public key to pin at the game's first release. */
  readonly publicKey?: string;
  /** How long to wait for the pipeline's verdict. @default 300000 */
  readonly timeoutMs?: number;
  readonly onProgress?: (progress: PublishProgress) => void;
  /** Time source for the upload id and waiting. @default Date */
  readonly now?: () => Date;
  /**
   * The reading of the plan's archives, running while they upload (`readPlannedArchives`): their
   * SHA-256 and, unless skipped, the local check's problems. Each archive's last bytes wait for it:
   * problems stop the publish with {@link LocalCheckRefused}, and an archive found already published
   * is stopped and counted as skipped; either way nothing of it is stored.
   * @default - none: the plan's archives were read (hashed and checked) when it was made
   */
  readonly archiveReading?: Promise<ArchiveReading>;
}

/** Why an archive's upload was stopped on purpose: the same bytes are already published. */
class AlreadyPublished extends Error {
  constructor() {
    super('The archive is already published.');
    this.name = 'AlreadyPublished';
  }
}

/** The local check found problems while the archives uploaded: nothing was stored or released. */
export class LocalCheckRefused extends Error {
  constructor(readonly errors: readonly LupError[]) {
    super(`The local check found ${errors.length} problem(s); the upload was stopped before its last bytes.`);
    this.name = 'LocalCheckRefused';
  }
}

/** The outcome of a publish. */
export interface PublishResult {
  readonly state: UploadState | 'timeout';
  readonly game: string;
  readonly channel: string;
  readonly upload: string;
  readonly releaseId?: string;
  readonly sequence?: number;
  readonly pointerPath: string;
  readonly pointerUrl?: string;
  readonly uploaded: { readonly objects: number; readonly bytes: number };
  readonly skipped: { readonly objects: number; readonly bytes: number };
  readonly errors: readonly LupErrorData[];
  readonly missing?: readonly string[];
  /** Where the time went, for benchmarks and CI logs. */
  readonly timings: PublishTimings;
}

/** Milliseconds from the start of {@link publishPlan} (monotonic clock, not the `now` option). */
export interface PublishTimings {
  /** Until the listing of already published content was read. */
  readonly listedMs: number;
  /** Until the local check running during the upload finished, when there was one. */
  readonly checkedMs?: number;
  /** Until the last upload and then the release request were acknowledged: everything is sent. */
  readonly uploadedMs: number;
  /** Until the pipeline's verdict was read (`live`, refused, or the timeout). */
  readonly liveMs: number;
}

/** A new upload id: sortable by time, unique enough for concurrent CI jobs. */
export function newUploadId(now: Date = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').toLowerCase();
  return `${stamp}-${Math.random().toString(36).slice(2, 8)}`;
}

async function alreadyPublished(target: Target, plan: PublishPlan, game: string): Promise<Set<string>> {
  const published = new Set<string>();
  if (plan.kind === 'archives') {
    for (const o of await target.store.list(`${keys.contentPrefix(game)}archives/`)) published.add(o.key);
  } else {
    for (const o of await target.store.list(keys.resourcesPrefix(game))) published.add(o.key);
    for (const o of await target.store.list(`${keys.contentPrefix(game)}manifests/`)) published.add(o.key);
  }
  return published;
}

/** Publish a plan and wait for the pipeline's verdict. */
export async function publishPlan(request: PublishRequest): Promise<PublishResult> {
  const { target, plan, game, channel } = request;
  const now = request.now ?? (() => new Date());
  const upload = request.upload ?? newUploadId(now());
  const started = performance.now();
  const published = await alreadyPublished(target, plan, game);
  const listedMs = performance.now() - started;
  // Content already verified under content/ is not sent again: the pipeline counts it by digest.
  // Archives read while they upload are judged once their digest is known (see `archiveReading`).
  const reading = request.archiveReading;
  const contentKey = (file: PlannedFile, kind: 'archive' | 'resource' | 'manifest'): string =>
    kind === 'archive' ? keys.archive(game, file.sha256) : kind === 'resource' ? keys.resource(game, file.name) : keys.manifest(game, file.sha256);
  const candidates: { file: PlannedFile; kind: 'archive' | 'resource' | 'manifest'; index: number }[] = [
    ...plan.archives.map((file, index) => ({ file, kind: 'archive' as const, index })),
    ...plan.resources.map((file, index) => ({ file, kind: 'resource' as const, index })),
    ...(plan.manifest ? [{ file: plan.manifest, kind: 'manifest' as const, index: 0 }] : []),
  ];
  const knownPublished = (c: (typeof candidates)[number]): boolean => !(reading && c.kind === 'archive') && published.has(contentKey(c.file, c.kind));
  const toSend = candidates.filter((c) => !knownPublished(c));
  const skipped = candidates.filter(knownPublished);
  let totalBytes = toSend.reduce((n, c) => n + c.file.sizeBytes, 0);
  let loadedBytes = 0;
  let objectsDone = 0;
  const report = (phase: PublishProgress['phase']): void =>
    request.onProgress?.({ phase, loadedBytes, totalBytes, objectsDone, objectsTotal: toSend.length });
  report('uploading');
  let checkedMs: number | undefined;
  const read = reading?.then((r) => {
    checkedMs = performance.now() - started;
    if (r.errors.length > 0) throw new LocalCheckRefused(r.errors);
    return r.sha256;
  });
  // Awaited below; a refusal must not surface as an unhandled rejection while uploads still run.
  read?.catch(() => undefined);
  /** Each archive's upload completes only once the reading passed and found it not yet published. */
  const archiveMaySend = (index: number): Promise<void> | undefined => read?.then((digests) => {
    if (published.has(keys.archive(game, digests[index]))) throw new AlreadyPublished();
  });
  const limit = pLimit(request.concurrency ?? 32);
  const multipartThresholdBytes = target.local ? LOCAL_MULTIPART_THRESHOLD_BYTES : MULTIPART_THRESHOLD_BYTES;
  const lateSkips: (typeof candidates)[number][] = [];
  try {
    await Promise.all(toSend.map((candidate) => limit(async () => {
      const { file, kind } = candidate;
      let counted = 0;
      const held = kind === 'archive' ? archiveMaySend(candidate.index) : undefined;
      held?.catch(() => undefined);
      try {
        // A small archive to AWS goes from memory, so the SDK may retry it: it waits for the check first.
        if (held && !target.local && file.sizeBytes < multipartThresholdBytes) await held;
        await uploadFile({
          client: target.client, bucket: target.bucket, key: keys.staged(game, upload, file.name), path: file.path, sizeBytes: file.sizeBytes,
          multipartThresholdBytes,
          ...(held && (target.local || file.sizeBytes >= multipartThresholdBytes) ? { holdLastBytesUntil: held } : {}),
          onProgress: (loaded) => {
            loadedBytes += loaded - counted;
            counted = loaded;
            report('uploading');
          },
        });
      } catch (error) {
        // Stopped because the same archive is already published: not sent after all.
        if (!(held && (await held.then(() => false, (e: unknown) => e instanceof AlreadyPublished)))) throw error;
        lateSkips.push(candidate);
        loadedBytes -= counted;
        totalBytes -= file.sizeBytes;
      }
      objectsDone += 1;
      report('uploading');
    })));
  } catch (error) {
    // An upload stopped by the check's refusal (or its failure) reports the check, not the upload.
    await read;
    throw error;
  }
  const digests = (await read) ?? plan.archives.map((a) => a.sha256);
  const archives = plan.archives.map((a, i) => ({ ...a, sha256: digests[i] }));
  const sent = toSend.filter((c) => !lateSkips.includes(c));
  skipped.push(...lateSkips);
  const releaseRequest: ReleaseRequest = {
    schemaVersion: RELEASE_REQUEST_SCHEMA_VERSION,
    game,
    upload,
    channel,
    kind: plan.kind,
    archives: archives.map((a) => ({ name: a.name, sha256: a.sha256, sizeBytes: a.sizeBytes, priority: a.priority })),
    ...(plan.manifest ? { manifestSha256: plan.manifest.sha256 } : {}),
    ...(request.publicKey ? { publicKey: request.publicKey } : {}),
    requestedAt: now().toISOString(),
    ...(request.note ? { note: request.note } : {}),
  };
  // The request goes last: the pipeline releases only what it names, once all of it is verified.
  await uploadFile({ client: target.client, bucket: target.bucket, key: keys.releaseRequest(game, upload), body: encodeDocument(releaseRequest), sizeBytes: 0, contentType: 'application/json' });
  const uploadedMs = performance.now() - started;
  report('waiting');
  const status = await waitForVerdict(target, game, upload, request.timeoutMs ?? 300_000, now);
  const liveMs = performance.now() - started;
  const pointerPath = keys.pointer(game, channel);
  return {
    // Embedded: after the router is idle nothing more will happen, so a non-terminal state is final.
    state: status && (isTerminal(status.state) || target.embedded) ? status.state : 'timeout',
    game,
    channel,
    upload,
    releaseId: status?.releaseId,
    sequence: status?.sequence,
    pointerPath,
    pointerUrl: target.cdnBaseUrl ? `${target.cdnBaseUrl}${pointerPath}` : undefined,
    uploaded: { objects: sent.length, bytes: totalBytes },
    skipped: { objects: skipped.length, bytes: skipped.reduce((n, c) => n + c.file.sizeBytes, 0) },
    errors: status?.errors ?? [lupError({ code: 'RELEASE_INCOMPLETE', message: 'The pipeline wrote no status for the upload.' }).toJSON()],
    missing: status?.missing,
    timings: { listedMs: Math.round(listedMs), ...(checkedMs !== undefined ? { checkedMs: Math.round(checkedMs) } : {}), uploadedMs: Math.round(uploadedMs), liveMs: Math.round(liveMs) },
  };
}

/**
 * Read the status object. A deployed publisher may list only content/ and status/ by prefix, so S3
 * answers a GET of a status object that does not exist yet with 403, not 404: that means "not yet".
 */
async function readStatusObject(target: Target, key: string): Promise<StoredObject | undefined> {
  try {
    return await target.store.get(key);
  } catch (error) {
    const status = isLupError(error) ? (error.cause as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode : undefined;
    if (status === 403) return undefined;
    throw error;
  }
}

/** Longest wait, once the status says live, for the flip's follow-ups to be reported done. */
export const FOLLOW_UPS_WAIT_MS = 15_000;

/** Longest wait between two reads of the status object while waiting for the verdict. */
export const VERDICT_POLL_MAX_MS = 250;

/** Poll the status object until it is terminal (the embedded stack is awaited directly). */
async function waitForVerdict(target: Target, game: string, upload: string, timeoutMs: number, now: () => Date): Promise<UploadStatus | undefined> {
  const key = keys.status(game, upload);
  const deadline = now().getTime() + timeoutMs;
  // A short, flat poll: the verdict is seen within a quarter second of being written (a
  // doubling wait up to 1 s added half a second to every publish on average), for at most
  // 4 GETs of a small object per second.
  let delayMs = 50;
  let followUpsDeadline = Infinity;
  for (;;) {
    if (target.embedded) await target.embedded.router.idle();
    const object = await readStatusObject(target, key);
    const status = object ? (JSON.parse(Buffer.from(object.body).toString('utf8')) as UploadStatus) : undefined;
    // Live: wait (briefly) for the flip's follow-ups too, so that what `lup publish` reports is
    // what players see: history, the stable manifest beside the pointer, the CDN invalidation.
    const settled = status && isTerminal(status.state) && (status.state !== 'live' || status.events.some((e) => e.message === FOLLOW_UPS_DONE_EVENT) || now().getTime() >= followUpsDeadline);
    if (status && settled) return status;
    if (status?.state === 'live' && followUpsDeadline === Infinity) followUpsDeadline = now().getTime() + FOLLOW_UPS_WAIT_MS;
    if (target.embedded || now().getTime() >= deadline) return status;
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    delayMs = Math.min(delayMs * 2, VERDICT_POLL_MAX_MS);
  }
}
