/**
 * Assembling a release from receipts: what a release request (or the Defold editor's latest
 * manifest) names, checked to be verified and complete. Content verified by an earlier upload counts
 * without being sent again; content still staged is waited for.
 */
import { lupError, type LupError } from '../errors';
import { MANIFEST_NAME, RELEASE_REQUEST_NAME, keys } from '../keys';
import type { ReleaseRequest } from '../documents/release-request';
import type { ReleasedArchive } from '../documents/release-record';
import { isTerminal } from '../documents/upload-status';
import { routeFor } from '../../routes';
import { cdnUrl, type PipelineContext } from './context';
import { readJson } from './documents';
import { readManifestReceipt, verifiedArchive, verifiedManifest, type ManifestReceipt } from './receipts';
import { readStatus } from './status';
import { listReleasedResources, listVerifiedResources } from './verified';
import type { GameRules } from './game-policy';

/** The editor's latest verified manifest: what an editor upload releases. */
export interface EditorCandidate {
  readonly schemaVersion: 1;
  readonly manifestSha256: string;
  readonly at: string;
  /** When the editor's manifest object was written (the newest one wins, whatever order steps finish in). */
  readonly stagedAt?: string;
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

/** What a release would consist of, once complete. */
export interface Assembly {
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

export type AssemblyResult = { ok: true; assembly: Assembly } | { ok: false; attempt: ReleaseAttempt };

const waiting = (reason: string): AssemblyResult => ({ ok: false, attempt: { state: 'waiting', reason } });

function refuse(errors: LupError[]): AssemblyResult {
  return { ok: false, attempt: { state: 'refused', errors } };
}

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
export async function stagingBusy(context: PipelineContext, game: string, upload: string): Promise<boolean> {
  const probe = await context.store.list(keys.uploadPrefix(game, upload), { limit: BUSY_PROBE_KEYS });
  if (probe.some((o) => isStepObject(o.key))) return true;
  if (probe.length < BUSY_PROBE_KEYS) return false;
  const staged = await context.store.list(keys.uploadPrefix(game, upload), { limit: BUSY_SCAN_KEYS });
  return staged.some((o) => isStepObject(o.key));
}

/** The needed resource digests that are neither released nor verified and waiting. */
export async function resourcesAbsent(context: PipelineContext, game: string, needed: readonly string[]): Promise<string[]> {
  if (needed.length === 0) return [];
  const [released, waitingResources] = await Promise.all([listReleasedResources(context, game), listVerifiedResources(context, game)]);
  return needed.filter((d) => !released.has(d) && !waitingResources.has(d));
}

function missingError(game: string, upload: string, missing: readonly string[]): LupError {
  return lupError({
    code: 'RESOURCE_MISSING', location: { key: keys.uploadPrefix(game, upload) },
    expected: 'every EXCLUDED resource of the manifest verified', actual: `${missing.length} missing: ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ', …' : ''}`,
    message: `${missing.length} resource(s) the manifest needs were never uploaded or were refused; upload them with the manifest.`,
  });
}

/** Assemble a release from its request. Called only once nothing is staged any more, so what is absent never arrived. */
export async function assembleFromRequest(context: PipelineContext, request: ReleaseRequest): Promise<AssemblyResult> {
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
    const archives = request.archives.map((a, i): ReleasedArchive => {
      const path = keys.archive(game, a.sha256);
      return { name: a.name, priority: a.priority, path, url: cdnUrl(context, path), sha256: a.sha256, sizeBytes: receipts[i]!.sizeBytes };
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
  const missing = await resourcesAbsent(context, game, manifest.excluded);
  if (missing.length > 0) return refuse([missingError(game, upload, missing)]);
  return { ok: true, assembly: { ...base, manifest, manifests: [manifest.sha256], archives: [], resources: manifest.excluded } };
}

/** Assemble the release of the editor's latest manifest, once every resource it needs is verified. */
export async function assembleEditor(context: PipelineContext, rules: GameRules): Promise<AssemblyResult> {
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
  const missing = await resourcesAbsent(context, rules.game, manifest.excluded);
  if (missing.length > 0) return waiting(`${missing.length} resource(s) not verified yet (none staged)`);
  const channel = rules.autoReleaseChannel ?? '';
  return {
    ok: true,
    assembly: { releaseId, channel, requestId: `release:${rules.game}:${releaseId}`, kind: 'loose', manifest, manifests: [manifest.sha256], archives: [], resources: manifest.excluded },
  };
}

/** What an incomplete upload still lacks: archive names or resource digests (for the sweeper's report). */
export async function missingFor(context: PipelineContext, game: string, upload: string, request: ReleaseRequest | undefined): Promise<string[]> {
  if (upload.startsWith('editor-')) {
    const candidate = (await readJson<EditorCandidate>(context.store, keys.editorCandidate(game)))?.value;
    const manifest = candidate && (await readManifestReceipt(context, game, candidate.manifestSha256));
    return manifest ? resourcesAbsent(context, game, manifest.excluded) : [];
  }
  if (!request) return [RELEASE_REQUEST_NAME];
  if (request.kind === 'archives') {
    const receipts = await Promise.all(request.archives.map((a) => verifiedArchive(context, game, a.sha256)));
    return request.archives.filter((_, i) => !receipts[i]).map((a) => a.name);
  }
  const manifest = await verifiedManifest(context, game, request.manifestSha256 as string);
  return manifest ? resourcesAbsent(context, game, manifest.excluded) : [MANIFEST_NAME];
}
