/**
 * Operator actions: promote, rollback and garbage collection. Promote and rollback move a pointer
 * through the same compare-and-swap flip as a release, so they are serialised with releases.
 */
import { lupError } from '../errors';
import { keys } from '../keys';
import { decodeManifest } from '../format/manifest-codec';
import { isExcluded } from '../format/manifest';
import { releaseRecordCodec, type ReleaseRecord } from '../documents/release-record';
import { pointerCodec, type ChannelPointer, type FlipEntry } from '../documents/pointer';
import type { PipelineContext } from './context';
import { readJson } from './documents';
import { flipChannel, type FlipResponse } from './flip';
import { checkChannel, resolveGame } from './game-policy';

/** A request to the control entry. `requestId` makes a retried request apply once. */
export type ControlRequest =
  | { readonly action: 'promote'; readonly game: string; readonly from: string; readonly to: string; readonly requestId: string }
  | { readonly action: 'rollback'; readonly game: string; readonly channel: string; readonly toRelease?: string; readonly requestId: string }
  | { readonly action: 'gc'; readonly game: string; readonly apply: boolean };

/** What garbage collection found (and deleted, with `apply`). */
export interface GcReport {
  readonly game: string;
  readonly applied: boolean;
  readonly scanned: number;
  readonly referenced: number;
  /** Keys no retained release references and older than the retention age. */
  readonly unreferenced: readonly { readonly key: string; readonly sizeBytes: number }[];
  readonly reclaimableBytes: number;
  readonly retainedReleases: readonly string[];
}

export type ControlResponse =
  | { readonly action: 'promote' | 'rollback'; readonly flip: FlipResponse }
  | { readonly action: 'gc'; readonly report: GcReport };

async function readPointer(context: PipelineContext, game: string, channel: string): Promise<ChannelPointer> {
  const key = keys.pointer(game, channel);
  const object = await context.store.get(key);
  if (!object) {
    throw lupError({ code: 'CHANNEL_EMPTY', location: { key }, expected: 'a live release', actual: 'no pointer', message: `Channel "${channel}" of game "${game}" has no release yet.` });
  }
  return pointerCodec.parse(object.body, { key });
}

/** Read a release record; `RELEASE_NOT_FOUND` names the release when it does not exist. */
export async function readRelease(context: PipelineContext, game: string, releaseId: string): Promise<ReleaseRecord> {
  const key = keys.release(game, releaseId);
  const object = await context.store.get(key);
  if (!object) {
    throw lupError({ code: 'RELEASE_NOT_FOUND', location: { key }, expected: `release ${releaseId} of game ${game}`, actual: 'none', message: `Game "${game}" has no release "${releaseId}"; see \`lup releases\`.` });
  }
  return releaseRecordCodec.parse(object.body, { key });
}

/** Run one operator action. */
export async function runControl(context: PipelineContext, request: ControlRequest): Promise<ControlResponse> {
  const resolved = await resolveGame(context, request.game);
  if (!resolved.ok) throw resolved.error;
  const rules = resolved.rules;
  if (request.action === 'gc') return { action: 'gc', report: await collectGarbage(context, request.game, request.apply) };
  if (request.action === 'promote') {
    for (const channel of [request.from, request.to]) {
      const error = checkChannel(rules, channel);
      if (error) throw error;
    }
    const source = await readPointer(context, request.game, request.from);
    const release = await readRelease(context, request.game, source.releaseId);
    const flip = await flipChannel(context, { game: request.game, channel: request.to, release, requestId: request.requestId, cause: 'promote' });
    return { action: 'promote', flip };
  }
  const channelError = checkChannel(rules, request.channel);
  if (channelError) throw channelError;
  const pointer = await readPointer(context, request.game, request.channel);
  // A retried rollback must not roll back twice: if its id is in the history, it was applied.
  if (pointer.history.some((h) => h.requestId === request.requestId)) {
    const release = await readRelease(context, request.game, pointer.releaseId);
    return { action: 'rollback', flip: await flipChannel(context, { game: request.game, channel: request.channel, release, requestId: request.requestId, cause: 'rollback' }) };
  }
  const targetId = request.toRelease ?? previousRelease(pointer);
  if (!targetId) {
    throw lupError({
      code: 'RELEASE_NOT_FOUND', location: { key: keys.pointer(request.game, request.channel) },
      expected: 'an earlier release on the channel', actual: `only ${pointer.releaseId}`,
      message: `Channel "${request.channel}" has no earlier release to roll back to; name one with --to.`,
    });
  }
  const release = await readRelease(context, request.game, targetId);
  const flip = await flipChannel(context, { game: request.game, channel: request.channel, release, requestId: request.requestId, cause: 'rollback' });
  return { action: 'rollback', flip };
}

/**
 * The release the channel served before the current one. Rollbacks are stepped over together with
 * the releases they left, so rolling back twice goes further back, never forward again to the
 * release the first rollback fled.
 */
export function previousRelease(pointer: Pick<ChannelPointer, 'releaseId' | 'history'>): string | undefined {
  const fled = new Set<string>();
  const history = pointer.history;
  for (let i = 0; i < history.length; i++) {
    const entry = history[i];
    if (entry.cause === 'rollback') {
      const left = history[i + 1]?.releaseId;
      if (left !== undefined && left !== entry.releaseId) fled.add(left);
      continue;
    }
    if (entry.releaseId !== pointer.releaseId && !fled.has(entry.releaseId)) return entry.releaseId;
  }
  return undefined;
}

