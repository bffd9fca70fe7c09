/**
 * The four pipeline steps, one per kind of staged object. Each is idempotent (I3): a duplicate or
 * retried event finds its work done (the staged object gone, the verified copy present, a receipt
 * written) and only repeats the release attempt, which is itself idempotent.
 *
 * What a step verifies goes to the private area of verified content (`state/<game>/_verified/`),
 * never to `content/`: only a release being made live copies content there (publish-release.ts).
 */
import pLimit from 'p-limit';
import { routeFor } from '../../routes';
import { algorithmForHexName, createHasher, toHex } from '../format/digest';
import { lupError, type LupError } from '../errors';
import { EDITOR_UPLOAD, isReservedUploadId, keys, parseReleaseAttemptKey, parseStagedKey, type StagedKey } from '../keys';
import { MAX_MANIFEST_BYTES } from '../format/manifest-codec';
import { ResourceDigester, manifestOfEditorObject } from '../format/resource-header';
import { checkResourceIdentity, resourceNameError } from '../format/validate-content';
import { decodeCheckedManifest } from '../format/validate-manifest';
import { verifyArchive } from '../format/verify-archive';
import { hashingSource } from '../format/hashing-source';
import { log, type PipelineContext, type ReleaseAttemptRequest } from './context';
import { updateJson } from './documents';
import { checkGameKnown, checkPin, resolveGame, type GameRules } from './game-policy';
import { quarantine } from './quarantine';
import { manifestReceiptOf, writeArchiveReceipt, writeManifestReceipt } from './receipts';
import { editorReleaseId, tryRelease, type EditorCandidate, type ReleaseAttempt } from './release';
import { readStatus, updateStatus } from './status';
import { copyOnce, putOnce } from './verified';

type Staged = StagedKey & { key: string };

function staged(context: PipelineContext, key: string, step: string): Staged | undefined {
  const parsed = parseStagedKey(key);
  if (!parsed) {
    log(context, { level: 'warn', step, key, message: 'ignored: not a staging/<game>/<upload>/<name> key' });
    return undefined;
  }
  // `editor-…` names the editor's per-build statuses: an upload of that name would write into them.
  if (parsed.upload !== EDITOR_UPLOAD && isReservedUploadId(parsed.upload)) {
    log(context, { level: 'warn', step, key, message: `ignored: upload ids starting with "${EDITOR_UPLOAD}-" are reserved for the Defold editor's builds` });
    return undefined;
  }
  return { ...parsed, key };
}

/** Resources up to this size are verified and written from memory; larger ones are copied. */
export const MAX_BUFFERED_RESOURCE_BYTES = 8 * 1024 * 1024;
/** The largest loose resource accepted (far above any texture or sound a game streams). */
export const MAX_RESOURCE_BYTES = 1024 * 1024 * 1024;
/** The largest archive accepted: S3 copies at most 5 GiB in one request, and verified archives are copied. */
export const MAX_ARCHIVE_BYTES = 5 * 1024 * 1024 * 1024;

function tooLarge(code: 'RESOURCE_TOO_LARGE' | 'ARCHIVE_TOO_LARGE', key: string, sizeBytes: number, maxBytes: number): LupError {
  return lupError({
    code, location: { key }, expected: `at most ${maxBytes} bytes`, actual: `${sizeBytes} bytes`,
    message: code === 'ARCHIVE_TOO_LARGE'
      ? 'The archive is larger than the pipeline can verify and copy (5 GiB, the S3 single-copy limit); split the content into several archives.'
      : 'The resource is larger than any LiveUpdate resource the pipeline accepts (1 GiB); it was refused unread.',
  });
}

/**
 * After a loose resource or a manifest: only the Defold editor's folder, which has no release
 * request, completes a release from these steps. A `lup publish` upload is completed by its release
 * request, which the CLI writes last and whose step verifies whatever is still staged itself
 * ({@link completeUpload}). Letting thousands of resource events each check whether they were the
 * last one would cost a listing of the shrinking upload folder per event: quadratic.
 */
