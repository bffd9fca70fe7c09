/**
 * Completing a release (invariant I4, order-free): every step that may have delivered the last
 * missing piece calls {@link tryRelease}. It does nothing until the release request (or, for the
 * Defold editor, a verified manifest) exists and all of its content is verified; then it writes the
 * immutable release record and flips the channel. Whichever step gets there first does it; the
 * others find the upload live (status) or the flip already applied (pointer history).
 */
import { lupError, type LupError } from '../errors';
import { EDITOR_UPLOAD, MANIFEST_NAME, RELEASE_REQUEST_NAME, keys } from '../keys';
import { parseReleaseRequest, type ReleaseRequest } from '../documents/release-request';
import { RELEASE_SCHEMA_VERSION, releaseRecordCodec, type ReleaseRecord, type ReleasedArchive } from '../documents/release-record';
import pLimit from 'p-limit';
import { decodeManifest } from '../format/manifest-codec';
import { isExcluded, type Manifest } from '../format/manifest';
import { RESOURCE_HEADER_BYTES } from '../format/resource-header';
import { validateContent, type ResourceObservation } from '../format/validate-content';
import { validateManifest } from '../format/validate-manifest';
import { routeFor } from '../../routes';
import { isTerminal } from '../documents/upload-status';
import { cdnUrl, log, type PipelineContext } from './context';
import { createJson, readJson } from './documents';
import { flipChannel } from './flip';
import { checkChannel, checkPin, checkPublisherChannel, pinGame, resolveGame, type GameRules } from './game-policy';
import { readManifestReceipt, verifiedArchive, verifiedManifest, type ManifestReceipt } from './receipts';
import { readStatus, updateStatus } from './status';

/** The editor's latest verified manifest: what an editor upload releases. */
export interface EditorCandidate {
  readonly schemaVersion: 1;
  readonly manifestSha256: string;
  readonly at: string;
}

/** The release id of an editor upload: one per manifest, so a re-upload of the same build is a no-op. */
export function editorReleaseId(manifestSha256: string): string {
  return `editor-${manifestSha256.slice(0, 16)}`;
}

/** The outcome of a release attempt. */
export type ReleaseAttempt =
  | { readonly state: 'waiting'; readonly reason: string }
  | { readonly state: 'live'; readonly releaseId: string; readonly sequence: number }
  | { readonly state: 'verified'; readonly releaseId: string }
  | { readonly state: 'refused'; readonly errors: readonly LupError[] };

function isStepObject(key: string): boolean {
  const step = routeFor(key);
  return step === 'resource' || step === 'archive' || step === 'manifest';
}

/** Keys listed by the first, cheap look of {@link stagingBusy}. */
const BUSY_PROBE_KEYS = 2;
/** Keys listed by the full look of {@link stagingBusy}. */
const BUSY_SCAN_KEYS = 100;

/**
 * True when staged objects of the upload are still waiting for their step: one of the first
 * {@link BUSY_SCAN_KEYS} keys of the upload folder is routed to a step. Every release attempt asks
 * this (for the editor's folder, every resource event), so it first lists only
 * {@link BUSY_PROBE_KEYS} keys (hex-named resources sort before `release-request.json`, so while
 * resources wait, the first key is one): a local S3 server reads every listed object's metadata,
 * which made the 100-key listing the costliest request of a loose publish (bench/profile-publish.ts).
 * The answer is the same as the full look's: a step key among the first two is among the first
 * hundred, and a folder with fewer than two keys has been listed completely.
 */
async function stagingBusy(context: PipelineContext, game: string, upload: string): Promise<boolean> {
  const probe = await context.store.list(keys.uploadPrefix(game, upload), { limit: BUSY_PROBE_KEYS });
  if (probe.some((o) => isStepObject(o.key))) return true;
  if (probe.length < BUSY_PROBE_KEYS) return false;
  const staged = await context.store.list(keys.uploadPrefix(game, upload), { limit: BUSY_SCAN_KEYS });
  return staged.some((o) => isStepObject(o.key));
}

async function resourcesPresent(context: PipelineContext, game: string, needed: readonly string[]): Promise<string[]> {
  if (needed.length === 0) return [];
  let present: Set<string>;
  if (needed.length <= 20) {
    const heads = await Promise.all(needed.map((d) => context.store.head(keys.resource(game, d))));
    present = new Set(needed.filter((_, i) => heads[i] !== undefined));
  } else {
    const listed = await context.store.list(keys.resourcesPrefix(game));
    const prefixLength = keys.resourcesPrefix(game).length;
    present = new Set(listed.map((o) => o.key.slice(prefixLength)));
  }
  return needed.filter((d) => !present.has(d));
}

