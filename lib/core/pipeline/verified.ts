/**
 * Verified content before and after its release. The steps write what they verified to a private
 * area (`state/<game>/_verified/`); only a release that is being made live copies it to `content/`,
 * where players can reach it. So a publisher key alone never makes anything servable, and a
 * resource whose first arrival carried a header no manifest accepts does not block that digest: each
 * header variant waits under its own key, and the release takes the one its manifest names.
 */
import { CONTENT_CACHE } from '../../http-policy';
import { isLupError, lupError } from '../errors';
import { keys } from '../keys';
import type { Manifest } from '../format/manifest';
import { MAX_MANIFEST_BYTES, decodeManifest } from '../format/manifest-codec';
import type { PipelineContext } from './context';

/** Write verified bytes to a key, create-only; false when the key already held them. */
export async function putOnce(context: PipelineContext, key: string, body: Uint8Array, contentType: string): Promise<boolean> {
  try {
    await context.store.put(key, body, { ifNoneMatch: '*', contentType });
    return true;
  } catch (error) {
    if (!(isLupError(error) && error.code === 'STORE_PRECONDITION_FAILED')) throw error;
    return false;
  }
}

/**
 * Copy an object create-only, pinned to the source version that was verified (`sourceEtag`);
 * false when the target already existed (content is addressed by digest: it is the same bytes).
 */
export async function copyOnce(context: PipelineContext, from: string, to: string, options: { sourceEtag?: string; contentType: string; served: boolean }): Promise<boolean> {
  try {
    await context.store.copy(from, to, {
      ifNoneMatch: '*', contentType: options.contentType,
      ...(options.sourceEtag ? { sourceIfMatch: options.sourceEtag } : {}),
      ...(options.served ? { cacheControl: CONTENT_CACHE.cacheControl } : {}),
    });
    return true;
  } catch (error) {
    if (isLupError(error) && error.code === 'STORE_PRECONDITION_FAILED' && (await context.store.head(to))) return false;
    throw error;
  }
}

/** Where a verified manifest's bytes are: released, or still waiting in the private area. */
export async function storedManifestKey(context: PipelineContext, game: string, sha256: string): Promise<string | undefined> {
  if (await context.store.head(keys.manifest(game, sha256))) return keys.manifest(game, sha256);
  if (await context.store.head(keys.verifiedManifest(game, sha256))) return keys.verifiedManifest(game, sha256);
  return undefined;
}

/**
 * Read and decode a verified manifest (released or waiting), bounded; `INTERNAL` when it is gone
 * (inside a pipeline step, whose event is then retried).
 */
export async function readStoredManifest(context: PipelineContext, game: string, sha256: string): Promise<Manifest> {
  const manifest = await findStoredManifest(context, game, sha256);
  if (manifest) return manifest;
  throw lupError({ code: 'INTERNAL', location: { key: keys.manifest(game, sha256) }, message: `Verified manifest ${sha256} is missing; the step is retried.` });
}

/** Read and decode a verified manifest (released or waiting), bounded; undefined when it is gone (garbage-collected). */
export async function findStoredManifest(context: PipelineContext, game: string, sha256: string): Promise<Manifest | undefined> {
  for (const key of [keys.manifest(game, sha256), keys.verifiedManifest(game, sha256)]) {
    const read = await context.store.readPrefix(key, MAX_MANIFEST_BYTES + 1);
    if (!read) continue;
    if (read.sizeBytes > MAX_MANIFEST_BYTES) {
      throw lupError({ code: 'MANIFEST_TOO_LARGE', location: { key }, expected: `at most ${MAX_MANIFEST_BYTES} bytes`, actual: `${read.sizeBytes} bytes`, message: 'A stored manifest is larger than any the pipeline accepts.' });
    }
    return decodeManifest(read.bytes, { key });
  }
  return undefined;
}

/** A verified loose resource waiting for its release, as listed. */
export interface VerifiedResource {
  readonly key: string;
  readonly digest: string;
  readonly headerHex: string;
  readonly sizeBytes: number;
  readonly etag: string;
}

/** Every verified-but-unreleased loose resource of a game, by digest (one listing). */
export async function listVerifiedResources(context: PipelineContext, game: string): Promise<Map<string, VerifiedResource[]>> {
  const prefix = keys.verifiedResourcesPrefix(game);
  const byDigest = new Map<string, VerifiedResource[]>();
  for (const o of await context.store.list(prefix)) {
    const [digest, headerHex] = o.key.slice(prefix.length).split('.');
    if (!digest || headerHex?.length !== 32) continue;
    const variants = byDigest.get(digest) ?? [];
    variants.push({ key: o.key, digest, headerHex, sizeBytes: o.sizeBytes, etag: o.etag });
    byDigest.set(digest, variants);
  }
  return byDigest;
}

/** The digests of a game's released loose resources (one listing). */
export async function listReleasedResources(context: PipelineContext, game: string): Promise<Set<string>> {
  const prefix = keys.resourcesPrefix(game);
  return new Set((await context.store.list(prefix)).map((o) => o.key.slice(prefix.length)));
}
