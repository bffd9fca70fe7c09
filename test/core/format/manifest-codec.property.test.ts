/**
 * Properties of the manifest codec and the verifiers: round trips of factory-made and arbitrary
 * manifests, and robustness: random and mutated bytes give a LupError or a result, never another
 * exception and never a hang.
 */
import { readFileSync } from 'node:fs';
import * as fc from 'fast-check';
import { bytesSource } from '../../../lib/core/format/byte-source';
import { isLupError } from '../../../lib/core/errors';
import type { Manifest, ManifestEntry, ManifestInput } from '../../../lib/core/format/manifest';
import { decodeManifest, encodeManifest, encodeManifestFile } from '../../../lib/core/format/manifest-codec';
import { validateManifest } from '../../../lib/core/format/validate-manifest';
import { verifyArchive } from '../../../lib/core/format/verify-archive';
import { createContent } from '../../../lib/factory/content-factory';
import { zipContent } from '../../../lib/factory/write-content';
import { REAL_BUILDS } from '../../helpers/real-fixtures';

const hex = (bytes: Uint8Array | undefined): string | undefined => (bytes === undefined ? undefined : Buffer.from(bytes).toString('hex'));

/** A manifest as comparable plain data (byte fields as hex). */
function plain(m: Omit<Manifest, 'data'>): unknown {
  return { ...m, data: undefined, signature: hex(m.signature), archiveIdentifier: hex(m.archiveIdentifier) };
}

const hexDigest = fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b).toString('hex'));
const uint64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
const uint32 = fc.nat({ max: 0xffffffff });
const enumCode = fc.nat({ max: 0x7fffffff });

const header = fc.record({
  resourceHashAlgorithmCode: enumCode,
  signatureHashAlgorithmCode: enumCode,
  signAlgorithmCode: enumCode,
  projectIdentifier: hexDigest,
  engineVersions: fc.array(hexDigest, { maxLength: 4 }),
  signature: fc.uint8Array({ maxLength: 300 }),
  archiveIdentifier: fc.option(fc.uint8Array({ maxLength: 16 }), { nil: undefined }),
});

const v5Entry: fc.Arbitrary<ManifestEntry> = fc.record({
  hash: hexDigest,
  url: fc.string({ maxLength: 40 }),
  urlHash: uint64,
  size: uint32,
  compressedSize: uint32,
  flags: uint32,
  dependants: fc.array(uint64, { maxLength: 3 }),
});

const v5Manifest: fc.Arbitrary<ManifestInput> = fc.record({ h: header, resources: fc.array(v5Entry, { maxLength: 12 }) })
  .map(({ h, resources }) => ({ schema: 'v5', version: 5, ...h, resources }));

/** Old-schema dependants are indices below the entry count (the decoder relies on it to tell 2017 builds apart). */
const legacyManifest: fc.Arbitrary<ManifestInput> = fc.nat({ max: 12 }).chain((count) =>
  fc.record({
    h: header,
    version: fc.nat({ max: 0x7fffffff }),
    resources: fc.array(
      fc.record({
        hash: hexDigest,
        url: fc.string({ maxLength: 40 }),
        urlHash: uint64,
        flags: uint32,
        dependants: count === 0 ? fc.constant([]) : fc.array(fc.nat({ max: count - 1 }).map(BigInt), { maxLength: 3 }),
      }),
      { minLength: count, maxLength: count },
    ),
  }).map(({ h, version, resources }): ManifestInput => ({ schema: 'legacy', version, ...h, resources })));

/** Decoding gives a manifest or throws a LupError, and validating a decoded manifest never throws. */
function decodesOrRefuses(bytes: Uint8Array): boolean {
  let manifest: Manifest;
  try {
    manifest = decodeManifest(bytes);
  } catch (error) {
    if (!isLupError(error)) throw error;
    return true;
  }
  validateManifest(manifest, { projectTitle: 'x', supportedEngineVersions: ['1.6.2'] });
  return true;
}

/** Byte-level mutations: flip, overwrite, truncate, insert, delete. */
function mutation(length: number) {
  const at = fc.nat({ max: Math.max(0, length - 1) });
  return fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at, mask: fc.integer({ min: 1, max: 255 }) }),
    fc.record({ kind: fc.constant('truncate' as const), at }),
    fc.record({ kind: fc.constant('insert' as const), at, bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
    fc.record({ kind: fc.constant('delete' as const), at, count: fc.integer({ min: 1, max: 16 }) }),
  );
}
type Mutation = ReturnType<typeof mutation> extends fc.Arbitrary<infer T> ? T : never;