/** What a release would consist of, once complete. */
interface Assembly {
  readonly releaseId: string;
  readonly channel: string;
  readonly requestId: string;
  readonly kind: 'archives' | 'loose';
  readonly manifest: ManifestReceipt;
  /** Every distinct manifest of the release (one per archive, or the loose one), release manifest first. */
  readonly manifests: readonly string[];
  readonly archives: readonly ReleasedArchive[];
  readonly resources: readonly string[];
  readonly publicKey?: string;
  readonly note?: string;
}

type AssemblyResult = { ok: true; assembly: Assembly } | { ok: false; attempt: ReleaseAttempt };

const waiting = (reason: string): AssemblyResult => ({ ok: false, attempt: { state: 'waiting', reason } });

/** Assemble a release from its request. Called only once nothing is staged any more, so what is absent never arrived. */
async function assembleFromRequest(context: PipelineContext, request: ReleaseRequest): Promise<AssemblyResult> {
  const { game, upload } = request;
  const base = { releaseId: upload, channel: request.channel, requestId: `release:${game}:${upload}`, kind: request.kind, publicKey: request.publicKey, note: request.note };
  if (request.kind === 'archives') {
    const receipts = await Promise.all(request.archives.map((a) => verifiedArchive(context, game, a.sha256)));
    const absent = request.archives.filter((_, i) => !receipts[i]);
    if (absent.length > 0) {
      return refuse(absent.map((a) => lupError({
        code: 'RELEASE_INCOMPLETE', location: { key: keys.staged(game, upload, a.name), entry: a.name },
        expected: `a verified archive with SHA-256 ${a.sha256}`, actual: 'none arrived (or it had other bytes)',
        message: `Archive ${a.name} named in the release request never arrived with the bytes the request declares; upload it again with lup publish.`,
      })));
    }
    // The release's manifest is the one of the highest-priority archive (mounted first, wins lookups).
    const ordered = request.archives
      .map((a, i) => ({ a, r: receipts[i]! }))
      .sort((x, y) => y.a.priority - x.a.priority);
    const mismatched = ordered.filter((o) => o.r.manifest.projectIdentifier !== ordered[0].r.manifest.projectIdentifier);
    if (mismatched.length > 0) {
      return refuse(mismatched.map((o) => lupError({
        code: 'MANIFEST_PROJECT_MISMATCH', location: { entry: o.a.name, field: 'data.header.project_identifier' },
        expected: ordered[0].r.manifest.projectIdentifier, actual: o.r.manifest.projectIdentifier,
        message: `Archive ${o.a.name} was built from another project than the other archives of the release.`,
      })));
    }
    const inArchives = new Set(ordered.flatMap((o) => o.r.resources));
    const missing = ordered[0].r.manifest.excluded.filter((d) => !inArchives.has(d));
    if (missing.length > 0) {
      return refuse([lupError({
        code: 'RESOURCE_MISSING', location: { field: 'archives' }, expected: 'every EXCLUDED resource of the manifest in one of the archives',
        actual: `${missing.length} missing: ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ', …' : ''}`,
        message: `The release's archives lack ${missing.length} resource(s) the manifest needs; publish every archive bob produced together.`,
      })]);
    }
    const archives = request.archives.map((a): ReleasedArchive => {
      const path = keys.archive(game, a.sha256);
      return { name: a.name, priority: a.priority, path, url: cdnUrl(context, path), sha256: a.sha256, sizeBytes: receipts[request.archives.indexOf(a)]!.sizeBytes };
    });
    const manifests = [...new Set(ordered.map((o) => o.r.manifest.sha256))];
    return { ok: true, assembly: { ...base, manifest: ordered[0].r.manifest, manifests, archives, resources: [] } };
  }
  const manifest = await verifiedManifest(context, game, request.manifestSha256 as string);
  if (!manifest) {
    return refuse([lupError({
      code: 'RELEASE_INCOMPLETE', location: { key: keys.staged(game, upload, MANIFEST_NAME) },
      expected: `a verified manifest with SHA-256 ${request.manifestSha256}`, actual: 'none arrived',
      message: `The manifest named in the release request never arrived; upload ${MANIFEST_NAME} with the resources.`,
    })]);
  }
  const missing = await resourcesPresent(context, game, manifest.excluded);
  if (missing.length > 0) return refuse([missingError(game, upload, missing)]);
  return { ok: true, assembly: { ...base, manifest, manifests: [manifest.sha256], archives: [], resources: manifest.excluded } };
}

function missingError(game: string, upload: string, missing: readonly string[]): LupError {
  return lupError({
    code: 'RESOURCE_MISSING', location: { key: keys.uploadPrefix(game, upload) },
    expected: 'every EXCLUDED resource of the manifest verified', actual: `${missing.length} missing: ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ', …' : ''}`,
    message: `${missing.length} resource(s) the manifest needs were never uploaded or were refused; upload them with the manifest.`,
  });
}