async function releaseAfterLoose(context: PipelineContext, game: string, upload: string): Promise<void> {
  if (upload === EDITOR_UPLOAD) await releaseAfter(context, game, upload);
}

async function releaseAfter(context: PipelineContext, game: string, upload: string): Promise<void> {
  // Cheap guard before the full attempt: nothing can complete without a request (or an editor manifest).
  const marker = upload === EDITOR_UPLOAD ? keys.editorCandidate(game) : keys.releaseRequest(game, upload);
  if (!(await context.store.head(marker))) return;
  // The release function makes the attempt (it alone may flip); in-process when none is wired.
  if (context.requestRelease) await context.requestRelease({ kind: 'release-attempt', game, upload });
  else await tryRelease(context, game, upload);
}

/** A staging step's request for a release attempt, as an object the release function is notified of. */
export async function requestReleaseAttempt(store: PipelineContext['store'], request: ReleaseAttemptRequest): Promise<void> {
  await store.put(keys.releaseAttempt(request.game, request.upload), new Uint8Array(0), { contentType: 'application/octet-stream' });
}

/** Step: a loose resource arrived (`staging/<game>/<upload>/<hexdigest>`). */
export async function onResourceArrived(context: PipelineContext, key: string): Promise<void> {
  const s = staged(context, key, 'resource');
  if (!s) return;
  const unknownGame = checkGameKnown(context, s.game);
  if (unknownGame) return quarantine(context, s, [unknownGame], 'resource');
  const algorithm = algorithmForHexName(s.name);
  if (!algorithm) return quarantine(context, s, [resourceNameError(s.name, { key })], 'resource');
  const object = await context.store.getStream(key);
  if (!object) {
    // A duplicate, or a retry after the object was moved (by this event or by its release request).
    await releaseAfterLoose(context, s.game, s.upload);
    return;
  }
  if (object.info.sizeBytes > MAX_RESOURCE_BYTES) {
    (object.body as { destroy?: () => void }).destroy?.();
    return quarantine(context, s, [tooLarge('RESOURCE_TOO_LARGE', key, object.info.sizeBytes, MAX_RESOURCE_BYTES)], 'resource');
  }
  const digester = new ResourceDigester(algorithm);
  // Small resources (nearly all) are kept while hashing and written from memory: the bytes stored
  // are then exactly the bytes verified, in one request. Large ones are copied server-side, pinned
  // to the verified version by the source ETag.
  const chunks: Uint8Array[] = [];
  let buffered = 0;
  for await (const chunk of object.body) {
    digester.update(chunk);
    if (buffered <= MAX_BUFFERED_RESOURCE_BYTES) {
      chunks.push(chunk);
      buffered += chunk.length;
    }
  }
  const { header, digest, payloadSizeBytes } = digester.finish();
  const error = checkResourceIdentity({ name: s.name, digest, header, payloadSizeBytes, location: { key } });
  if (error) return quarantine(context, s, [error], 'resource');
  // Each header variant of a payload waits under its own key: the release takes the one its manifest names.
  const target = keys.verifiedResource(s.game, s.name, toHex(header));
  if (buffered <= MAX_BUFFERED_RESOURCE_BYTES) await putOnce(context, target, Buffer.concat(chunks), 'application/octet-stream');
  else await copyOnce(context, key, target, { sourceEtag: object.info.etag, contentType: 'application/octet-stream', served: false });
  await context.store.delete(key);
  await releaseAfterLoose(context, s.game, s.upload);
}

/** The staged object of a manifest or archive event and its game's rules; quarantined when the game is unknown. */
async function beginStep(context: PipelineContext, key: string, step: 'manifest' | 'archive'): Promise<{ s: Staged; rules: GameRules } | undefined> {
  const s = staged(context, key, step);
  if (!s) return undefined;
  const game = await resolveGame(context, s.game);
  if (game.ok) return { s, rules: game.rules };
  await quarantine(context, s, [game.error], step);
  return undefined;
}

