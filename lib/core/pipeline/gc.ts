/**
 * Garbage collection of a game's content: released content (`content/<game>/`) that no retained
 * release references, and verified content that no release took (`state/<game>/_verified/`), once
 * older than the retention age. Deleting is the one mistake gc cannot undo, so:
 *
 * - it refuses (deleting nothing) when any reference cannot be read (`GC_INCOMPLETE_VIEW`);
 * - it deletes nothing on first sight: a run *marks* what it finds unreferenced, and a later run
 *   deletes what is still unreferenced after the grace period (`gc-marks.ts` says why this is safe
 *   while releases run); releases take back marked content before they serve it.
 */
import { DEFAULT_RETENTION } from '../config';
import { lupError } from '../errors';
import { keys } from '../keys';
import type { ChannelPointer, FlipEntry } from '../documents/pointer';
import type { ReleaseRecord } from '../documents/release-record';
import { log, type PipelineContext } from './context';
import { readJson } from './documents';
import { forgetDeleted, markUnreferenced } from './gc-marks';
import { readPointer, readRelease } from './records';
import { resolveGame } from './game-policy';

/** What garbage collection found, marked and deleted. */
export interface GcReport {
  readonly game: string;
  /** False for a dry run: nothing was marked or deleted. */
  readonly applied: boolean;
  /** Objects looked at (released and verified-but-unreleased content). */
  readonly scanned: number;
  readonly referenced: number;
  /** Objects no retained release references and older than the retention age. */
  readonly unreferenced: readonly { readonly key: string; readonly sizeBytes: number }[];
  readonly reclaimableBytes: number;
  readonly retainedReleases: readonly string[];
  /** Deleted by this run: marked by an earlier run at least `graceMinutes` ago and still unreferenced. */
  readonly deleted: readonly string[];
  /** Marked and waiting for the grace period; a later run deletes them if they are still unreferenced. */
  readonly marked: readonly string[];
  /** Minutes between marking and deleting (0: a run deletes what it marks). */
  readonly graceMinutes: number;
  /** Days content and releases are kept whatever references them (0: none is kept for its age). */
  readonly minAgeDays: number;
}

/** Run garbage collection for a game. A dry run (`apply` false) writes nothing. */
export async function collectGarbage(context: PipelineContext, game: string, apply: boolean): Promise<GcReport> {
  const resolved = await resolveGame(context, game);
  const retention = resolved.ok && resolved.rules.config ? resolved.rules.config.retention : DEFAULT_RETENTION;
  const now = context.clock.now().getTime();
  const minAgeMs = retention.minAgeDays * 86_400_000;
  const graceMs = retention.gcGraceMinutes * 60_000;

  const { referenced, retained } = await readReferences(context, game, retention.releasesPerChannel, minAgeMs);
  const candidates = [
    ...(await context.store.list(keys.contentPrefix(game))),
    ...(await context.store.list(keys.verifiedPrefix(game))),
  ];
  const unreferenced = candidates
    .filter((o) => !referenced.has(o.key))
    // An object whose age is unknown is kept.
    .filter((o) => o.lastModified !== undefined && now - o.lastModified.getTime() >= minAgeMs)
    .map((o) => ({ key: o.key, sizeBytes: o.sizeBytes }));
  const base = {
    game, applied: apply, scanned: candidates.length, referenced: referenced.size, unreferenced,
    reclaimableBytes: unreferenced.reduce((n, o) => n + o.sizeBytes, 0), retainedReleases: [...retained], graceMinutes: retention.gcGraceMinutes,
    minAgeDays: retention.minAgeDays,
  };
  if (!apply) return { ...base, deleted: [], marked: [] };

  const marking = await markUnreferenced(context, game, unreferenced.map((o) => o.key), graceMs);
  // Releases claim what they serve before flipping, so nothing a pointer names can be condemned.
  // Read the pointers once more anyway: if that promise were ever broken, keep the content.
  const live = await pointerReferences(context, game);
  const doomed = marking.condemned.filter((k) => {
    if (!live.has(k)) return true;
    log(context, { level: 'error', step: 'gc', game, key: k, message: 'a condemned object is referenced by a pointer; it is kept' });
    return false;
  });
  const deleted: string[] = [];
  for (const key of doomed) {
    // Content first, then its receipts: a crash in between leaves a receipt the release step
    // ignores (it checks the content too), never content without its proof.
    await context.store.delete(key);
    for (const receipt of await receiptsOf(context, game, key)) await context.store.delete(receipt);
    deleted.push(key);
  }
  await forgetDeleted(context, game, deleted);
  return { ...base, deleted, marked: marking.marked };
}

