/**
 * Completing a release (invariant I4, order-free): every step that may have delivered the last
 * missing piece calls {@link tryRelease}. It does nothing until the release request (or, for the
 * Defold editor, a verified manifest) exists and all of its content is verified; then it checks the
 * release against the game's rules as they are now, writes the immutable release record, copies the
 * release's content to `content/` and flips the channel. Whichever step gets there first does it;
 * the others find the upload live (status) or the flip already applied (flip record).
 */
import { routeFor } from '../../routes';
import { lupError, type LupError } from '../errors';
import { EDITOR_UPLOAD, RELEASE_REQUEST_NAME, keys } from '../keys';
import { MAX_RELEASE_REQUEST_BYTES, parseReleaseRequest, type ReleaseRequest } from '../documents/release-request';
import { RELEASE_SCHEMA_VERSION, releaseRecordCodec, type ReleaseRecord } from '../documents/release-record';
import { validateManifest } from '../format/validate-manifest';
import { isTerminal } from '../documents/upload-status';
import { cdnUrl, log, type PipelineContext } from './context';
import { createJson, readJson } from './documents';
import { applyFlip, completeFlip } from './flip';
import { claimContent } from './gc-marks';
import { releaseContentKeys } from './gc';
import { checkChannel, checkKeyToPin, checkPin, checkPublisherChannel, gcGraceMinutes, pinGame, resolveGame } from './game-policy';
import { releaseCopies, planLooseRelease, publishRelease, type PublishCopy } from './publish-release';
import { assembleEditor, assembleFromRequest, stagingBusy, type Assembly, type ReleaseAttempt } from './assemble';
import { markFollowUpsDone, readStatus, updateStatus } from './status';
import { readStoredManifest } from './verified';

export { editorReleaseId, missingFor, type EditorCandidate, type ReleaseAttempt } from './assemble';

/**
 * Read an upload's release request, bounded: a request larger than any `lup publish` writes is
 * refused unread (the publisher controls this object). `undefined` when there is none.
 */
export async function readReleaseRequest(context: PipelineContext, game: string, upload: string): Promise<{ ok: true; request: ReleaseRequest } | { ok: false; errors: LupError[] } | undefined> {
  const key = keys.releaseRequest(game, upload);
  const read = await context.store.readPrefix(key, MAX_RELEASE_REQUEST_BYTES + 1);
  if (!read) return undefined;
  if (read.sizeBytes > MAX_RELEASE_REQUEST_BYTES) {
    return { ok: false, errors: [lupError({
      code: 'RELEASE_REQUEST_INVALID', location: { key }, expected: `at most ${MAX_RELEASE_REQUEST_BYTES} bytes`, actual: `${read.sizeBytes} bytes`,
      message: 'The release request is larger than any lup publish writes; it was refused unread.',
    })] };
  }
  const parsed = parseReleaseRequest(read.bytes, { key });
  if (!parsed.ok) return parsed;
  const request = parsed.request;
  if (request.game !== game || request.upload !== upload) {
    return { ok: false, errors: [lupError({
      code: 'RELEASE_REQUEST_INVALID', location: { key, field: 'game/upload' },
      expected: `${game}/${upload} (its folder)`, actual: `${request.game}/${request.upload}`,
      message: 'The release request names another game or upload than the folder it was written to.',
    })] };
  }
  return parsed;
}

