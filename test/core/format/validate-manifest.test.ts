/**
 * One test per manifest rule: each builds a manifest that breaks exactly that rule (with the
 * factory, or by mutating a real manifest and re-encoding it) and expects exactly its code.
 */
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { sha1OfText } from '../../../lib/core/format/digest';
import { isLupError } from '../../../lib/core/errors';
import { ENTRY_FLAG, NOT_COMPRESSED, type Manifest } from '../../../lib/core/format/manifest';
import { decodeManifest, encodeManifestData, encodeManifestFile } from '../../../lib/core/format/manifest-codec';
import { validateManifest } from '../../../lib/core/format/validate-manifest';
import { createContent } from '../../../lib/factory/content-factory';
import { reencode, withEntry } from '../../helpers/content-builders';
import { REAL_BUILDS, fixturePublicKey } from '../../helpers/real-fixtures';

const keys = generateKeyPairSync('rsa', { modulusLength: 1024 });
const otherKeys = generateKeyPairSync('rsa', { modulusLength: 1024 });

/** A small, valid, signed schema-5 manifest with compressed, excluded entries and dependants. */
function factoryManifest(schema: 'v5' | 'legacy' = 'v5'): Manifest {
  return createContent({ seed: 11, resourceCount: 24, schema, compressedFraction: 0.5, dependants: true, privateKey: keys.privateKey, projectTitle: 'Rule Game', engineVersions: ['1.9.0'] }).manifest;
}

function codes(manifest: Manifest, policy: Parameters<typeof validateManifest>[1] = {}): string[] {
  return validateManifest(manifest, policy).errors.map((e) => e.code);
}

/** Expects `fn` to throw a LupError with `code`, and returns it. */
function decodeError(bytes: Uint8Array): unknown {
  let caught: unknown;
  expect(() => {
    try {
      decodeManifest(bytes, { file: 'bad.dmanifest' });
    } catch (error) {
      caught = error;
      throw error;
    }
  }).toThrow();
  expect(isLupError(caught)).toBe(true);
  return caught;
}

const firstIndex = (manifest: Manifest, flag: number): number => manifest.resources.findIndex((e) => (e.flags & flag) !== 0);