/** Step: a manifest arrived (`staging/<game>/<upload>/*.dmanifest`, or the editor's `<prefix>/null`). */
export async function onManifestArrived(context: PipelineContext, key: string): Promise<void> {
  const begun = await beginStep(context, key, 'manifest');
  if (!begun) return;
  const { s, rules } = begun;
  // One bounded read: the publisher may overwrite the object at any time, so its size is judged
  // from the very response whose bytes are verified, never from an earlier HEAD.
  const info = await context.store.head(key);
  const read = info && await context.store.readPrefix(key, MAX_MANIFEST_BYTES + 1);
  if (!info || !read) {
    await releaseAfterLoose(context, s.game, s.upload);
    return;
  }
  // Replaced since the event: the newer object's own event verifies it.
  if (read.etag !== info.etag) return;
  if (read.sizeBytes > MAX_MANIFEST_BYTES) {
    return quarantine(context, s, [lupError({
      code: 'MANIFEST_TOO_LARGE', location: { key }, expected: `at most ${MAX_MANIFEST_BYTES} bytes`, actual: `${read.sizeBytes} bytes`,
      message: 'The manifest is larger than any Defold build produces; it is refused unread.',
    })], 'manifest');
  }
  // The editor's folder has no release request naming the manifest's SHA-256, so the manifest is
  // taken as the game will read it: without a resource header, should one be in front.
  const editorObject = s.upload === EDITOR_UPLOAD ? manifestOfEditorObject(read.bytes) : undefined;
  const body = editorObject?.manifestBytes ?? read.bytes;
  if (editorObject?.headerStripped) log(context, { level: 'info', step: 'manifest', key, game: s.game, upload: s.upload, message: 'a 16-byte resource header in front of the manifest was removed' });
  const { manifest, findings } = decodeCheckedManifest(body, rules.policy, { key });
  const errors: LupError[] = [...findings.errors, ...(manifest ? checkPin(rules, manifest) : [])];
  if (errors.length > 0 || !manifest) return quarantine(context, s, errors, 'manifest');
  const sha256 = createHasher('sha256').update(body).digest('hex');
  await putOnce(context, keys.verifiedManifest(s.game, sha256), body, 'application/octet-stream');
  const at = context.clock.now().toISOString();
  await writeManifestReceipt(context, s.game, manifestReceiptOf(manifest, sha256, body.length, at));
  if (s.upload === EDITOR_UPLOAD) {
    // A build the sweeper failed (or refused) may be published again from the editor: start afresh.
    const previous = await readStatus(context, s.game, editorReleaseId(sha256));
    if (previous && (previous.state === 'failed' || previous.state === 'refused')) await context.store.delete(keys.status(s.game, editorReleaseId(sha256)));
    // The editor publishes the manifest it wrote last: the newest object wins, whichever step finishes last.
    const stagedAt = (info.lastModified ?? context.clock.now()).toISOString();
    await updateJson<EditorCandidate>(context.store, keys.editorCandidate(s.game), (current) =>
      current && (current.manifestSha256 === sha256 || (current.stagedAt !== undefined && current.stagedAt > stagedAt))
        ? undefined
        : { schemaVersion: 1, manifestSha256: sha256, at, stagedAt },
    );
    await updateStatus(context, s.game, editorReleaseId(sha256), { message: 'manifest verified; waiting for its resources' });
  } else {
    await updateStatus(context, s.game, s.upload, { message: `manifest ${s.name} verified` });
  }
  // The editor rewrites the same key for every build: delete only the manifest that was verified,
  // not a newer one that landed meanwhile (its own event will process it).
  if ((await context.store.head(key))?.etag === read.etag) await context.store.delete(key);
  await releaseAfterLoose(context, s.game, s.upload);
}

