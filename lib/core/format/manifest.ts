/**
 * The manifest as the pipeline sees it, whatever generation of the Defold format it came from.
 * @see ../../shared/DEFOLD_FORMAT.md (in the project's shared docs) and defold/defold
 *      engine/resource/proto/resource/liveupdate_ddf.proto
 */
import type { HashAlgorithm } from './digest';

/** Which generation of the manifest format a file is. */
export type ManifestSchema =
  /** Schema 5: engine 1.5.0 and later (`ManifestFile.version = 5`). */
  | 'v5'
  /** 2018 – 1.4.x: header with magic number; `dependants` are indices into `resources`. */
  | 'legacy'
  /** 2017 (1.2.9x): as `legacy`, but `dependants` are digests. */
  | 'legacy-2017';

/** The engine's only accepted `ManifestFile.version`. */
export const MANIFEST_FILE_VERSION = 5;
/** `ManifestHeader.magic_number` of the old schema. */
export const LEGACY_MAGIC_NUMBER = 0x43cb6d06;

/** `ResourceEntry.flags` bits. */
export const ENTRY_FLAG = { BUNDLED: 1, EXCLUDED: 2, ENCRYPTED: 4, COMPRESSED: 8 } as const;
/** Every flag bit the format defines, per schema. */
export const KNOWN_ENTRY_FLAGS: Readonly<Record<ManifestSchema, number>> = { v5: 0xf, legacy: 0x3, 'legacy-2017': 0x3 };
/** `compressed_size` of an entry that is not compressed. */
export const NOT_COMPRESSED = 0xffffffff;

/** One resource of the manifest. */
export interface ManifestEntry {
  /** Lowercase hex digest of the payload (the resource's file name). */
  readonly hash: string;
  /** Resource path; `""` in release builds, which keep only `urlHash`. */
  readonly url: string;
  /** Defold's 64-bit hash of `url`, unsigned. */
  readonly urlHash: bigint;
  /** Uncompressed size in bytes (schema 5 only). */
  readonly size?: number;
  /** Compressed size in bytes, or {@link NOT_COMPRESSED} (schema 5 only). */
  readonly compressedSize?: number;
  readonly flags: number;
  /** url_hashes of dependants (schema 5) or indices into `resources` (legacy). */
  readonly dependants: readonly bigint[];
  /** Digests of dependants (legacy-2017 only). */
  readonly dependantDigests?: readonly string[];
}

/** Everything a manifest says, plus the raw bytes its signature covers. */
export interface Manifest {
  readonly schema: ManifestSchema;
  /** `ManifestFile.version` (5), or the header's `version` in the old schema. */
  readonly version: number;
  /** Proto enum values, kept raw so that an unknown algorithm can be reported, not guessed. */
  readonly resourceHashAlgorithmCode: number;
  readonly signatureHashAlgorithmCode: number;
  readonly signAlgorithmCode: number;
  /** Hex of `header.project_identifier` (SHA-1 of `project.title`). */
  readonly projectIdentifier: string;
  /** Hex SHA-1 digests of the supported engine version strings, in file order. */
  readonly engineVersions: readonly string[];
  readonly resources: readonly ManifestEntry[];
  /** Serialized `ManifestData`: what the signature covers. */
  readonly data: Uint8Array;
  readonly signature: Uint8Array;
  readonly archiveIdentifier?: Uint8Array;
}

/** What {@link Manifest} needs to be encoded; `data` is computed. */
export type ManifestInput = Omit<Manifest, 'data'>;

/** The resource hash algorithm, when the code names a known one. */
export type { HashAlgorithm };

/** True when an entry is flagged EXCLUDED: it must be delivered through LiveUpdate. */
export function isExcluded(entry: ManifestEntry): boolean {
  return (entry.flags & ENTRY_FLAG.EXCLUDED) !== 0;
}
