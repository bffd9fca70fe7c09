/**
 * The four pipeline steps, one per kind of staged object. Each is idempotent (I3): a duplicate or
 * retried event finds its work done (the staged object gone, the content present, a receipt
 * written) and only repeats the release attempt, which is itself idempotent.
 */
import pLimit from 'p-limit';
import { CONTENT_CACHE } from '../../http-policy';
import { routeFor } from '../../routes';
import { algorithmForHexName, createHasher, toHex } from '../format/digest';
import { isLupError, lupError, type LupError } from '../errors';
import { EDITOR_UPLOAD, keys, parseStagedKey, type StagedKey } from '../keys';
import { MAX_MANIFEST_BYTES, decodeManifest } from '../format/manifest-codec';
import { RESOURCE_HEADER_BYTES, ResourceDigester } from '../format/resource-header';
import { checkResourceIdentity, resourceNameError } from '../format/validate-content';
import { validateManifest } from '../format/validate-manifest';
import { verifyArchive } from '../format/verify-archive';
import { log, type PipelineContext } from './context';
import { createJson, updateJson } from './documents';
import { checkGameKnown, checkPin, resolveGame, type GameRules } from './game-policy';
import { quarantine } from './quarantine';
import { manifestReceiptOf, writeArchiveReceipt, writeManifestReceipt } from './receipts';
import { editorReleaseId, tryRelease, type EditorCandidate, type ReleaseAttempt } from './release';
import { readStatus, updateStatus } from './status';
import { STATUS_SCHEMA_VERSION, uploadStatusCodec, type UploadStatus } from '../documents/upload-status';

type Staged = StagedKey & { key: string };

function staged(context: PipelineContext, key: string, step: string): Staged | undefined {
  const parsed = parseStagedKey(key);
  if (!parsed) log(context, { level: 'warn', step, key, message: 'ignored: not a staging/<game>/<upload>/<name> key' });
  return parsed ? { ...parsed, key } : undefined;
}

/** Copy verified staged bytes to their content key, create-only; an existing copy is the same bytes. */
async function publishContent(context: PipelineContext, from: string, etag: string, to: string, contentType: string): Promise<boolean> {
  try {
    await context.store.copy(from, to, { sourceIfMatch: etag, ifNoneMatch: '*', cacheControl: CONTENT_CACHE.cacheControl, contentType });
    return true;
  } catch (error) {
    // Content is addressed by digest: if it exists, it was verified by an earlier event.
    if (isLupError(error) && error.code === 'STORE_PRECONDITION_FAILED' && (await context.store.head(to))) return false;
    throw error;
  }
}

/** Resources up to this size are verified and written from memory; larger ones are copied. */
export const MAX_BUFFERED_RESOURCE_BYTES = 8 * 1024 * 1024;

