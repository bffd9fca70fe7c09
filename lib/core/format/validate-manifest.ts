/**
 * The rules a manifest must pass before anything it references is served. Each rule has its own
 * error code; every violation is reported (up to a bound per rule), not only the first.
 */
import { DIGEST_BYTES, HASH_ALGORITHM_BY_CODE, sha1OfText } from './digest';
import { isLupError, lupError, type ErrorCode, type ErrorLocation, type LupError } from '../errors';
import { decodeManifest, decodeManifestEnvelope } from './manifest-codec';
import { ENTRY_FLAG, KNOWN_ENTRY_FLAGS, NOT_COMPRESSED, type Manifest } from './manifest';
import { urlHash } from './murmur';
import type { ValidationPolicy } from './policy';
import { checkManifestSignature, checkRawSignature, type SignatureStatus } from './signature';

/** How many violations of one rule are listed before the rest are counted in one line. */
export const MAX_ERRORS_PER_RULE = 20;

/** Collects errors, bounded per code so a broken 100 000-entry manifest stays readable. */
export class ErrorCollector {
  readonly errors: LupError[] = [];
  private readonly counts = new Map<ErrorCode, number>();

  add(error: LupError): void {
    const n = (this.counts.get(error.code) ?? 0) + 1;
    this.counts.set(error.code, n);
    if (n <= MAX_ERRORS_PER_RULE) this.errors.push(error);
  }

  /** Append one summary error per rule that overflowed. */
  finish(location?: ErrorLocation): LupError[] {
    for (const [code, n] of this.counts) {
      if (n > MAX_ERRORS_PER_RULE) {
        this.errors.push(lupError({
          code,
          location,
          actual: `${n} violations`,
          message: `${n - MAX_ERRORS_PER_RULE} more violations of ${code} were found and not listed.`,
        }));
      }
    }
    return this.errors;
  }
}

/** What the manifest rules found, besides errors. */
export interface ManifestFindings {
  readonly errors: LupError[];
  /** Signature status, when a key was given. */
  readonly signature?: SignatureStatus;
}

function entryField(index: number, field: string): string {
  return `data.resources[${index}].${field}`;
}

/** Check a decoded manifest against the format's rules and the game's policy. */
export function validateManifest(manifest: Manifest, policy: ValidationPolicy = {}, location?: ErrorLocation): ManifestFindings {
  const out = new ErrorCollector();
  const at = (field: string): ErrorLocation => ({ ...location, field });

  const resourceAlgorithm = HASH_ALGORITHM_BY_CODE[manifest.resourceHashAlgorithmCode];
  if (!resourceAlgorithm) {
    out.add(lupError({
      code: 'MANIFEST_HASH_ALGORITHM_UNSUPPORTED', location: at('data.header.resource_hash_algorithm'),
      expected: 'MD5 (1), SHA-1 (2), SHA-256 (3) or SHA-512 (4)', actual: `${manifest.resourceHashAlgorithmCode}`,
      message: `The manifest names resource hash algorithm ${manifest.resourceHashAlgorithmCode}, which the format does not define.`,
    }));
  }
  if (!HASH_ALGORITHM_BY_CODE[manifest.signatureHashAlgorithmCode]) {
    out.add(lupError({
      code: 'MANIFEST_HASH_ALGORITHM_UNSUPPORTED', location: at('data.header.signature_hash_algorithm'),
      expected: 'MD5 (1), SHA-1 (2), SHA-256 (3) or SHA-512 (4)', actual: `${manifest.signatureHashAlgorithmCode}`,
      message: `The manifest names signature hash algorithm ${manifest.signatureHashAlgorithmCode}, which the format does not define.`,
    }));
  }
  if (manifest.signAlgorithmCode !== 1) {
    out.add(lupError({
      code: 'MANIFEST_SIGN_ALGORITHM_UNSUPPORTED', location: at('data.header.signature_sign_algorithm'),
      expected: 'RSA (1)', actual: `${manifest.signAlgorithmCode}`,
      message: `The manifest names sign algorithm ${manifest.signAlgorithmCode}; Defold only defines RSA (1).`,
    }));
  }

  if (manifest.projectIdentifier.length !== 40) {
    out.add(lupError({
      code: 'MANIFEST_DIGEST_LENGTH_INVALID', location: at('data.header.project_identifier'),
      expected: '20 bytes (SHA-1)', actual: `${manifest.projectIdentifier.length / 2} bytes`,
      message: 'The project identifier is not a SHA-1 digest.',
    }));
  } else if (policy.projectTitle !== undefined) {
    const expected = sha1OfText(policy.projectTitle);
    if (expected !== manifest.projectIdentifier) {
      out.add(lupError({
        code: 'MANIFEST_PROJECT_MISMATCH', location: at('data.header.project_identifier'),
        expected: `SHA-1 of project title "${policy.projectTitle}" (${expected})`, actual: manifest.projectIdentifier,
        message: `The manifest was built from another project than "${policy.projectTitle}"; check project.title in game.project or the game's configured projectTitle.`,
      }));
    }
  }

  manifest.engineVersions.forEach((digest, i) => {
    if (digest.length !== 40) {
      out.add(lupError({
        code: 'MANIFEST_DIGEST_LENGTH_INVALID', location: at(`data.engine_versions[${i}]`),
        expected: '20 bytes (SHA-1 of an engine version string)', actual: `${digest.length / 2} bytes`,
        message: `Engine version digest ${i} is not a SHA-1 digest.`,
      }));
    }
  });
  const listed = new Set(manifest.engineVersions);
  for (const version of policy.supportedEngineVersions ?? []) {
    const digest = sha1OfText(version);
    if (!listed.has(digest)) {
      out.add(lupError({
        code: 'MANIFEST_ENGINE_UNSUPPORTED', location: at('data.engine_versions'),
        expected: `engine version "${version}" (SHA-1 ${digest}) in the list`,
        actual: `${manifest.engineVersions.length} digests: ${manifest.engineVersions.join(', ')}`,
        message: `The content does not support engine ${version}, which this game must support; build it with that engine or add it to supported-versions in liveupdate.settings.`,
      }));
    }
  }

  checkEntries(manifest, resourceAlgorithm ? DIGEST_BYTES[resourceAlgorithm] * 2 : undefined, out, at);

  let signature: SignatureStatus | undefined;
  if (policy.publicKey) {
    signature = checkManifestSignature(manifest, policy.publicKey);
    if (signature === 'missing' && !policy.allowUnsigned) out.add(signatureMissing(at('signature')));
    else if (signature === 'invalid') out.add(signatureInvalid(at('signature'), HASH_ALGORITHM_BY_CODE[manifest.signatureHashAlgorithmCode] ?? 'unknown', manifest.signature.length));
  }
  return { errors: out.finish(location), signature };
}

