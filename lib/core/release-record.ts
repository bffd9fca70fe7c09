/**
 * The release record (`releases/<game>/<release>.json`, immutable) and the channel pointer
 * (`channels/<game>/<channel>.json`, moved only by compare-and-swap). Paths inside both are relative
 * to the CDN root, so a client resolves them against the URL it fetched the pointer from; `url`
 * fields carry the absolute form for the configured CDN.
 */
import { lupError, type ErrorLocation } from './errors';
import type { ManifestSchema } from './manifest';

export const RELEASE_SCHEMA_VERSION = 1;
export const POINTER_SCHEMA_VERSION = 1;
/** How many past flips the pointer carries (rollback targets, idempotency of retried flips). */
export const POINTER_HISTORY_LENGTH = 25;

/** A downloadable object of a release. */
export interface ServedObject {
  /** Path from the CDN root, e.g. `content/g1/archives/ab12….zip`. */
  readonly path: string;
  /** Absolute URL on the configured CDN. */
  readonly url: string;
  readonly sha256: string;
  readonly sizeBytes: number;
}

/** An archive to mount, in order. */
export interface ReleasedArchive extends ServedObject {
  readonly name: string;
  readonly priority: number;
}

/** An immutable description of everything one release serves. */
export interface ReleaseRecord {
  readonly schemaVersion: number;
  readonly game: string;
  readonly releaseId: string;
  /** The upload it was made from (`editor` for the Defold editor's publisher). */
  readonly upload: string;
  readonly kind: 'archives' | 'loose';
  readonly createdAt: string;
  readonly manifest: ServedObject & { readonly schema: ManifestSchema };
  readonly archives: readonly ReleasedArchive[];
  /** Base of loose resources: `<base><hexdigest>`. */
  readonly resourcesBase: { readonly path: string; readonly url: string };
  /** Digests of the loose resources the release serves (EXCLUDED entries). Empty for archives. */
  readonly resources: readonly string[];
  /** Hex SHA-1 digests of the engine versions the release supports. */
  readonly engineVersions: readonly string[];
  readonly projectIdentifier: string;
  readonly note?: string;
}

/** Why the pointer moved. */
export type FlipCause = 'release' | 'promote' | 'rollback';

/** One past flip, as the pointer remembers it. */
export interface FlipEntry {
  readonly sequence: number;
  readonly releaseId: string;
  /** Identifies the operation so that a retried one is recognised and not applied twice. */
  readonly requestId: string;
  readonly cause: FlipCause;
  readonly at: string;
}

/** The channel pointer: one GET tells a game everything to fetch. */
export interface ChannelPointer {
  readonly schemaVersion: number;
  readonly game: string;
  readonly channel: string;
  /** Grows by one on every flip, rollbacks included. */
  readonly sequence: number;
  readonly releaseId: string;
  readonly cause: FlipCause;
  readonly publishedAt: string;
  readonly manifest: ReleaseRecord['manifest'];
  /** Stable path of the current manifest beside the pointer (engines ≤ 1.4 fetch it there). */
  readonly stableManifest: { readonly path: string; readonly url: string };
  readonly archives: readonly ReleasedArchive[];
  readonly resourcesBase: ReleaseRecord['resourcesBase'];
  readonly engineVersions: readonly string[];
  /** Most recent first, the current flip included. */
  readonly history: readonly FlipEntry[];
}

/** Parse a JSON document the pipeline wrote; a damaged one is an error naming the key. */
export function parseDocument<T extends { schemaVersion: number }>(body: Uint8Array, expectedSchema: number, location: ErrorLocation, what: string): T {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(body).toString('utf8'));
  } catch (cause) {
    throw lupError({ code: 'INTERNAL', location, expected: `a JSON ${what}`, actual: 'unparseable JSON', message: `The ${what} is damaged: it is not JSON.` }, cause);
  }
  const doc = value as T;
  if (typeof doc !== 'object' || doc === null || doc.schemaVersion !== expectedSchema) {
    throw lupError({
      code: 'INTERNAL', location, expected: `${what} schemaVersion ${expectedSchema}`, actual: `${(doc as { schemaVersion?: unknown } | null)?.schemaVersion}`,
      message: `The ${what} has an unknown schema version; upgrade lup.`,
    });
  }
  return doc;
}

/** JSON text of a document, as stored. */
export function encodeDocument(doc: unknown): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}