describe(validateManifest, () => {
  it('accepts the factory manifest with the full policy', () => {
    const findings = validateManifest(factoryManifest(), { projectTitle: 'Rule Game', publicKey: keys.publicKey, supportedEngineVersions: ['1.9.0'] });
    expect(findings.errors).toEqual([]);
    expect(findings.signature).toBe('valid');
  });

  it('refuses a resource hash algorithm the format does not define (MANIFEST_HASH_ALGORITHM_UNSUPPORTED)', () => {
    const { manifest } = reencode(factoryManifest(), { resourceHashAlgorithmCode: 7 });
    const [error] = validateManifest(manifest).errors;
    expect(error).toMatchObject({ code: 'MANIFEST_HASH_ALGORITHM_UNSUPPORTED', actual: '7', location: { field: 'data.header.resource_hash_algorithm' } });
  });

  it('refuses an unknown signature hash algorithm (MANIFEST_HASH_ALGORITHM_UNSUPPORTED)', () => {
    const { manifest } = reencode(factoryManifest(), { signatureHashAlgorithmCode: 0 });
    expect(codes(manifest)).toEqual(['MANIFEST_HASH_ALGORITHM_UNSUPPORTED']);
  });

  it('refuses a sign algorithm other than RSA (MANIFEST_SIGN_ALGORITHM_UNSUPPORTED)', () => {
    const { manifest } = reencode(factoryManifest(), { signAlgorithmCode: 2 });
    expect(codes(manifest)).toEqual(['MANIFEST_SIGN_ALGORITHM_UNSUPPORTED']);
  });

  it('refuses a project identifier that is not 20 bytes (MANIFEST_DIGEST_LENGTH_INVALID)', () => {
    const { manifest } = reencode(factoryManifest(), { projectIdentifier: 'ab'.repeat(16) });
    expect(validateManifest(manifest).errors).toEqual([expect.objectContaining({ code: 'MANIFEST_DIGEST_LENGTH_INVALID', actual: '16 bytes' })]);
  });

  it('refuses an engine-version digest that is not SHA-1 (MANIFEST_DIGEST_LENGTH_INVALID)', () => {
    const { manifest } = reencode(factoryManifest(), { engineVersions: [sha1OfText(''), 'abcd'] });
    expect(validateManifest(manifest).errors).toEqual([expect.objectContaining({ code: 'MANIFEST_DIGEST_LENGTH_INVALID', location: { field: 'data.engine_versions[1]' } })]);
  });

  it('refuses an entry digest of the wrong length for the algorithm (MANIFEST_DIGEST_LENGTH_INVALID)', () => {
    const base = factoryManifest();
    const { manifest } = reencode(base, { resources: withEntry(base, 3, (e) => ({ ...e, hash: e.hash.slice(0, 32) })) });
    expect(validateManifest(manifest).errors).toEqual([expect.objectContaining({ code: 'MANIFEST_DIGEST_LENGTH_INVALID', location: { field: 'data.resources[3].hash' } })]);
  });

  it('refuses a manifest from another project (MANIFEST_PROJECT_MISMATCH)', () => {
    const [error] = validateManifest(factoryManifest(), { projectTitle: 'Another Game' }).errors;
    expect(error).toMatchObject({ code: 'MANIFEST_PROJECT_MISMATCH', actual: sha1OfText('Rule Game') });
    expect(error.expected).toContain(sha1OfText('Another Game'));
  });

  it('refuses content that does not list a required engine version (MANIFEST_ENGINE_UNSUPPORTED)', () => {
    const [error] = validateManifest(factoryManifest(), { supportedEngineVersions: ['1.9.0', '1.10.0'] }).errors;
    expect(error).toMatchObject({ code: 'MANIFEST_ENGINE_UNSUPPORTED' });
    expect(error.expected).toContain('1.10.0');
  });

  it('refuses an entry whose url_hash is not the hash of its url (MANIFEST_URL_HASH_MISMATCH)', () => {
    const base = factoryManifest();
    const { manifest } = reencode(base, { resources: withEntry(base, 5, (e) => ({ ...e, url: `${e.url}.renamed` })) });
    expect(validateManifest(manifest).errors).toEqual([expect.objectContaining({ code: 'MANIFEST_URL_HASH_MISMATCH', location: { field: 'data.resources[5].url_hash' } })]);
  });

  it('does not check url_hash when the url is empty (release builds)', () => {
    const base = factoryManifest();
    const { manifest } = reencode(base, { resources: base.resources.map((e) => ({ ...e, url: '' })) });
    expect(codes(manifest)).toEqual([]);
  });

  it('refuses entries not sorted by url_hash (MANIFEST_NOT_SORTED)', () => {
    const base = factoryManifest();
    const swapped = [...base.resources];
    [swapped[0], swapped[1]] = [swapped[1], swapped[0]];
    const { manifest } = reencode(base, { resources: swapped });
    expect(codes(manifest)).toEqual(['MANIFEST_NOT_SORTED']);
  });

  it('refuses the same url_hash twice (MANIFEST_DUPLICATE_ENTRY)', () => {
    const base = factoryManifest();
    const doubled = [...base.resources.slice(0, 4), base.resources[3], ...base.resources.slice(4)];
    const { manifest } = reencode(base, { resources: doubled });
    expect(validateManifest(manifest).errors).toEqual([expect.objectContaining({ code: 'MANIFEST_DUPLICATE_ENTRY', location: { field: 'data.resources[4].url_hash' } })]);
  });

  it('refuses a COMPRESSED entry without a compressed size (MANIFEST_SIZE_INCONSISTENT)', () => {
    const base = factoryManifest();
    const i = firstIndex(base, ENTRY_FLAG.COMPRESSED);
    const { manifest } = reencode(base, { resources: withEntry(base, i, (e) => ({ ...e, compressedSize: NOT_COMPRESSED })) });
    expect(codes(manifest)).toEqual(['MANIFEST_SIZE_INCONSISTENT']);
  });

  it('refuses a compressed size larger than the size (MANIFEST_SIZE_INCONSISTENT)', () => {
    const base = factoryManifest();
    const i = firstIndex(base, ENTRY_FLAG.COMPRESSED);
    const { manifest } = reencode(base, { resources: withEntry(base, i, (e) => ({ ...e, compressedSize: (e.size ?? 0) + 1 })) });
    expect(codes(manifest)).toEqual(['MANIFEST_SIZE_INCONSISTENT']);
  });

  it('refuses a compressed size on an entry not flagged COMPRESSED (MANIFEST_SIZE_INCONSISTENT)', () => {
    const base = factoryManifest();
    const i = base.resources.findIndex((e) => (e.flags & ENTRY_FLAG.COMPRESSED) === 0);
    const { manifest } = reencode(base, { resources: withEntry(base, i, (e) => ({ ...e, compressedSize: 1 })) });
    expect(codes(manifest)).toEqual(['MANIFEST_SIZE_INCONSISTENT']);
  });

  it('refuses an entry both BUNDLED and EXCLUDED (MANIFEST_FLAGS_INVALID)', () => {
    const base = factoryManifest();
    const { manifest } = reencode(base, { resources: withEntry(base, 0, (e) => ({ ...e, flags: e.flags | ENTRY_FLAG.BUNDLED | ENTRY_FLAG.EXCLUDED })) });
    expect(codes(manifest)).toEqual(['MANIFEST_FLAGS_INVALID']);
  });

  it('refuses flag bits the format does not define (MANIFEST_FLAGS_INVALID)', () => {
    const base = factoryManifest();
    const { manifest } = reencode(base, { resources: withEntry(base, 0, (e) => ({ ...e, flags: e.flags | 16 })) });
    expect(codes(manifest)).toEqual(['MANIFEST_FLAGS_INVALID']);
  });

  it('refuses COMPRESSED in the old schema, which only knows BUNDLED and EXCLUDED (MANIFEST_FLAGS_INVALID)', () => {
    const base = decodeManifest(readFileSync(REAL_BUILDS[0].manifestPath));
    expect(base.schema).toBe('legacy');
    const { manifest } = reencode(base, { resources: withEntry(base, 2, (e) => ({ ...e, flags: e.flags | ENTRY_FLAG.COMPRESSED })) });
    expect(codes(manifest)).toEqual(['MANIFEST_FLAGS_INVALID']);
  });

  it('refuses a dependant url_hash the manifest does not list (MANIFEST_DEPENDANT_UNRESOLVED)', () => {
    const base = factoryManifest();
    const i = base.resources.findIndex((e) => e.dependants.length > 0);
    expect(i).toBeGreaterThanOrEqual(0);
    const { manifest } = reencode(base, { resources: withEntry(base, i, (e) => ({ ...e, dependants: [...e.dependants, 12345n] })) });
    expect(validateManifest(manifest).errors).toEqual([expect.objectContaining({ code: 'MANIFEST_DEPENDANT_UNRESOLVED', actual: '12345' })]);
  });

  it('refuses an old-schema dependant index out of range (MANIFEST_DEPENDANT_UNRESOLVED)', () => {
    const base = factoryManifest('legacy');
    const manifest: Manifest = { ...base, resources: withEntry(base, 0, (e) => ({ ...e, dependants: [BigInt(base.resources.length)] })) };
    expect(codes(manifest)).toEqual(['MANIFEST_DEPENDANT_UNRESOLVED']);
  });

  it('resolves old-schema dependants as indices (the factory writes them so)', () => {
    const base = factoryManifest('legacy');
    expect(base.resources.some((e) => e.dependants.length > 0)).toBe(true);
    expect(codes(base)).toEqual([]);
  });

  it('refuses an unsigned manifest when a key is configured (SIGNATURE_MISSING)', () => {
    const { manifest } = reencode(factoryManifest());
    expect(manifest.signature).toHaveLength(0);
    const findings = validateManifest(manifest, { publicKey: keys.publicKey });
    expect(findings.errors.map((e) => e.code)).toEqual(['SIGNATURE_MISSING']);
    expect(findings.signature).toBe('missing');
  });

  it('accepts an unsigned manifest with allowUnsigned', () => {
    const { manifest } = reencode(factoryManifest());
    expect(codes(manifest, { publicKey: keys.publicKey, allowUnsigned: true })).toEqual([]);
  });

  it('accepts an unsigned manifest when no key is configured', () => {
    expect(codes(reencode(factoryManifest()).manifest)).toEqual([]);
  });

  it('refuses a manifest signed with another key (SIGNATURE_INVALID)', () => {
    const { manifest } = reencode(factoryManifest(), {}, otherKeys.privateKey);
    expect(codes(manifest, { publicKey: keys.publicKey })).toEqual(['SIGNATURE_INVALID']);
  });

  it('refuses a manifest whose data changed after signing (SIGNATURE_INVALID)', () => {
    const real = decodeManifest(readFileSync(REAL_BUILDS[2].manifestPath));
    const data = encodeManifestData({ ...real, engineVersions: [...real.engineVersions, sha1OfText('1.12.0')] });
    const tampered = decodeManifest(encodeManifestFile({ ...real, data }));
    expect(codes(tampered, { publicKey: fixturePublicKey() })).toEqual(['SIGNATURE_INVALID']);
  });

  it('refuses a wrong-key signature even with allowUnsigned', () => {
    const { manifest } = reencode(factoryManifest(), {}, otherKeys.privateKey);
    expect(codes(manifest, { publicKey: keys.publicKey, allowUnsigned: true })).toEqual(['SIGNATURE_INVALID']);
  });

  it('reports every broken rule at once', () => {
    const base = factoryManifest();
    const { manifest } = reencode(base, { signAlgorithmCode: 0, resources: withEntry(base, 0, (e) => ({ ...e, flags: e.flags | 3 })) });
    expect(codes(manifest, { projectTitle: 'x' }).sort()).toEqual(['MANIFEST_FLAGS_INVALID', 'MANIFEST_PROJECT_MISMATCH', 'MANIFEST_SIGN_ALGORITHM_UNSUPPORTED']);
  });

  it('lists at most 20 violations of one rule and counts the rest', () => {
    const base = createContent({ seed: 3, resourceCount: 60 }).manifest;
    const { manifest } = reencode(base, { resources: base.resources.map((e) => ({ ...e, url: `${e.url}x` })) });
    const errors = validateManifest(manifest).errors;
    expect(errors).toHaveLength(21);
    expect(errors[20]).toMatchObject({ code: 'MANIFEST_URL_HASH_MISMATCH', actual: '60 violations' });
  });
});