/** Try to complete the release of an upload. Safe to call any number of times, from any step. */
export async function tryRelease(context: PipelineContext, game: string, upload: string): Promise<ReleaseAttempt> {
  const resolved = await resolveGame(context, game);
  if (!resolved.ok) return { state: 'refused', errors: [resolved.error] };
  const rules = resolved.rules;
  const editor = upload === EDITOR_UPLOAD;
  const statusUpload = editor ? undefined : upload;
  // Cheapest check first: while staged content still waits for its step, that step will try again.
  if (await stagingBusy(context, game, upload)) return { state: 'waiting', reason: 'staged content still being verified' };
  if (statusUpload) {
    const status = await readStatus(context, game, statusUpload);
    if (status && isTerminal(status.state)) {
      if (status.state === 'live') {
        // The request is deleted only after the follow-ups succeeded: while it is still there, a
        // retry comes after a failure between the flip and the end of its follow-ups; finish them.
        if (status.channel && (await context.store.head(keys.releaseRequest(game, upload)))) {
          await completeFlip(context, game, status.channel);
          await finishUpload(context, game, upload);
        }
        return { state: 'live', releaseId: status.releaseId ?? upload, sequence: status.sequence ?? 0 };
      }
      // Refused by a step before the request arrived (or timed out): the request is discarded too.
      await discardReleaseRequest(context, game, upload);
      return { state: 'refused', errors: [] };
    }
  }
  let request: ReleaseRequest | undefined;
  if (!editor) {
    const read = await readReleaseRequest(context, game, upload);
    if (!read) return { state: 'waiting', reason: 'no release request yet' };
    if (!read.ok) return finishRefused(context, game, upload, read.errors);
    request = read.request;
    const channelError = checkChannel(rules, request.channel) ?? checkPublisherChannel(rules, request.channel);
    if (channelError) return finishRefused(context, game, upload, [channelError]);
  }
  const assembled = request ? await assembleFromRequest(context, request) : await assembleEditor(context, rules);
  if (!assembled.ok) {
    // An editor build already live: a retried event finishes the flip's follow-ups (idempotent).
    if (editor && assembled.attempt.state === 'live' && rules.autoReleaseChannel) await completeFlip(context, game, rules.autoReleaseChannel);
    if (assembled.attempt.state === 'refused') return finishRefused(context, game, upload, [...assembled.attempt.errors]);
    if (statusUpload && assembled.attempt.state === 'waiting') {
      await updateStatus(context, game, statusUpload, { message: `waiting: ${assembled.attempt.reason}` });
    }
    return assembled.attempt;
  }
  const assembly = assembled.assembly;
  const statusKey = editor ? assembly.releaseId : upload;
  // Everything the release serves is checked against the game's rules as they are now (I5): a
  // receipt proves the bytes, not that today's configuration (or the development pin) accepts them.
  const manifests = await Promise.all(assembly.manifests.map((sha) => readStoredManifest(context, game, sha)));
  const manifest = manifests[0];
  const policyErrors = manifests.flatMap((m, i) => [
    ...validateManifest(m, rules.policy, { key: keys.manifest(game, assembly.manifests[i]) }).errors,
    ...checkPin(rules, m),
  ]);
  if (assembly.publicKey !== undefined && !rules.config) policyErrors.push(...checkKeyToPin(manifest, assembly.publicKey));
  let copies: PublishCopy[] = [];
  if (assembly.kind === 'loose') {
    const plan = await planLooseRelease(context, game, manifest);
    policyErrors.push(...plan.errors);
    copies = plan.copies;
  }
  if (policyErrors.length > 0) return finishRefused(context, game, statusKey, policyErrors);
  if (!assembly.channel) {
    await updateStatus(context, game, statusKey, { state: 'verified', releaseId: assembly.releaseId, message: 'verified; the game has no autoReleaseChannel, so nothing was released' });
    return { state: 'verified', releaseId: assembly.releaseId };
  }
  const raceErrors = await pinGame(context, rules, manifest, assembly.releaseId, assembly.publicKey);
  if (raceErrors.length > 0) return finishRefused(context, game, statusKey, raceErrors);
  const release = await writeReleaseRecord(context, game, upload, assembly);
  copies = releaseCopies(game, release, copies);
  // Take the content back from garbage collection before copying it (gc-marks.ts), then make it
  // servable, then flip. A flip record makes a retried flip a no-op however late it comes.
  let flip;
  try {
    await claimContent(context, game, [...releaseContentKeys(release), ...copies.map((c) => c.from)]);
    await publishRelease(context, copies);
    flip = await applyFlip(context, { game, channel: assembly.channel, release, requestId: assembly.requestId, cause: 'release', gcGraceMinutes: gcGraceMinutes(rules) });
  } catch (error) {
    if ((error as LupError).code === 'RELEASE_INCOMPLETE') return finishRefused(context, game, statusKey, [error as LupError]);
    throw error;
  }
  await updateStatus(context, game, statusKey, {
    state: 'live', channel: assembly.channel, releaseId: release.releaseId, sequence: flip.sequence, pointerPath: keys.pointer(game, assembly.channel),
    message: `live on ${assembly.channel} (sequence ${flip.sequence})`,
  });
  // The request goes last: while it exists, a retried event comes back here to finish the follow-ups.
  // (The editor's folder has no request: a crash before its leftovers go leaves them to the next build.)
  await completeFlip(context, game, assembly.channel);
  await finishUpload(context, game, upload);
  return { state: 'live', releaseId: release.releaseId, sequence: flip.sequence };
}