/** The keys retained releases and live pointers reference; refuses when a reference cannot be read. */
async function readReferences(context: PipelineContext, game: string, releasesPerChannel: number, minAgeMs: number): Promise<{ referenced: Set<string>; retained: Set<string> }> {
  const now = context.clock.now().getTime();
  const retained = new Set<string>();
  for (const p of (await context.store.list(keys.channelsPrefix(game))).filter((o) => o.key.endsWith('.json'))) {
    const channel = p.key.slice(keys.channelsPrefix(game).length, -'.json'.length);
    const pointer = await readPointer(context, game, channel);
    const history = await context.store.list(keys.historyPrefix(game, channel));
    const ids: string[] = [pointer.releaseId];
    const historyDocs = await Promise.all(history.slice(-releasesPerChannel * 4).map((h) => readJson<FlipEntry>(context.store, h.key)));
    for (const doc of historyDocs.reverse()) {
      if (!doc) throw incomplete(`history record of ${channel} vanished while reading`);
      if (!ids.includes(doc.value.releaseId)) ids.push(doc.value.releaseId);
    }
    pointer.history.forEach((h) => { if (!ids.includes(h.releaseId)) ids.push(h.releaseId); });
    ids.slice(0, Math.max(1, releasesPerChannel)).forEach((id) => retained.add(id));
    // A rollout's candidate is served by the pointer as much as its stable release.
    if (pointer.rollout) retained.add(pointer.rollout.releaseId);
  }
  // Releases younger than the retention age are kept too (a promote may still want them).
  for (const r of await context.store.list(keys.releasesPrefix(game))) {
    if (r.key.includes('/history/')) continue;
    if (r.lastModified && now - r.lastModified.getTime() < minAgeMs) retained.add(r.key.slice(keys.releasesPrefix(game).length, -'.json'.length));
  }
  const referenced = new Set<string>();
  for (const id of retained) {
    let release: ReleaseRecord;
    try {
      release = await readRelease(context, game, id);
    } catch (cause) {
      throw incomplete(`release ${id} is referenced but cannot be read (${describeCause(cause)})`, cause);
    }
    for (const key of releaseContentKeys(release)) referenced.add(key);
  }
  for (const key of await pointerReferences(context, game)) referenced.add(key);
  return { referenced, retained };
}

/** Every `content/` key a release serves. */
export function releaseContentKeys(release: Pick<ReleaseRecord, 'game' | 'manifest' | 'archives' | 'resources'>): string[] {
  return [release.manifest.path, ...release.archives.map((a) => a.path), ...release.resources.map((d) => keys.resource(release.game, d))];
}

/** What the pointers name right now (a release may have gone live while gc was reading). */
async function pointerReferences(context: PipelineContext, game: string): Promise<Set<string>> {
  const referenced = new Set<string>();
  for (const p of await context.store.list(keys.channelsPrefix(game))) {
    if (!p.key.endsWith('.json')) continue;
    const pointer: ChannelPointer = await readPointer(context, game, p.key.slice(keys.channelsPrefix(game).length, -'.json'.length));
    // The stable release and, during a staged rollout, its candidate: both are live.
    for (const releaseId of [pointer.releaseId, ...(pointer.rollout ? [pointer.rollout.releaseId] : [])]) {
      const release = await readRelease(context, game, releaseId).catch((cause: unknown) => {
        throw incomplete(`release ${releaseId}, live on ${pointer.channel}, cannot be read`, cause);
      });
      for (const key of releaseContentKeys(release)) referenced.add(key);
    }
  }
  return referenced;
}

/**
 * The receipts to delete with a key: an archive's or manifest's receipt once neither its released
 * nor its verified copy remains, a released resource's header receipts.
 */
async function receiptsOf(context: PipelineContext, game: string, key: string): Promise<string[]> {
  const archive = /\/archives\/([0-9a-f]{64})\.zip$/.exec(key);
  if (archive) {
    const other = key.startsWith(keys.contentPrefix(game)) ? keys.verifiedArchive(game, archive[1]) : keys.archive(game, archive[1]);
    return (await context.store.head(other)) ? [] : [keys.archiveReceipt(game, archive[1])];
  }
  const manifest = /\/manifests\/([0-9a-f]{64})\.dmanifest$/.exec(key);
  if (manifest) {
    const other = key.startsWith(keys.contentPrefix(game)) ? keys.verifiedManifest(game, manifest[1]) : keys.manifest(game, manifest[1]);
    return (await context.store.head(other)) ? [] : [keys.manifestReceipt(game, manifest[1])];
  }
  const resource = /^content\/[^/]+\/resources\/([0-9a-f]+)$/.exec(key);
  if (!resource) return [];
  return (await context.store.list(`${keys.headerReceiptsPrefix(game)}${resource[1]}.`)).map((o) => o.key);
}

function describeCause(cause: unknown): string {
  const error = cause as { code?: string; message?: string };
  return `${error.code ? `${error.code}: ` : ''}${String(error.message ?? cause).slice(0, 300)}`;
}

function incomplete(what: string, cause?: unknown) {
  return lupError({
    code: 'GC_INCOMPLETE_VIEW', expected: 'every reference readable', actual: what,
    message: `Garbage collection refused to delete anything: ${what}. Fix or restore it, then run gc again.`,
  }, cause);
}
