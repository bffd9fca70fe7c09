/**
 * Making a release's content servable: the last step before its flip. Everything a release serves
 * is copied from the private area of verified content to `content/` (create-only; what is there
 * already was released before and is the same bytes), so that nothing reaches players unless a
 * release whose manifest accepts it is being made live.
 *
 * For loose releases this is also where each resource's 16-byte header is checked against its
 * manifest entry: payload digests were checked when the resources arrived, before their manifest
 * was known. A resource already released is checked with the header it was released with; one that
 * waits is taken in the header variant the manifest names.
 */
import pLimit from 'p-limit';
import { isLupError, lupError, type LupError } from '../errors';
import { keys } from '../keys';
import { isExcluded, type Manifest, type ManifestEntry } from '../format/manifest';
import { RESOURCE_HEADER_BYTES } from '../format/resource-header';
import { checkResourceAgainstEntry, validateContent, type ResourceObservation } from '../format/validate-content';
import type { ReleaseRecord } from '../documents/release-record';
import type { PipelineContext } from './context';
import { copyOnce, listReleasedResources, listVerifiedResources, type VerifiedResource } from './verified';

/** One object to copy from the private area to `content/` when the release is made live. */
export interface PublishCopy {
  readonly from: string;
  readonly to: string;
  readonly sourceEtag?: string;
  /** For loose resources: the header receipt to write once it is released. */
  readonly headerReceipt?: string;
}

/** What a loose release still needs, or why it cannot be made. */
export interface LoosePlan {
  readonly errors: LupError[];
  readonly copies: PublishCopy[];
}

/** Headers read from content/ at once, for released resources without a header receipt. */
const HEADER_READ_CONCURRENCY = 32;

function observationOf(entryHash: string, header: Uint8Array, payloadSizeBytes: number, key: string): ResourceObservation {
  return { name: entryHash, digest: entryHash, header, payloadSizeBytes, location: { key } };
}

/**
 * Check every EXCLUDED resource of a loose manifest and choose what to copy. Three listings (released
 * resources, their header receipts, verified resources), however many resources the release has.
 */
export async function planLooseRelease(context: PipelineContext, game: string, manifest: Manifest): Promise<LoosePlan> {
  const [released, receipts, waiting] = await Promise.all([
    listReleasedResources(context, game),
    listHeaderReceipts(context, game),
    listVerifiedResources(context, game),
  ]);
  const entries = new Map<string, ManifestEntry>();
  for (const e of manifest.resources) if (isExcluded(e) && !entries.has(e.hash)) entries.set(e.hash, e);
  const limit = pLimit(HEADER_READ_CONCURRENCY);
  const copies: PublishCopy[] = [];
  const observations = await Promise.all([...entries.values()].map((entry) => limit(async (): Promise<ResourceObservation | undefined> => {
    const contentKey = keys.resource(game, entry.hash);
    if (released.has(entry.hash)) {
      const known = receipts.get(entry.hash) ?? await (async () => {
        const read = await context.store.readPrefix(contentKey, RESOURCE_HEADER_BYTES);
        return read && { header: read.bytes, payloadSizeBytes: read.sizeBytes - RESOURCE_HEADER_BYTES };
      })();
      if (known) return observationOf(entry.hash, known.header, known.payloadSizeBytes, contentKey);
    }
    const variants = waiting.get(entry.hash) ?? [];
    const observe = (v: VerifiedResource) => observationOf(entry.hash, Buffer.from(v.headerHex, 'hex'), v.sizeBytes - RESOURCE_HEADER_BYTES, v.key);
    const chosen = variants.find((v) => checkResourceAgainstEntry(observe(v), entry).length === 0);
    if (chosen) {
      copies.push({
        from: chosen.key, to: contentKey, sourceEtag: chosen.etag,
        headerReceipt: keys.headerReceipt(game, entry.hash, chosen.headerHex, chosen.sizeBytes - RESOURCE_HEADER_BYTES),
      });
      return observe(chosen);
    }
    // No variant fits: report the first one's mismatch (or, with none, the resource as missing).
    return variants[0] && observe(variants[0]);
  })));
  const errors = validateContent(manifest, observations.filter((o): o is ResourceObservation => o !== undefined), { requireComplete: true }).errors;
  return { errors, copies: errors.length > 0 ? [] : copies };
}

async function listHeaderReceipts(context: PipelineContext, game: string): Promise<Map<string, { header: Uint8Array; payloadSizeBytes: number }>> {
  const prefix = keys.headerReceiptsPrefix(game);
  const receipts = new Map<string, { header: Uint8Array; payloadSizeBytes: number }>();
  for (const o of await context.store.list(prefix)) {
    const [digest, headerHex, size] = o.key.slice(prefix.length).split('.');
    if (digest && headerHex?.length === RESOURCE_HEADER_BYTES * 2 && size) receipts.set(digest, { header: Buffer.from(headerHex, 'hex'), payloadSizeBytes: Number(size) });
  }
  return receipts;
}

/** The copies that make a release servable: its manifest, its archives, and the loose resources planned. */
export function releaseCopies(game: string, release: Pick<ReleaseRecord, 'manifest' | 'archives'>, looseCopies: readonly PublishCopy[]): PublishCopy[] {
  return [
    { from: keys.verifiedManifest(game, release.manifest.sha256), to: release.manifest.path },
    ...release.archives.map((a) => ({ from: keys.verifiedArchive(game, a.sha256), to: a.path })),
    ...looseCopies,
  ];
}

/** Objects copied to content/ at once. */
export const PUBLISH_CONCURRENCY = 32;

/**
 * Copy what the release serves to `content/`. An object already there (released before, or by a
 * concurrent release of the same content) is left as it is. Returns how many objects were copied.
 */
export async function publishRelease(context: PipelineContext, copies: readonly PublishCopy[]): Promise<number> {
  const limit = pLimit(PUBLISH_CONCURRENCY);
  const copied = await Promise.all(copies.map((c) => limit(async () => {
    const contentType = c.to.endsWith('.zip') ? 'application/zip' : 'application/octet-stream';
    // No HEAD first: the copy is create-only, and a destination already there is reported as such.
    let wrote: boolean;
    try {
      wrote = await copyOnce(context, c.from, c.to, { sourceEtag: c.sourceEtag, contentType, served: true });
    } catch (error) {
      if (!isLupError(error) || (await context.store.head(c.from))) throw error;
      throw lupError({
        code: 'RELEASE_INCOMPLETE', location: { key: c.from }, expected: `verified content to release as ${c.to}`, actual: 'gone',
        message: 'Verified content of this release was removed before it was released (garbage collection of unreleased content); publish it again.',
      }, error);
    }
    if (wrote && c.headerReceipt) await context.store.put(c.headerReceipt, new Uint8Array(0));
    return wrote ? 1 : 0;
  })));
  return copied.reduce<number>((n, x) => n + x, 0);
}