function signatureMissing(location: ErrorLocation): LupError {
  return lupError({
    code: 'SIGNATURE_MISSING', location,
    expected: 'an RSA signature made with the configured key', actual: 'an empty signature',
    message: 'The manifest is not signed but the game is configured with a public key; sign it, or set allowUnsigned for this game (bob since 2026 no longer signs).',
  });
}

function signatureInvalid(location: ErrorLocation, algorithm: string, signatureBytes: number): LupError {
  return lupError({
    code: 'SIGNATURE_INVALID', location,
    expected: `RSA signature of the ${algorithm} digest of ManifestFile.data with the configured key`,
    actual: `${signatureBytes} bytes that do not verify`,
    message: 'The manifest signature does not verify with the configured public key: the manifest was modified or signed with another key.',
  });
}

/**
 * Decode a manifest and check it against the rules, cheapest refusals first: with a configured key,
 * the signature is checked over the raw bytes before anything is decoded, and decoding itself is
 * bounded (`MANIFEST_DECODE_LIMITS`). Never throws for bad content.
 */
export function decodeCheckedManifest(bytes: Uint8Array, policy: ValidationPolicy, location?: ErrorLocation): { manifest?: Manifest; findings: ManifestFindings } {
  const at = (field: string): ErrorLocation => ({ ...location, field });
  try {
    if (policy.publicKey) {
      const envelope = decodeManifestEnvelope(bytes, location);
      const raw = checkRawSignature(envelope.data, envelope.signature, policy.publicKey);
      if (raw === 'missing' && !policy.allowUnsigned) return { findings: { errors: [signatureMissing(at('signature'))], signature: raw } };
      if (raw === 'invalid') return { findings: { errors: [signatureInvalid(at('signature'), 'signature hash', envelope.signature.length)], signature: raw } };
    }
    const manifest = decodeManifest(bytes, location);
    return { manifest, findings: validateManifest(manifest, policy, location) };
  } catch (error) {
    if (!isLupError(error)) throw error;
    return { findings: { errors: [error] } };
  }
}