/** After a live release: the request is done with, and so is whatever no step will read. */
async function finishUpload(context: PipelineContext, game: string, upload: string): Promise<void> {
  await removeLeftovers(context, game, upload);
  if (upload === EDITOR_UPLOAD) return;
  await markFollowUpsDone(context, game, upload);
  await context.store.delete(keys.releaseRequest(game, upload));
  await context.store.delete(keys.pendingUpload(game, upload));
}

/**
 * Remove what stays in a released upload's folder that no step will ever read: files no route
 * matches (a `version_levels.json` or other custom file kept beside the entries; only zips carry
 * custom files to players) and, in the editor's folder, a release request (ignored there). Nothing
 * of them is served. Routed objects are left to their own events: in the editor's folder they may
 * be the next build arriving. Without this, they would stay until the bucket's staging lifecycle
 * expiry (on AWS) or for ever (local stack).
 */
async function removeLeftovers(context: PipelineContext, game: string, upload: string): Promise<void> {
  const leftovers = (await context.store.list(keys.uploadPrefix(game, upload))).filter((o) => {
    const step = routeFor(o.key);
    return step === undefined || (upload === EDITOR_UPLOAD && step === 'release');
  });
  if (leftovers.length === 0) return;
  await Promise.all(leftovers.map((o) => context.store.delete(o.key)));
  const names = leftovers.map((o) => o.key.slice(keys.uploadPrefix(game, upload).length));
  log(context, { level: 'warn', step: 'release', game, upload, message: `not part of the release (no step reads them), removed from staging: ${names.slice(0, 10).join(', ')}${names.length > 10 ? ', …' : ''}` });
}

async function writeReleaseRecord(context: PipelineContext, game: string, upload: string, assembly: Assembly): Promise<ReleaseRecord> {
  const manifestPath = keys.manifest(game, assembly.manifest.sha256);
  const resourcesPath = keys.resourcesPrefix(game);
  const record: ReleaseRecord = {
    schemaVersion: RELEASE_SCHEMA_VERSION,
    game,
    releaseId: assembly.releaseId,
    upload,
    kind: assembly.kind,
    createdAt: context.clock.now().toISOString(),
    manifest: { path: manifestPath, url: cdnUrl(context, manifestPath), sha256: assembly.manifest.sha256, sizeBytes: assembly.manifest.sizeBytes, schema: assembly.manifest.schema },
    archives: assembly.archives,
    resourcesBase: { path: resourcesPath, url: cdnUrl(context, resourcesPath) },
    resources: assembly.resources,
    engineVersions: assembly.manifest.engineVersions,
    projectIdentifier: assembly.manifest.projectIdentifier,
    ...(assembly.note ? { note: assembly.note } : {}),
  };
  // Create-only: a retried attempt finds the record of the first and uses it unchanged.
  if (await createJson(context.store, keys.release(game, assembly.releaseId), record, {}, releaseRecordCodec)) return record;
  const existing = await readJson(context.store, keys.release(game, assembly.releaseId), releaseRecordCodec);
  return existing?.value ?? record;
}

/** Move a refused upload's release request out of staging (kept in quarantine for operators). */
export async function discardReleaseRequest(context: PipelineContext, game: string, upload: string): Promise<void> {
  if (upload === EDITOR_UPLOAD) return;
  const request = await context.store.head(keys.releaseRequest(game, upload));
  if (!request) return;
  await context.store.copy(keys.releaseRequest(game, upload), keys.quarantine(game, upload, RELEASE_REQUEST_NAME), { sourceIfMatch: request.etag });
  await context.store.delete(keys.releaseRequest(game, upload));
}

async function finishRefused(context: PipelineContext, game: string, upload: string, errors: LupError[]): Promise<ReleaseAttempt> {
  if (upload !== EDITOR_UPLOAD) {
    await updateStatus(context, game, upload, { state: 'refused', errors, message: 'release refused' });
    await discardReleaseRequest(context, game, upload);
  }
  for (const error of errors.slice(0, 5)) log(context, { level: 'warn', step: 'release', game, upload, code: error.code, message: error.message });
  return { state: 'refused', errors };
}
