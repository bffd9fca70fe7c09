/**
 * The release record (`releases/<game>/<release>.json`, immutable): everything one release serves.
 * Its shape is defined once, in `schemas/release-record.schema.json`. Paths are relative to the CDN
 * root, so a client resolves them against the URL it fetched the pointer from; `url` fields carry
 * the absolute form for the configured CDN.
 */
import { lupError, type ErrorLocation, type LupError } from '../errors';
import type { ManifestSchema } from '../format/manifest';
import { keys } from '../keys';
import { defineDocument } from './codec';
import releaseRecordSchema from './schemas/release-record.schema.json';

export const RELEASE_SCHEMA_VERSION = 1;

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

/** The largest release record accepted: a loose release of 100 000 resources is about 4.5 MB. */
export const MAX_RELEASE_RECORD_BYTES = 16 * 1024 * 1024;

function crossCheck(r: ReleaseRecord, location: ErrorLocation): LupError[] {
  const errors: LupError[] = [];
  const bad = (field: string, expected: string, actual: string): void => {
    errors.push(lupError({ code: 'DOCUMENT_INVALID', location: { ...location, field }, expected, actual, message: `The release record's ${field} is not valid.` }));
  };
  if (r.manifest.path !== keys.manifest(r.game, r.manifest.sha256)) bad('manifest.path', keys.manifest(r.game, r.manifest.sha256), r.manifest.path);
  r.archives.forEach((a, i) => { if (a.path !== keys.archive(r.game, a.sha256)) bad(`archives[${i}].path`, keys.archive(r.game, a.sha256), a.path); });
  if (r.resourcesBase.path !== keys.resourcesPrefix(r.game)) bad('resourcesBase.path', keys.resourcesPrefix(r.game), r.resourcesBase.path);
  return errors;
}

/** The release record codec. */
export const releaseRecordCodec = defineDocument<ReleaseRecord>({
  what: 'release record', schema: releaseRecordSchema, code: 'DOCUMENT_INVALID', maxBytes: MAX_RELEASE_RECORD_BYTES, crossCheck,
});

/** JSON text of a bookkeeping document (receipts, pins, flip records), as stored. */
export function encodeDocument(doc: unknown): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}