/** Write verified bytes to their content key, create-only; false when the key already existed. */
async function putContent(context: PipelineContext, to: string, body: Uint8Array, contentType: string): Promise<boolean> {
  try {
    await context.store.put(to, body, { ifNoneMatch: '*', cacheControl: CONTENT_CACHE.cacheControl, contentType });
    return true;
  } catch (error) {
    if (!(isLupError(error) && error.code === 'STORE_PRECONDITION_FAILED')) throw error;
    return false;
  }
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

async function releaseAfter(context: PipelineContext, game: string, upload: string): Promise<ReleaseAttempt | undefined> {
  // Cheap guard before the full attempt: nothing can complete without a request (or an editor manifest).
  const marker = upload === EDITOR_UPLOAD ? keys.editorCandidate(game) : keys.releaseRequest(game, upload);
  if (!(await context.store.head(marker))) return undefined;
  return tryRelease(context, game, upload);
}

/** Step: a loose resource arrived (`staging/<game>/<upload>/<hexdigest>`). */
export async function onResourceArrived(context: PipelineContext, key: string): Promise<void> {
  const s = staged(context, key, 'resource');
  if (!s) return;
  const unknownGame = checkGameKnown(context, s.game);
  if (unknownGame) return quarantine(context, s, [unknownGame], 'resource');
  const target = keys.resource(s.game, s.name);
  const algorithm = algorithmForHexName(s.name);
  if (!algorithm) return quarantine(context, s, [resourceNameError(s.name, { key })], 'resource');
  const object = await context.store.getStream(key);
  if (!object) {
    // A duplicate, or a retry after the object was moved (by this event or by its release request).
    await releaseAfterLoose(context, s.game, s.upload);
    return;
  }
  const digester = new ResourceDigester(algorithm);
  // Small resources (nearly all) are kept while hashing and written from memory: the bytes served
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
  const stored = buffered <= MAX_BUFFERED_RESOURCE_BYTES
    ? await putContent(context, target, Buffer.concat(chunks), 'application/octet-stream')
    : await publishContent(context, key, object.info.etag, target, 'application/octet-stream');
  // The header receipt describes the bytes under content/: ours when we stored them, else the
  // stored object's own (the same digest stored earlier, maybe with another header).
  const storedHeader = stored ? { bytes: header, sizeBytes: payloadSizeBytes + RESOURCE_HEADER_BYTES } : await context.store.readPrefix(target, RESOURCE_HEADER_BYTES);
  if (storedHeader) {
    await context.store.put(keys.headerReceipt(s.game, s.name, toHex(storedHeader.bytes), storedHeader.sizeBytes - RESOURCE_HEADER_BYTES), new Uint8Array(0));
  }
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

/** Step: a manifest arrived (`staging/<game>/<upload>/*.dmanifest`). */
export async function onManifestArrived(context: PipelineContext, key: string): Promise<void> {
  const begun = await beginStep(context, key, 'manifest');
  if (!begun) return;
  const { s, rules } = begun;
  const info = await context.store.head(key);
  if (!info) {
    await releaseAfterLoose(context, s.game, s.upload);
    return;
  }
  if (info.sizeBytes > MAX_MANIFEST_BYTES) {
    return quarantine(context, s, [lupError({
      code: 'MANIFEST_TOO_LARGE', location: { key }, expected: `at most ${MAX_MANIFEST_BYTES} bytes`, actual: `${info.sizeBytes} bytes`,
      message: 'The manifest is larger than any Defold build produces; it is refused unread.',
    })], 'manifest');
  }
  const object = await context.store.get(key);
  if (!object) return;
  let errors: LupError[];
  let manifest;
  try {
    manifest = decodeManifest(object.body, { key });
    errors = [...validateManifest(manifest, rules.policy, { key }).errors, ...checkPin(rules, manifest)];
  } catch (error) {
    if (!isLupError(error)) throw error;
    errors = [error];
  }
  if (errors.length > 0 || !manifest) return quarantine(context, s, errors, 'manifest');
  const sha256 = createHasher('sha256').update(object.body).digest('hex');
  await putContent(context, keys.manifest(s.game, sha256), object.body, 'application/octet-stream');
  const at = context.clock.now().toISOString();
  await writeManifestReceipt(context, s.game, manifestReceiptOf(manifest, sha256, object.body.length, at));
  if (s.upload === EDITOR_UPLOAD) {
    // A build the sweeper failed (or refused) may be published again from the editor: start afresh.
    const previous = await readStatus(context, s.game, editorReleaseId(sha256));
    if (previous && (previous.state === 'failed' || previous.state === 'refused')) await context.store.delete(keys.status(s.game, editorReleaseId(sha256)));
    // The editor's manifest that arrived last is what it publishes.
    await updateJson<EditorCandidate>(context.store, keys.editorCandidate(s.game), (current) =>
      current && current.manifestSha256 === sha256 ? undefined : { schemaVersion: 1, manifestSha256: sha256, at },
    );
    await updateStatus(context, s.game, editorReleaseId(sha256), { message: 'manifest verified; waiting for its resources' });
  } else {
    await updateStatus(context, s.game, s.upload, { message: `manifest ${s.name} verified` });
  }
  // The editor rewrites the same key for every build: delete only the manifest that was verified,
  // not a newer one that landed meanwhile (its own event will process it).
  if ((await context.store.head(key))?.etag === object.etag) await context.store.delete(key);
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
  // Verify (random access) and hash the whole object (sequential) at the same time.
  const [report, sha256] = await Promise.all([
    verifyArchive(opened.source, { policy: rules.policy, location: { key } }),
    hashStream(opened.source),
  ]);
  const errors = [...report.errors, ...(report.manifest ? checkPin(rules, report.manifest) : [])];
  if (errors.length > 0 || !report.manifest || !report.manifestBytes || !report.manifestSha256) {
    return quarantine(context, s, errors, 'archive');
  }
  const at = context.clock.now().toISOString();
  await publishContent(context, key, opened.info.etag, keys.archive(s.game, sha256), 'application/zip');
  await putContent(context, keys.manifest(s.game, report.manifestSha256), report.manifestBytes, 'application/octet-stream');
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

async function hashStream(source: { sizeBytes: number; read(start: number, end: number): AsyncIterable<Uint8Array> }): Promise<string> {
  const hasher = createHasher('sha256');
  for await (const chunk of source.read(0, source.sizeBytes)) hasher.update(chunk);
  return hasher.digest('hex');
}

/** Step: a release request arrived (`staging/<game>/<upload>/release-request.json`). */
export async function onReleaseRequested(context: PipelineContext, key: string): Promise<void> {
  const s = staged(context, key, 'release');
  if (!s) return;
  if (s.upload === EDITOR_UPLOAD) {
    log(context, { level: 'warn', step: 'release', key, message: 'ignored: the editor folder releases automatically' });
    return;
  }
  await createJson<UploadStatus>(context.store, keys.status(s.game, s.upload), {
    schemaVersion: STATUS_SCHEMA_VERSION, game: s.game, upload: s.upload, state: 'pending', errors: [], events: [],
    createdAt: context.clock.now().toISOString(), updatedAt: context.clock.now().toISOString(),
  }, { cacheControl: 'no-store' }, uploadStatusCodec);
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
