/**
 * The real bob-built artifacts as test vectors: the codec, the url hash, the signature and the
 * archive verification must all agree with what bob wrote.
 */
import { readFileSync } from 'node:fs';
import { fileByteSource } from '../../../lib/adapters/file-source';
import { sha1OfText } from '../../../lib/core/format/digest';
import { decodeManifest, encodeManifestData, encodeManifestFile } from '../../../lib/core/format/manifest-codec';
import { urlHash } from '../../../lib/core/format/murmur';
import { checkManifestSignature, signManifestData } from '../../../lib/core/format/signature';
import { validateManifest } from '../../../lib/core/format/validate-manifest';
import { verifyArchive } from '../../../lib/core/format/verify-archive';
import { FIXTURE_PROJECT_TITLE, REAL_BUILDS, fixturePrivateKey, fixturePublicKey } from '../../helpers/real-fixtures';

describe.each(REAL_BUILDS)('real build $name', (build) => {
  const bytes = readFileSync(build.manifestPath);

  it('decodes with the schema and entry count bob wrote', () => {
    const manifest = decodeManifest(bytes);
    expect(manifest.schema).toBe(build.schema);
    expect(manifest.resources).toHaveLength(build.resourceCount);
    expect(manifest.projectIdentifier).toBe(sha1OfText(FIXTURE_PROJECT_TITLE));
    expect(manifest.engineVersions).toEqual(expect.arrayContaining([sha1OfText(build.engineVersion), sha1OfText('')]));
  });

  it('re-encodes byte-identically, data and file', () => {
    const manifest = decodeManifest(bytes);
    expect(Buffer.from(encodeManifestData(manifest)).equals(Buffer.from(manifest.data))).toBe(true);
    expect(Buffer.from(encodeManifestFile(manifest)).equals(bytes)).toBe(true);
  });

  it('has a url_hash equal to urlHash(url) for every entry (test vectors of the murmur port)', () => {
    const manifest = decodeManifest(bytes);
    const mismatches = manifest.resources.filter((e) => urlHash(e.url) !== e.urlHash).map((e) => e.url);
    expect(manifest.resources.every((e) => e.url.length > 0)).toBe(true);
    expect(mismatches).toEqual([]);
  });

  it('has a signature that verifies with the project public key', () => {
    const manifest = decodeManifest(bytes);
    expect(checkManifestSignature(manifest, fixturePublicKey())).toBe('valid');
  });

  it('has the exact signature signManifestData makes with the private key', () => {
    const manifest = decodeManifest(bytes);
    const signature = signManifestData(manifest.data, fixturePrivateKey(), manifest.signatureHashAlgorithmCode);
    expect(Buffer.from(signature).toString('hex')).toBe(Buffer.from(manifest.signature).toString('hex'));
  });

  it('passes every manifest rule with the project policy', () => {
    const findings = validateManifest(decodeManifest(bytes), {
      projectTitle: FIXTURE_PROJECT_TITLE, publicKey: fixturePublicKey(), supportedEngineVersions: [build.engineVersion],
    });
    expect(findings.errors).toEqual([]);
    expect(findings.signature).toBe('valid');
  });

  it('is the same manifest as the one inside its zip, which verifies completely', async () => {
    const source = await fileByteSource(build.zipPath);
    try {
      const report = await verifyArchive(source, {
        policy: { projectTitle: FIXTURE_PROJECT_TITLE, publicKey: fixturePublicKey(), supportedEngineVersions: [build.engineVersion] },
        location: { file: build.zipPath },
      });
      expect(report.errors.map((e) => e.toJSON())).toEqual([]);
      expect(report).toMatchObject({ valid: true, entryCount: 8, resourceCount: 7, customFiles: [], missing: [], signature: 'valid' });
      expect(Buffer.from(report.manifestBytes ?? []).equals(bytes)).toBe(true);
    } finally {
      await source.close();
    }
  });

  it('is refused for an engine version it was not built for', () => {
    const findings = validateManifest(decodeManifest(bytes), { supportedEngineVersions: ['1.99.0'] });
    expect(findings.errors.map((e) => e.code)).toEqual(['MANIFEST_ENGINE_UNSUPPORTED']);
  });
});
