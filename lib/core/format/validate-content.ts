/**
 * The rules content must pass against its manifest: every resource is named by the digest of its
 * payload, listed in the manifest with matching sizes and flags, and nothing EXCLUDED is missing
 * when the content claims to be complete.
 */
import { algorithmForHexName } from './digest';
import { lupError, type ErrorLocation, type LupError } from '../errors';
import { ENTRY_FLAG, NOT_COMPRESSED, isExcluded, type Manifest, type ManifestEntry } from './manifest';
import { HEADER_FLAG, RESOURCE_HEADER_BYTES, parseResourceHeader } from './resource-header';
import { ErrorCollector } from './validate-manifest';

/** What was measured of one resource file (loose object or zip entry) while streaming it. */
export interface ResourceObservation {
  /** File or entry name: the claimed lowercase hex digest. */
  readonly name: string;
  /** Digest of the payload with the algorithm the name's length implies. */
  readonly digest: string;
  /** The first (up to) 16 bytes. */
  readonly header: Uint8Array;
  readonly payloadSizeBytes: number;
  readonly location: ErrorLocation;
}

/** The error for a name that is not a lowercase hex digest of a known length. */
export function resourceNameError(name: string, location: ErrorLocation): LupError {
  return lupError({
    code: 'RESOURCE_NAME_INVALID', location,
    expected: 'a lowercase hex digest (32, 40, 64 or 128 characters)', actual: JSON.stringify(name),
    message: `"${name}" is not a resource name: LiveUpdate resources are named by the hex digest of their payload.`,
  });
}

/**
 * Check that a resource is named by its own digest: the check that makes content-addressed serving
 * safe. Needs no manifest (the name's length gives the algorithm).
 */
export function checkResourceIdentity(observation: ResourceObservation): LupError | undefined {
  const algorithm = algorithmForHexName(observation.name);
  if (!algorithm) return resourceNameError(observation.name, observation.location);
  if (observation.header.length < RESOURCE_HEADER_BYTES) {
    return lupError({
      code: 'RESOURCE_HEADER_INVALID', location: { ...observation.location, offset: 0 },
      expected: `at least ${RESOURCE_HEADER_BYTES} bytes`, actual: `${observation.header.length} bytes`,
      message: `Resource ${observation.name} is shorter than the 16-byte LiveUpdate header; it is truncated.`,
    });
  }
  if (observation.digest !== observation.name) {
    return lupError({
      code: 'RESOURCE_DIGEST_MISMATCH', location: observation.location,
      expected: `${algorithm.toUpperCase()} of the payload = ${observation.name}`, actual: observation.digest,
      message: `Resource ${observation.name} does not match its name: its bytes were changed or truncated after bob built it.`,
    });
  }
  return undefined;
}

/** The outcome of {@link validateContent}. */
export interface ContentFindings {
  readonly errors: LupError[];
  /** Digests of EXCLUDED entries not present (only when completeness was required). */
  readonly missing: readonly string[];
  /** How many resources were checked. */
  readonly resourceCount: number;
}

/**
 * Check observed resources against the manifest. Identity (name = digest) is checked here too, so
 * callers pass every hex-named file; custom (non-hex) files are the caller's to report.
 */
export function validateContent(
  manifest: Manifest,
  observations: readonly ResourceObservation[],
  options: { requireComplete: boolean; location?: ErrorLocation },
): ContentFindings {
  const out = new ErrorCollector();
  const byHash = new Map<string, ManifestEntry>();
  for (const entry of manifest.resources) if (!byHash.has(entry.hash)) byHash.set(entry.hash, entry);
  const present = new Set<string>();
  for (const observation of observations) {
    present.add(observation.name);
    const identity = checkResourceIdentity(observation);
    if (identity) {
      out.add(identity);
      continue;
    }
    const entry = byHash.get(observation.name);
    if (!entry) {
      out.add(lupError({
        code: 'RESOURCE_NOT_IN_MANIFEST', location: observation.location,
        expected: 'a digest listed in the manifest', actual: observation.name,
        message: `Resource ${observation.name} is not in the manifest: it belongs to another build; rebuild the archive and the manifest together.`,
      }));
      continue;
    }
    checkAgainstEntry(observation, entry, out);
  }
  // A set, not a list: a 200,000-entry manifest with nothing present made `includes` quadratic.
  const missing = new Set<string>();
  if (options.requireComplete) {
    for (const entry of manifest.resources) {
      if (isExcluded(entry) && !present.has(entry.hash)) missing.add(entry.hash);
    }
    for (const hash of missing) {
      const entry = byHash.get(hash);
      out.add(lupError({
        code: 'RESOURCE_MISSING', location: { ...options.location, entry: hash },
        expected: `EXCLUDED resource ${hash}${entry?.url ? ` (${entry.url})` : ''} present`, actual: 'absent',
        message: `The manifest lists EXCLUDED resource ${entry?.url || hash} but the content does not include it; the game could not load it.`,
      }));
    }
  }
  return { errors: out.finish(options.location), missing: [...missing], resourceCount: observations.length };
}

/** The errors of one resource against its own manifest entry (header sizes and flags, payload size). */
export function checkResourceAgainstEntry(observation: ResourceObservation, entry: ManifestEntry): LupError[] {
  const out = new ErrorCollector();
  checkAgainstEntry(observation, entry, out);
  return out.finish();
}

function checkAgainstEntry(observation: ResourceObservation, entry: ManifestEntry, out: ErrorCollector): void {
  const { location, name } = observation;
  let header;
  try {
    header = parseResourceHeader(observation.header, location, entry.size);
  } catch (error) {
    out.add(error as LupError);
    return;
  }
  if (entry.size === undefined || entry.compressedSize === undefined) return; // old schema: no sizes
  const compressed = (entry.flags & ENTRY_FLAG.COMPRESSED) !== 0;
  if (header.uncompressedSizeBytes !== entry.size) {
    out.add(lupError({
      code: 'RESOURCE_SIZE_MISMATCH', location: { ...location, offset: 0, field: 'header.size' },
      expected: `${entry.size} bytes (manifest size)`, actual: `${header.uncompressedSizeBytes} bytes`,
      message: `Resource ${name}'s header gives another uncompressed size than the manifest.`,
    }));
  }
  const expectedPayload = compressed && entry.compressedSize !== NOT_COMPRESSED ? entry.compressedSize : entry.size;
  if (observation.payloadSizeBytes !== expectedPayload) {
    out.add(lupError({
      code: 'RESOURCE_SIZE_MISMATCH', location,
      expected: `${expectedPayload} payload bytes (manifest ${compressed ? 'compressed_size' : 'size'})`, actual: `${observation.payloadSizeBytes} bytes`,
      message: `Resource ${name} has another payload size than the manifest lists.`,
    }));
  }
  const headerCompressed = (header.flags & HEADER_FLAG.COMPRESSED) !== 0;
  const headerEncrypted = (header.flags & HEADER_FLAG.ENCRYPTED) !== 0;
  const encrypted = (entry.flags & ENTRY_FLAG.ENCRYPTED) !== 0;
  if (headerCompressed !== compressed || headerEncrypted !== encrypted) {
    out.add(lupError({
      code: 'RESOURCE_HEADER_INVALID', location: { ...location, offset: 4, field: 'header.flags' },
      expected: `compressed=${compressed}, encrypted=${encrypted} (manifest flags ${entry.flags})`,
      actual: `compressed=${headerCompressed}, encrypted=${headerEncrypted} (header flags ${header.flags})`,
      message: `Resource ${name}'s header flags disagree with the manifest.`,
    }));
  }
}