function mutate(bytes: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  let out = Buffer.from(bytes);
  for (const m of mutations) {
    const at = Math.min(m.at, Math.max(0, out.length - 1));
    if (m.kind === 'flip' && out.length > 0) out[at] ^= m.mask;
    if (m.kind === 'truncate') out = out.subarray(0, at);
    if (m.kind === 'insert') out = Buffer.concat([out.subarray(0, at), m.bytes, out.subarray(at)]);
    if (m.kind === 'delete') out = Buffer.concat([out.subarray(0, at), out.subarray(at + m.count)]);
  }
  return out;
}

describe('manifest codec round trips', () => {
  it('decodes every factory manifest (v5 and legacy) to what the factory built, and re-encodes it byte-identically', () => {
    fc.assert(
      fc.property(
        fc.record({
          seed: fc.nat(),
          resourceCount: fc.nat({ max: 40 }),
          schema: fc.constantFrom('v5' as const, 'legacy' as const),
          dependants: fc.boolean(),
          keepUrls: fc.boolean(),
          compressedFraction: fc.double({ min: 0, max: 1, noNaN: true }),
          encryptedFraction: fc.double({ min: 0, max: 1, noNaN: true }),
          bundledFraction: fc.double({ min: 0, max: 1, noNaN: true }),
          resourcesPerLevel: fc.integer({ min: 1, max: 10 }),
        }),
        (options) => {
          const content = createContent({ ...options, manifestOnly: true });
          const decoded = decodeManifest(content.manifestBytes);
          expect(plain(decoded)).toEqual(plain(content.manifest));
          expect(Buffer.from(encodeManifestFile(decoded)).equals(Buffer.from(content.manifestBytes))).toBe(true);
          expect(validateManifest(decoded).errors).toEqual([]);
        },
      ),
      { numRuns: 150 },
    );
  });

  it.each([
    ['schema 5', v5Manifest],
    ['the old schema', legacyManifest],
  ])('round-trips arbitrary manifests of %s', (_name, arbitrary) => {
    fc.assert(
      fc.property(arbitrary, (input) => {
        const { signature, ...unsigned } = input;
        const { bytes, manifest } = encodeManifest(unsigned, () => signature);
        const decoded = decodeManifest(bytes);
        expect(plain(decoded)).toEqual(plain(manifest));
        expect(hex(decoded.data)).toBe(hex(manifest.data));
        expect(hex(encodeManifestFile(decoded))).toBe(hex(bytes));
      }),
      { numRuns: 300 },
    );
  });
});

describe('robustness against hostile bytes', () => {
  it('gives a LupError or a manifest for random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 2000 }), decodesOrRefuses), { numRuns: 1000 });
  });

  it.each(REAL_BUILDS)('gives a LupError or a manifest for mutations of the real $name manifest', (build) => {
    const bytes = readFileSync(build.manifestPath);
    fc.assert(fc.property(fc.array(mutation(bytes.length), { minLength: 1, maxLength: 4 }), (mutations) => decodesOrRefuses(mutate(bytes, mutations))), { numRuns: 400 });
  });

  it('reports mutated factory zips with LupErrors only, never INTERNAL', async () => {
    const content = createContent({ seed: 5, resourceCount: 12, compressedFraction: 0.5, customFiles: [{ name: 'version_levels.json', bytes: Buffer.from('{}') }] });
    const zips = [await zipContent(content), await zipContent(content, { compress: false })];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...zips), fc.array(mutation(zips[0].length), { minLength: 1, maxLength: 3 }), async (zip, mutations) => {
        const report = await verifyArchive(bytesSource(mutate(zip, mutations)));
        expect(report.errors.every(isLupError)).toBe(true);
        expect(report.errors.filter((e) => e.code === 'INTERNAL').map((e) => e.message)).toEqual([]);
        expect(report.valid).toBe(report.errors.length === 0);
      }),
      { numRuns: 250, timeout: 5000 },
    );
  });

  it('reports mutated real zips with LupErrors only, never INTERNAL', async () => {
    const zip = readFileSync(REAL_BUILDS[2].zipPath);
    await fc.assert(
      fc.asyncProperty(fc.array(mutation(zip.length), { minLength: 1, maxLength: 2 }), async (mutations) => {
        const report = await verifyArchive(bytesSource(mutate(zip, mutations)));
        expect(report.errors.every(isLupError)).toBe(true);
        expect(report.errors.filter((e) => e.code === 'INTERNAL').map((e) => e.message)).toEqual([]);
      }),
      { numRuns: 25, timeout: 5000 },
    );
  });
});