/**
 * Garbage collection of `content/<game>/`: deletes what no retained release references and what is
 * older than the retention age. It refuses (deleting nothing) when any reference cannot be read,
 * because a missed reference would delete content a live game downloads.
 */
async function collectGarbage(context: PipelineContext, game: string, apply: boolean): Promise<GcReport> {
  const resolved = await resolveGame(context, game);
  const retention = resolved.ok && resolved.rules.config ? resolved.rules.config.retention : { releasesPerChannel: 10, minAgeDays: 7 };
  const now = context.clock.now().getTime();
  const minAgeMs = retention.minAgeDays * 86_400_000;
  const referenced = new Set<string>();
  const retained = new Set<string>();
  const pointers = (await context.store.list(keys.channelsPrefix(game))).filter((o) => o.key.endsWith('.json'));
  for (const p of pointers) {
    const channel = p.key.slice(keys.channelsPrefix(game).length, -'.json'.length);
    const pointer = await readPointer(context, game, channel);
    const history = await context.store.list(keys.historyPrefix(game, channel));
    const ids: string[] = [pointer.releaseId];
    const historyDocs = await Promise.all(history.slice(-retention.releasesPerChannel * 4).map((h) => readJson<FlipEntry>(context.store, h.key)));
    for (const doc of historyDocs.reverse()) {
      if (!doc) throw incomplete(`history record of ${channel} vanished while reading`);
      if (!ids.includes(doc.value.releaseId)) ids.push(doc.value.releaseId);
    }
    pointer.history.forEach((h) => { if (!ids.includes(h.releaseId)) ids.push(h.releaseId); });
    ids.slice(0, Math.max(1, retention.releasesPerChannel)).forEach((id) => retained.add(id));
  }
  // Releases younger than the retention age are kept too (a promote may still want them).
  for (const r of await context.store.list(keys.releasesPrefix(game))) {
    if (r.key.includes('/history/')) continue;
    if (r.lastModified && now - r.lastModified.getTime() < minAgeMs) retained.add(r.key.slice(keys.releasesPrefix(game).length, -'.json'.length));
  }
  for (const id of retained) {
    let release: ReleaseRecord;
    try {
      release = await readRelease(context, game, id);
    } catch (cause) {
      throw incomplete(`release ${id} is referenced but cannot be read`, cause);
    }
    referenced.add(release.manifest.path);
    release.archives.forEach((a) => referenced.add(a.path));
    const manifest = await context.store.get(release.manifest.path);
    if (!manifest) throw incomplete(`manifest ${release.manifest.path} of release ${id} is missing`);
    if (release.kind === 'loose') {
      for (const entry of decodeManifest(manifest.body).resources) {
        if (isExcluded(entry)) referenced.add(keys.resource(game, entry.hash));
      }
    }
  }
  const content = await context.store.list(keys.contentPrefix(game));
  // A release may have gone live while gc was reading: whatever the pointers name now is kept too.
  for (const p of await context.store.list(keys.channelsPrefix(game))) {
    if (!p.key.endsWith('.json')) continue;
    const pointer = await readPointer(context, game, p.key.slice(keys.channelsPrefix(game).length, -'.json'.length));
    referenced.add(pointer.manifest.path);
    pointer.archives.forEach((a) => referenced.add(a.path));
    if (!retained.has(pointer.releaseId)) {
      const release = await readRelease(context, game, pointer.releaseId);
      release.resources.forEach((d) => referenced.add(keys.resource(game, d)));
    }
  }
  const unreferenced = content
    .filter((o) => !referenced.has(o.key))
    // An object whose age is unknown is kept: deleting is the one mistake gc cannot undo.
    .filter((o) => o.lastModified !== undefined && now - o.lastModified.getTime() >= minAgeMs)
    .map((o) => ({ key: o.key, sizeBytes: o.sizeBytes }));
  if (apply) {
    for (const o of unreferenced) {
      // Content first, then its receipt: a crash in between leaves a receipt the release step
      // ignores (it checks the content too), never content without its proof.
      await context.store.delete(o.key);
      for (const receipt of await receiptsOf(context, game, o.key)) await context.store.delete(receipt);
    }
  }
  return {
    game, applied: apply, scanned: content.length, referenced: referenced.size, unreferenced,
    reclaimableBytes: unreferenced.reduce((n, o) => n + o.sizeBytes, 0), retainedReleases: [...retained],
  };
}

/** The receipt keys of a content key: an archive's or manifest's receipt, a resource's header receipts. */
async function receiptsOf(context: PipelineContext, game: string, contentKey: string): Promise<string[]> {
  const archive = /\/archives\/([0-9a-f]{64})\.zip$/.exec(contentKey);
  if (archive) return [keys.archiveReceipt(game, archive[1])];
  const manifest = /\/manifests\/([0-9a-f]{64})\.dmanifest$/.exec(contentKey);
  if (manifest) return [keys.manifestReceipt(game, manifest[1])];
  const resource = /\/resources\/([0-9a-f]+)$/.exec(contentKey);
  if (!resource) return [];
  return (await context.store.list(`${keys.headerReceiptsPrefix(game)}${resource[1]}.`)).map((o) => o.key);
}

function incomplete(what: string, cause?: unknown) {
  return lupError({
    code: 'GC_INCOMPLETE_VIEW', expected: 'every reference readable', actual: what,
    message: `Garbage collection refused to delete anything: ${what}. Fix or restore it, then run gc again.`,
  }, cause);
}