describe(decodeManifest, () => {
  it('refuses a ManifestFile.version other than 5 (MANIFEST_VERSION_UNSUPPORTED)', () => {
    const bytes = readFileSync(REAL_BUILDS[1].manifestPath);
    // Field 4 (version), varint 4: protobuf keeps the last value of a repeated scalar field.
    const error = decodeError(Buffer.concat([bytes, Buffer.from([0x20, 0x04])]));
    expect(error).toMatchObject({ code: 'MANIFEST_VERSION_UNSUPPORTED', expected: '5', actual: '4', location: { file: 'bad.dmanifest', field: 'ManifestFile.version' } });
  });

  it('refuses a manifest without version whose header has no magic number (MANIFEST_SCHEMA_UNKNOWN)', () => {
    const v5 = factoryManifest();
    // Schema-5 data inside a version-less file: neither layout.
    const error = decodeError(encodeManifestFile({ ...v5, schema: 'legacy' }));
    expect(error).toMatchObject({ code: 'MANIFEST_SCHEMA_UNKNOWN' });
  });

  it('refuses bytes that are not protobuf (MANIFEST_UNREADABLE)', () => {
    const error = decodeError(Buffer.from('this is not a manifest at all', 'utf8'));
    expect(error).toMatchObject({ code: 'MANIFEST_UNREADABLE', location: { file: 'bad.dmanifest' } });
  });

  it('refuses a truncated manifest (MANIFEST_UNREADABLE)', () => {
    const bytes = readFileSync(REAL_BUILDS[2].manifestPath);
    expect(decodeError(bytes.subarray(0, bytes.length - 300))).toMatchObject({ code: 'MANIFEST_UNREADABLE' });
  });

  it('refuses an empty file (MANIFEST_UNREADABLE)', () => {
    expect(decodeError(new Uint8Array(0))).toMatchObject({ code: 'MANIFEST_UNREADABLE' });
  });

  it('keeps an absent archive identifier absent, so re-encoding is byte-identical', () => {
    const { bytes } = reencode(factoryManifest(), { archiveIdentifier: undefined });
    const decoded = decodeManifest(bytes);
    expect(decoded.archiveIdentifier).toBeUndefined();
    expect(Buffer.from(encodeManifestFile(decoded)).equals(Buffer.from(bytes))).toBe(true);
  });
});
