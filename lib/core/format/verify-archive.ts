/**
 * Verification of one zip archive (engine 1.5+ LiveUpdate content) in a single streaming pass:
 * every entry's payload digest against its name, the manifest inside against the format's rules and
 * the game's policy, every entry against the manifest, and completeness. Memory stays bounded: one
 * entry's chunk at a time, plus the manifest.
 */
import { forEachArchiveEntry, readEntryBytes, type ArchiveLimits } from './archive';
import { algorithmForHexName, hashHex } from './digest';
import { isLupError, lupError, type ErrorLocation, type LupError } from '../errors';
import { MANIFEST_NAME } from '../keys';
import type { Manifest } from './manifest';
import { MAX_MANIFEST_BYTES } from './manifest-codec';
import type { ValidationPolicy } from './policy';
import type { ByteSource } from '../ports';
import { ResourceDigester } from './resource-header';
import type { SignatureStatus } from './signature';
import { validateContent, type ResourceObservation } from './validate-content';
import { decodeCheckedManifest } from './validate-manifest';

/** Everything learned from verifying content (an archive, a folder or a manifest alone). */
export interface ContentReport {
  /** True when no error was found. */
  readonly valid: boolean;
  readonly errors: readonly LupError[];
  readonly manifest?: Manifest;
  /** The manifest file's bytes and SHA-256, as it will be served. */
  readonly manifestBytes?: Uint8Array;
  readonly manifestSha256?: string;
  /** How many entries or files were read (manifest and custom files included). */
  readonly entryCount: number;
  /** Hex-named resources checked. */
  readonly resourceCount: number;
  /** Digests of the resources present. */
  readonly resources: readonly string[];
  /** Files that are neither the manifest nor hex-named resources (allowed, e.g. version_levels.json). */
  readonly customFiles: readonly string[];
  /** EXCLUDED resources of the manifest that were absent. */
  readonly missing: readonly string[];
  readonly signature?: SignatureStatus;
  readonly totalUncompressedBytes: number;
}

/** Options of {@link verifyArchive}. */
export interface VerifyArchiveOptions {
  readonly policy?: ValidationPolicy;
  /** Where the archive is (object key or file), for error locations. */
  readonly location?: ErrorLocation;
  readonly limits?: Partial<ArchiveLimits>;
}

/** Verify a zip archive read through a random-access source. Never throws for bad content. */
export async function verifyArchive(source: ByteSource, options: VerifyArchiveOptions = {}): Promise<ContentReport> {
  const location = options.location ?? {};
  const observations: ResourceObservation[] = [];
  const customFiles: string[] = [];
  let manifestBytes: Uint8Array | undefined;
  let entryCount = 0;
  let totalUncompressedBytes = 0;
  const errors: LupError[] = [];
  try {
    const summary = await forEachArchiveEntry(
      source,
      async (entry) => {
        if (entry.name === MANIFEST_NAME) {
          manifestBytes = await readEntryBytes(entry, MAX_MANIFEST_BYTES);
          return;
        }
        const algorithm = algorithmForHexName(entry.name);
        if (!algorithm) {
          customFiles.push(entry.name);
          return;
        }
        const digester = new ResourceDigester(algorithm);
        for await (const chunk of entry.open()) digester.update(chunk);
        const { header, digest, payloadSizeBytes } = digester.finish();
        observations.push({ name: entry.name, digest, header, payloadSizeBytes, location: { ...location, entry: entry.name } });
      },
      { limits: options.limits, location },
    );
    entryCount = summary.entryCount;
    totalUncompressedBytes = summary.totalUncompressedBytes;
  } catch (error) {
    errors.push(isLupError(error) ? error : lupError({ code: 'INTERNAL', location, message: `Reading the archive failed unexpectedly: ${String(error)}` }, error));
    return report(errors, { entryCount, totalUncompressedBytes, observations, customFiles });
  }
  if (!manifestBytes) {
    errors.push(lupError({
      code: 'ARCHIVE_NO_MANIFEST', location,
      expected: `an entry named ${MANIFEST_NAME}`, actual: `${entryCount} entries without it`,
      message: `The archive has no ${MANIFEST_NAME}; upload the zip bob wrote to build/liveupdate_output, unmodified.`,
    }));
    return report(errors, { entryCount, totalUncompressedBytes, observations, customFiles });
  }
  return verifyAgainstManifest(manifestBytes, observations, {
    policy: options.policy ?? {},
    location: { ...location, entry: MANIFEST_NAME },
    requireComplete: options.policy?.requireComplete ?? true,
    entryCount,
    totalUncompressedBytes,
    customFiles,
  });
}

/**
 * Decode and validate a manifest and the resources observed beside it. Shared by archives, loose
 * folders and the release step.
 */
export function verifyAgainstManifest(
  manifestBytes: Uint8Array,
  observations: readonly ResourceObservation[],
  context: {
    policy: ValidationPolicy;
    location: ErrorLocation;
    requireComplete: boolean;
    entryCount: number;
    totalUncompressedBytes: number;
    customFiles: readonly string[];
  },
): ContentReport {
  const errors: LupError[] = [];
  const { manifest, findings: manifestFindings } = decodeCheckedManifest(manifestBytes, context.policy, context.location);
  errors.push(...manifestFindings.errors);
  if (!manifest) return { ...report(errors, { ...context, observations, manifestBytes }), signature: manifestFindings.signature };
  const content = validateContent(manifest, observations, { requireComplete: context.requireComplete, location: context.location });
  errors.push(...content.errors);
  return {
    ...report(errors, { ...context, observations, manifestBytes }),
    manifest,
    signature: manifestFindings.signature,
    missing: content.missing,
  };
}

function report(
  errors: LupError[],
  parts: {
    entryCount: number;
    totalUncompressedBytes: number;
    observations: readonly ResourceObservation[];
    customFiles: readonly string[];
    manifestBytes?: Uint8Array;
  },
): ContentReport {
  return {
    valid: errors.length === 0,
    errors,
    manifestBytes: parts.manifestBytes,
    manifestSha256: parts.manifestBytes ? hashHex('sha256', parts.manifestBytes) : undefined,
    entryCount: parts.entryCount,
    resourceCount: parts.observations.length,
    resources: parts.observations.map((o) => o.name),
    customFiles: parts.customFiles,
    missing: [],
    totalUncompressedBytes: parts.totalUncompressedBytes,
  };
}