function refuse(errors: LupError[]): AssemblyResult {
  return { ok: false, attempt: { state: 'refused', errors } };
}

async function assembleEditor(context: PipelineContext, rules: GameRules): Promise<AssemblyResult> {
  const candidate = (await readJson<EditorCandidate>(context.store, keys.editorCandidate(rules.game)))?.value;
  if (!candidate) return waiting('no verified manifest from the editor yet');
  const releaseId = editorReleaseId(candidate.manifestSha256);
  const status = await readStatus(context, rules.game, releaseId);
  if (status && isTerminal(status.state)) {
    // Already decided: later events of the same build change nothing (and invalidate nothing).
    return { ok: false, attempt: status.state === 'live' ? { state: 'live', releaseId, sequence: status.sequence ?? 0 } : { state: 'waiting', reason: `already ${status.state}` } };
  }
  const manifest = await verifiedManifest(context, rules.game, candidate.manifestSha256);
  if (!manifest) return waiting('manifest receipt not written yet');
  // The editor uploads in any order and never says it is done: wait until every needed resource is verified.
  const missing = await resourcesPresent(context, rules.game, manifest.excluded);
  if (missing.length > 0) return waiting(`${missing.length} resource(s) not verified yet (none staged)`);
  const channel = rules.autoReleaseChannel ?? '';
  return {
    ok: true,
    assembly: { releaseId, channel, requestId: `release:${rules.game}:${releaseId}`, kind: 'loose', manifest, manifests: [manifest.sha256], archives: [], resources: manifest.excluded },
  };
}