/** Step: a zip archive arrived (`staging/<game>/<upload>/*.zip`). */
export async function onArchiveArrived(context: PipelineContext, key: string): Promise<void> {
  const begun = await beginStep(context, key, 'archive');
  if (!begun) return;
  const { s, rules } = begun;
  const opened = await context.store.openRange(key);
  if (!opened) {
    await releaseAfter(context, s.game, s.upload);
    return;
  }
  if (opened.info.sizeBytes > MAX_ARCHIVE_BYTES) {
    return quarantine(context, s, [tooLarge('ARCHIVE_TOO_LARGE', key, opened.info.sizeBytes, MAX_ARCHIVE_BYTES)], 'archive');
  }
  // One pass: the SHA-256 of the whole object is taken from the bytes verification reads.
  const source = hashingSource(opened.source, 'sha256');
  const report = await verifyArchive(source, { policy: rules.policy, location: { key } });
  const sha256 = await source.digest();
  const errors = [...report.errors, ...(report.manifest ? checkPin(rules, report.manifest) : [])];
  if (errors.length > 0 || !report.manifest || !report.manifestBytes || !report.manifestSha256) {
    return quarantine(context, s, errors, 'archive');
  }
  const at = context.clock.now().toISOString();
  // The verified bytes wait privately, pinned to the version verified, until a release takes them.
  await copyOnce(context, key, keys.verifiedArchive(s.game, sha256), { sourceEtag: opened.info.etag, contentType: 'application/zip', served: false });
  await putOnce(context, keys.verifiedManifest(s.game, report.manifestSha256), report.manifestBytes, 'application/octet-stream');
  const manifestReceipt = manifestReceiptOf(report.manifest, report.manifestSha256, report.manifestBytes.length, at);
  await writeManifestReceipt(context, s.game, manifestReceipt);
  await writeArchiveReceipt(context, s.game, {
    schemaVersion: 1, sha256, sizeBytes: opened.info.sizeBytes, manifest: manifestReceipt,
    resources: report.resources, customFiles: report.customFiles, verifiedAt: at,
  });
  await updateStatus(context, s.game, s.upload, { message: `archive ${s.name} verified (${report.resourceCount} resources)` });
  await context.store.delete(key);
  await releaseAfter(context, s.game, s.upload);
}

/** Step: a release request arrived (`staging/<game>/<upload>/release-request.json`). */
export async function onReleaseRequested(context: PipelineContext, key: string): Promise<void> {
  const attempt = parseReleaseAttemptKey(key);
  if (attempt) {
    // Deleted first: an attempt requested again while this one runs leaves a new object (and event).
    await context.store.delete(key);
    await tryRelease(context, attempt.game, attempt.upload);
    return;
  }
  const s = staged(context, key, 'release');
  if (!s) return;
  if (s.upload === EDITOR_UPLOAD) {
    log(context, { level: 'warn', step: 'release', key, message: 'ignored: the editor folder releases automatically' });
    return;
  }
  await updateStatus(context, s.game, s.upload, { message: 'release requested' });
  await completeUpload(context, s.game, s.upload);
}

/** Staged objects verified at once while completing an upload. */
export const DRAIN_CONCURRENCY = 16;

/**
 * Complete a `lup publish` upload: verify every loose resource and manifest still staged (their own
 * events may still be queued; whichever comes first does the work, the other finds it done), then
 * try the release. Archives are left to their own step, which tries the release when it is done.
 * One listing of the upload folder, however many objects it holds. A crash or timeout part-way is
 * retried (Lambda) and continues where it stopped.
 */
export async function completeUpload(context: PipelineContext, game: string, upload: string): Promise<ReleaseAttempt> {
  // Newest first: the queued events of the same objects are delivered oldest first, so the two meet
  // in the middle instead of verifying the same objects twice.
  const staged = (await context.store.list(keys.uploadPrefix(game, upload))).reverse();
  const limit = pLimit(DRAIN_CONCURRENCY);
  await Promise.all(staged.map((o) => limit(async () => {
    const step = routeFor(o.key);
    if (step === 'resource') await onResourceArrived(context, o.key);
    else if (step === 'manifest') await onManifestArrived(context, o.key);
  })));
  return tryRelease(context, game, upload);
}