function checkEntries(manifest: Manifest, hexLength: number | undefined, out: ErrorCollector, at: (f: string) => ErrorLocation): void {
  const resources = manifest.resources;
  const knownFlags = KNOWN_ENTRY_FLAGS[manifest.schema];
  const urlHashes = new Set<bigint>();
  const digests = manifest.schema === 'legacy-2017' ? new Set(resources.map((r) => r.hash)) : undefined;
  for (const r of resources) urlHashes.add(r.urlHash);
  let previous: bigint | undefined;
  resources.forEach((entry, i) => {
    if (hexLength !== undefined && entry.hash.length !== hexLength) {
      out.add(lupError({
        code: 'MANIFEST_DIGEST_LENGTH_INVALID', location: at(entryField(i, 'hash')),
        expected: `${hexLength / 2} bytes`, actual: `${entry.hash.length / 2} bytes`,
        message: `Resource ${i} (${entry.url || entry.hash}) has a digest of the wrong length for the manifest's hash algorithm.`,
      }));
    }
    if (entry.url !== '') {
      const computed = urlHash(entry.url);
      if (computed !== entry.urlHash) {
        out.add(lupError({
          code: 'MANIFEST_URL_HASH_MISMATCH', location: at(entryField(i, 'url_hash')),
          expected: `${computed} (hash of "${entry.url}")`, actual: `${entry.urlHash}`,
          message: `Resource ${i} (${entry.url}) has a url_hash that is not the hash of its url; the engine would not find it.`,
        }));
      }
    }
    if (previous !== undefined) {
      if (entry.urlHash === previous) {
        out.add(lupError({
          code: 'MANIFEST_DUPLICATE_ENTRY', location: at(entryField(i, 'url_hash')),
          expected: 'each url_hash once', actual: `${entry.urlHash} again`,
          message: `Resource ${i} (${entry.url || entry.hash}) repeats the url_hash of the resource before it.`,
        }));
      } else if (entry.urlHash < previous) {
        out.add(lupError({
          code: 'MANIFEST_NOT_SORTED', location: at(entryField(i, 'url_hash')),
          expected: `a url_hash greater than ${previous}`, actual: `${entry.urlHash}`,
          message: `Resources are not sorted by url_hash at index ${i}; the engine binary-searches them and would miss resources.`,
        }));
      }
    }
    previous = entry.urlHash;
    checkFlagsAndSizes(manifest, entry, i, knownFlags, out, at);
    entry.dependants.forEach((d, j) => {
      const resolved = manifest.schema === 'v5' ? urlHashes.has(d) : d < BigInt(resources.length);
      if (!resolved) {
        out.add(lupError({
          code: 'MANIFEST_DEPENDANT_UNRESOLVED', location: at(entryField(i, `dependants[${j}]`)),
          expected: manifest.schema === 'v5' ? 'the url_hash of a resource in this manifest' : `an index below ${resources.length}`,
          actual: `${d}`,
          message: `Resource ${i} (${entry.url || entry.hash}) depends on a resource the manifest does not list.`,
        }));
      }
    });
    entry.dependantDigests?.forEach((d, j) => {
      if (!digests?.has(d)) {
        out.add(lupError({
          code: 'MANIFEST_DEPENDANT_UNRESOLVED', location: at(entryField(i, `dependants[${j}]`)),
          expected: 'the digest of a resource in this manifest', actual: d,
          message: `Resource ${i} (${entry.url || entry.hash}) depends on a resource the manifest does not list.`,
        }));
      }
    });
  });
}

function checkFlagsAndSizes(
  manifest: Manifest, entry: Manifest['resources'][number], i: number, knownFlags: number,
  out: ErrorCollector, at: (f: string) => ErrorLocation,
): void {
  const name = entry.url || entry.hash;
  if ((entry.flags & ~knownFlags) !== 0 || ((entry.flags & ENTRY_FLAG.BUNDLED) !== 0 && (entry.flags & ENTRY_FLAG.EXCLUDED) !== 0)) {
    out.add(lupError({
      code: 'MANIFEST_FLAGS_INVALID', location: at(entryField(i, 'flags')),
      expected: `bits of ${knownFlags}, never BUNDLED and EXCLUDED together`, actual: `${entry.flags}`,
      message: `Resource ${i} (${name}) has flags the format does not allow.`,
    }));
  }
  if (manifest.schema !== 'v5' || entry.size === undefined || entry.compressedSize === undefined) return;
  const compressed = (entry.flags & ENTRY_FLAG.COMPRESSED) !== 0;
  if (compressed && (entry.compressedSize === NOT_COMPRESSED || entry.compressedSize > entry.size)) {
    out.add(lupError({
      code: 'MANIFEST_SIZE_INCONSISTENT', location: at(entryField(i, 'compressed_size')),
      expected: `a compressed size no larger than the size (${entry.size}) for a COMPRESSED resource`, actual: `${entry.compressedSize}`,
      message: `Resource ${i} (${name}) is flagged COMPRESSED but its compressed size does not fit.`,
    }));
  } else if (!compressed && entry.compressedSize !== NOT_COMPRESSED) {
    out.add(lupError({
      code: 'MANIFEST_SIZE_INCONSISTENT', location: at(entryField(i, 'compressed_size')),
      expected: `${NOT_COMPRESSED} (not compressed)`, actual: `${entry.compressedSize}`,
      message: `Resource ${i} (${name}) is not flagged COMPRESSED but has a compressed size.`,
    }));
  }
}