/** Try to complete the release of an upload. Safe to call any number of times, from any step. */
export async function tryRelease(context: PipelineContext, game: string, upload: string): Promise<ReleaseAttempt> {
  const resolved = await resolveGame(context, game);
  if (!resolved.ok) return { state: 'refused', errors: [resolved.error] };
  const rules = resolved.rules;
  const editor = upload === EDITOR_UPLOAD;
  const statusUpload = editor ? undefined : upload;
  // Cheapest check first: while staged content still waits for its step, that step will try again.
  const busy = await stagingBusy(context, game, upload);
  if (busy) return { state: 'waiting', reason: 'staged content still being verified' };
  if (statusUpload) {
    const status = await readStatus(context, game, statusUpload);
    if (status && isTerminal(status.state)) {
      if (status.state === 'live') {
        // A retry after a crash between "live" and the cleanup: finish the cleanup.
        await context.store.delete(keys.releaseRequest(game, upload));
        return { state: 'live', releaseId: status.releaseId ?? upload, sequence: status.sequence ?? 0 };
      }
      // Refused by a step before the request arrived (or timed out): the request is discarded too.
      await discardReleaseRequest(context, game, upload);
      return { state: 'refused', errors: [] };
    }
  }
  let request: ReleaseRequest | undefined;
  if (!editor) {
    const object = await context.store.get(keys.releaseRequest(game, upload));
    if (!object) return { state: 'waiting', reason: 'no release request yet' };
    const parsed = parseReleaseRequest(object.body, { key: keys.releaseRequest(game, upload) });
    if (!parsed.ok) return finishRefused(context, game, upload, parsed.errors);
    request = parsed.request;
    if (request.game !== game || request.upload !== upload) {
      return finishRefused(context, game, upload, [lupError({
        code: 'RELEASE_REQUEST_INVALID', location: { key: keys.releaseRequest(game, upload), field: 'game/upload' },
        expected: `${game}/${upload} (its folder)`, actual: `${request.game}/${request.upload}`,
        message: 'The release request names another game or upload than the folder it was written to.',
      })]);
    }
    const channelError = checkChannel(rules, request.channel) ?? checkPublisherChannel(rules, request.channel);
    if (channelError) return finishRefused(context, game, upload, [channelError]);
  }
  const assembled = request ? await assembleFromRequest(context, request) : await assembleEditor(context, rules);
  if (!assembled.ok) {
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
  const manifests = await Promise.all(assembly.manifests.map((sha) => readVerifiedManifest(context, game, sha)));
  const manifest = manifests[0];
  const policyErrors = manifests.flatMap((m, i) => [
    ...validateManifest(m, rules.policy, { key: keys.manifest(game, assembly.manifests[i]) }).errors,
    ...checkPin(rules, m),
  ]);
  if (assembly.kind === 'loose') policyErrors.push(...(await checkLooseHeaders(context, game, manifest)));
  if (policyErrors.length > 0) return finishRefused(context, game, statusKey, policyErrors);
  if (!assembly.channel) {
    await updateStatus(context, game, statusKey, { state: 'verified', releaseId: assembly.releaseId, message: 'verified; the game has no autoReleaseChannel, so nothing was released' });
    return { state: 'verified', releaseId: assembly.releaseId };
  }
  const raceErrors = await pinGame(context, rules, manifest, assembly.releaseId, assembly.publicKey);
  if (raceErrors.length > 0) return finishRefused(context, game, statusKey, raceErrors);
  const release = await writeReleaseRecord(context, game, upload, assembly);
  const { pointer } = await flipChannel(context, { game, channel: assembly.channel, release, requestId: assembly.requestId, cause: 'release' });
  const sequence = pointer.history.find((h) => h.requestId === assembly.requestId)?.sequence ?? pointer.sequence;
  await updateStatus(context, game, statusKey, {
    state: 'live', channel: assembly.channel, releaseId: release.releaseId, sequence, pointerPath: keys.pointer(game, assembly.channel),
    message: `live on ${assembly.channel} (sequence ${sequence})`,
  });
  if (!editor) await context.store.delete(keys.releaseRequest(game, upload));
  return { state: 'live', releaseId: release.releaseId, sequence };
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

async function readVerifiedManifest(context: PipelineContext, game: string, sha256: string): Promise<Manifest> {
  const key = keys.manifest(game, sha256);
  const object = await context.store.get(key);
  if (!object) throw lupError({ code: 'INTERNAL', location: { key }, message: 'A verified manifest is missing from content/; the release is retried.' });
  return decodeManifest(object.body, { key });
}

/** Headers read from content/ at once, for resources without a header receipt. */
const HEADER_READ_CONCURRENCY = 32;

/**
 * Loose resources are verified by their payload digest when they arrive, before their manifest may
 * be known; the 16-byte header (sizes, flags) can only be checked against the manifest here. One
 * listing of the header receipts gives them all; a resource without a receipt (stored before
 * receipts existed) is read from content/ itself.
 */
async function checkLooseHeaders(context: PipelineContext, game: string, manifest: Manifest): Promise<LupError[]> {
  const prefix = keys.headerReceiptsPrefix(game);
  const receipts = new Map<string, { header: Uint8Array; payloadSizeBytes: number }>();
  for (const o of await context.store.list(prefix)) {
    const [digest, headerHex, size] = o.key.slice(prefix.length).split('.');
    if (digest && headerHex?.length === RESOURCE_HEADER_BYTES * 2 && size) receipts.set(digest, { header: Buffer.from(headerHex, 'hex'), payloadSizeBytes: Number(size) });
  }
  const limit = pLimit(HEADER_READ_CONCURRENCY);
  const needed = [...new Set(manifest.resources.filter(isExcluded).map((e) => e.hash))];
  const observations = await Promise.all(needed.map((hash) => limit(async (): Promise<ResourceObservation | undefined> => {
    const key = keys.resource(game, hash);
    const known = receipts.get(hash) ?? await (async () => {
      const read = await context.store.readPrefix(key, RESOURCE_HEADER_BYTES);
      return read && { header: read.bytes, payloadSizeBytes: read.sizeBytes - RESOURCE_HEADER_BYTES };
    })();
    return known && { name: hash, digest: hash, ...known, location: { key } };
  })));
  return validateContent(manifest, observations.filter((o): o is ResourceObservation => o !== undefined), { requireComplete: true }).errors;
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

/** What an incomplete upload still lacks: archive names or resource digests (for the sweeper's report). */
export async function missingFor(context: PipelineContext, game: string, upload: string): Promise<string[]> {
  if (upload.startsWith('editor-')) {
    const candidate = (await readJson<EditorCandidate>(context.store, keys.editorCandidate(game)))?.value;
    const manifest = candidate && (await readManifestReceipt(context, game, candidate.manifestSha256));
    return manifest ? resourcesPresent(context, game, manifest.excluded) : [];
  }
  const object = await context.store.get(keys.releaseRequest(game, upload));
  if (!object) return [RELEASE_REQUEST_NAME];
  const parsed = parseReleaseRequest(object.body, { key: keys.releaseRequest(game, upload) });
  if (!parsed.ok) return [];
  const request = parsed.request;
  if (request.kind === 'archives') {
    const receipts = await Promise.all(request.archives.map((a) => verifiedArchive(context, game, a.sha256)));
    return request.archives.filter((_, i) => !receipts[i]).map((a) => a.name);
  }
  const manifest = await verifiedManifest(context, game, request.manifestSha256 as string);
  return manifest ? resourcesPresent(context, game, manifest.excluded) : [MANIFEST_NAME];
}
