import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bytesSource } from '../../lib/core/format/byte-source';
import { hashHex, sha1OfText } from '../../lib/core/format/digest';
import { ENTRY_FLAG, NOT_COMPRESSED, isExcluded } from '../../lib/core/format/manifest';
import { decodeManifest } from '../../lib/core/format/manifest-codec';
import { urlHash } from '../../lib/core/format/murmur';
import { HEADER_FLAG, parseResourceHeader } from '../../lib/core/format/resource-header';
import { checkManifestSignature } from '../../lib/core/format/signature';
import { validateManifest } from '../../lib/core/format/validate-manifest';
import { verifyArchive } from '../../lib/core/format/verify-archive';
import { verifyLocalPath } from '../../lib/content/verify-local';
import { Prng, REALISTIC_SIZES, createContent, planResources, reviseResources } from '../../lib/factory/content-factory';
import { writeLooseFolder, writeZip, zipContent } from '../../lib/factory/write-content';

const keys = generateKeyPairSync('rsa', { modulusLength: 1024 });
const policy = { projectTitle: 'Factory Game', publicKey: keys.publicKey, supportedEngineVersions: ['1.9.0'] };

describe(Prng, () => {
  it('repeats its sequence for the same seed and differs for another', () => {
    const a = new Prng(42), b = new Prng(42), c = new Prng(43);
    const take = (p: Prng) => Array.from({ length: 5 }, () => p.nextUint32());
    const first = take(a);
    expect(take(b)).toEqual(first);
    expect(take(c)).not.toEqual(first);
  });

  it('draws integers within the bounds, both reached', () => {
    const p = new Prng(1);
    const seen = new Set(Array.from({ length: 500 }, () => p.int(3, 6)));
    expect([...seen].sort()).toEqual([3, 4, 5, 6]);
  });
});

describe(createContent, () => {
  it('makes identical bytes for identical options', async () => {
    const a = createContent({ seed: 9, resourceCount: 30, privateKey: keys.privateKey, dependants: true });
    const b = createContent({ seed: 9, resourceCount: 30, privateKey: keys.privateKey, dependants: true });
    expect(Buffer.from(a.manifestBytes).equals(Buffer.from(b.manifestBytes))).toBe(true);
    expect((await zipContent(a)).equals(await zipContent(b))).toBe(true);
    expect(Buffer.from(createContent({ seed: 10, resourceCount: 30 }).manifestBytes).equals(Buffer.from(a.manifestBytes))).toBe(false);
  });

  it.each(['v5', 'legacy'] as const)('makes a %s zip that passes the same verification as a real one', async (schema) => {
    const content = createContent({ seed: 4, resourceCount: 50, schema, privateKey: keys.privateKey, dependants: true, sizes: 'realistic', customFiles: [{ name: 'version_levels.json', bytes: Buffer.from('{}') }] });
    const report = await verifyArchive(bytesSource(await zipContent(content)), { policy });
    expect(report.errors).toEqual([]);
    expect(report).toMatchObject({ valid: true, signature: 'valid', customFiles: ['version_levels.json'], resourceCount: content.resources.length, entryCount: content.resources.length + 2 });
    expect(report.manifest?.schema).toBe(schema);
  });

  it('sorts entries by unsigned url_hash, each the hash of its url', () => {
    const { manifest } = createContent({ seed: 2, resourceCount: 200 });
    const hashes = manifest.resources.map((e) => e.urlHash);
    expect(hashes).toEqual([...hashes].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    expect(manifest.resources.every((e) => urlHash(e.url) === e.urlHash)).toBe(true);
    expect(manifest.resources.filter((e) => /^\/levels\/level_\d{3}\/(tile_\d{4}\.\w+|level_\d{3}\.collectionc)$/.test(e.url))).toHaveLength(160);
  });

  it('lists the project, SHA-1 of "" and each engine version, as bob does', () => {
    const { manifest } = createContent({ projectTitle: 'Sample Game', engineVersions: ['1.9.0', '1.9.1'] });
    expect(manifest.projectIdentifier).toBe(sha1OfText('Sample Game'));
    expect(manifest.engineVersions).toEqual([sha1OfText(''), sha1OfText('1.9.0'), sha1OfText('1.9.1')]);
    expect(createContent({ includeEmptyEngineVersion: false }).manifest.engineVersions).toEqual([sha1OfText('1.9.0')]);
  });

  it('writes compressed resources with a shorter payload, flagged in header and manifest', () => {
    const content = createContent({ seed: 8, resourceCount: 60, compressedFraction: 1, encryptedFraction: 0.5, bundledFraction: 0 });
    for (const entry of content.manifest.resources) {
      const file = content.resources.find((r) => r.name === entry.hash);
      expect(file).toBeDefined();
      const header = parseResourceHeader(file?.bytes ?? new Uint8Array());
      expect(entry.flags & ENTRY_FLAG.COMPRESSED).toBe(ENTRY_FLAG.COMPRESSED);
      expect(header.flags & HEADER_FLAG.COMPRESSED).toBe(HEADER_FLAG.COMPRESSED);
      expect((header.flags & HEADER_FLAG.ENCRYPTED) !== 0).toBe((entry.flags & ENTRY_FLAG.ENCRYPTED) !== 0);
      expect(header.uncompressedSizeBytes).toBe(entry.size);
      expect(entry.compressedSize).toBeLessThan(entry.size ?? 0);
      expect((file?.bytes.length ?? 0) - 16).toBe(entry.compressedSize);
      expect(hashHex('sha1', file?.bytes.subarray(16) ?? '')).toBe(entry.hash);
    }
  });

  it('marks uncompressed entries with compressed_size 0xFFFFFFFF', () => {
    const { manifest } = createContent({ compressedFraction: 0, resourceCount: 10 });
    expect(manifest.resources.every((e) => e.compressedSize === NOT_COMPRESSED && (e.flags & ENTRY_FLAG.COMPRESSED) === 0)).toBe(true);
  });

  it('lists BUNDLED entries in the manifest only and delivers every EXCLUDED one', () => {
    const content = createContent({ seed: 6, resourceCount: 40, bundledFraction: 0.25 });
    const excluded = content.manifest.resources.filter(isExcluded);
    expect(content.bundled).toHaveLength(10);
    expect(excluded).toHaveLength(30);
    expect(content.resources.map((r) => r.name).sort()).toEqual([...new Set(excluded.map((e) => e.hash))].sort());
    expect(content.bundled.every((e) => !content.resources.some((r) => r.name === e.hash))).toBe(true);
  });

  it('gives each level collection its level as dependants, as url_hashes (v5) or indices (legacy)', () => {
    const v5 = createContent({ seed: 3, resourceCount: 30, bundledFraction: 0, resourcesPerLevel: 10, dependants: true }).manifest;
    const collection = v5.resources.find((e) => e.url === '/levels/level_001/level_001.collectionc');
    const level = v5.resources.filter((e) => e.url.startsWith('/levels/level_001/') && e !== collection).map((e) => e.urlHash);
    expect([...(collection?.dependants ?? [])].sort()).toEqual([...level].sort());
    const legacy = createContent({ seed: 3, resourceCount: 30, bundledFraction: 0, resourcesPerLevel: 10, dependants: true, schema: 'legacy' }).manifest;
    const legacyCollection = legacy.resources.find((e) => e.url === '/levels/level_001/level_001.collectionc');
    const urls = (legacyCollection?.dependants ?? []).map((i) => legacy.resources[Number(i)].url).sort();
    expect(urls).toEqual(legacy.resources.filter((e) => e.url.startsWith('/levels/level_001/tile_')).map((e) => e.url).sort());
  });

  it('signs like bob when given a key, and leaves the signature empty otherwise', () => {
    expect(checkManifestSignature(createContent({ privateKey: keys.privateKey }).manifest, keys.publicKey)).toBe('valid');
    expect(createContent().manifest.signature).toHaveLength(0);
  });

  it('writes empty urls with url_hash kept when keepUrls is false', () => {
    const { manifest } = createContent({ keepUrls: false, resourceCount: 5 });
    expect(manifest.resources.every((e) => e.url === '' && e.urlHash !== 0n)).toBe(true);
  });

  it('draws realistic sizes: many small, a few large, within the documented clamp', () => {
    const sizes = planResources({ seed: 1, resourceCount: 2000, sizes: 'realistic' }).map((s) => s.sizeBytes).sort((a, b) => a - b);
    const median = sizes[1000];
    expect(median).toBeGreaterThan(REALISTIC_SIZES.medianBytes / 2);
    expect(median).toBeLessThan(REALISTIC_SIZES.medianBytes * 2);
    expect(sizes[0]).toBeGreaterThanOrEqual(REALISTIC_SIZES.minBytes);
    expect(sizes[sizes.length - 1]).toBeGreaterThan(100 * 1024);
    expect(sizes[sizes.length - 1]).toBeLessThanOrEqual(REALISTIC_SIZES.maxBytes);
  });

  it('keeps explicit sizes within [minBytes, maxBytes]', () => {
    const sizes = planResources({ resourceCount: 300, sizes: { minBytes: 0, maxBytes: 3 } }).map((s) => s.sizeBytes);
    expect(Math.min(...sizes)).toBe(0);
    expect(Math.max(...sizes)).toBe(3);
  });

  it('makes a manifest-only run with the same entries as a full run, and no resource bytes', () => {
    const full = createContent({ seed: 12, resourceCount: 50 });
    const only = createContent({ seed: 12, resourceCount: 50, manifestOnly: true });
    expect(only.resources).toEqual([]);
    const shape = (m: typeof full.manifest) => m.resources.map(({ url, size, compressedSize, flags }) => ({ url, size, compressedSize, flags }));
    expect(shape(only.manifest)).toEqual(shape(full.manifest));
    expect(validateManifest(only.manifest).errors).toEqual([]);
  });

  it('makes a 100 000-entry manifest when asked for the manifest only', () => {
    const { manifest, manifestBytes } = createContent({ seed: 1, resourceCount: 100_000, manifestOnly: true });
    expect(manifest.resources).toHaveLength(100_000);
    expect(decodeManifest(manifestBytes).resources).toHaveLength(100_000);
  });

  it('refuses invalid options, naming each', () => {
    expect(() => createContent({ resourceCount: -1 })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', location: { field: 'resourceCount' } }));
    expect(() => createContent({ compressedFraction: 2, sizes: { minBytes: 5, maxBytes: 1 } })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringMatching(/compressedFraction.*sizes/) }));
    expect(() => createContent({ customFiles: [{ name: 'liveupdate.game.dmanifest', bytes: new Uint8Array() }] })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });
});

describe(reviseResources, () => {
  it('changes some EXCLUDED resources and adds new ones in a new level, leaving bundled ones alone', () => {
    const plan = planResources({ seed: 1, resourceCount: 40, bundledFraction: 0.25, resourcesPerLevel: 15 });
    const revised = reviseResources(plan, { seed: 2, changedCount: 4, addedCount: 5 });
    expect(revised).toHaveLength(45);
    const changed = plan.filter((spec, i) => spec.contentSeed !== revised[i].contentSeed);
    expect(changed).toHaveLength(4);
    expect(changed.every((s) => !s.bundled)).toBe(true);
    expect(revised.slice(40).every((s) => s.url.startsWith('/levels/level_003/'))).toBe(true);
    const v1 = createContent({ resources: plan }).resources.map((r) => r.name);
    const v2 = createContent({ resources: revised }).resources.map((r) => r.name);
    expect(v2.filter((n) => !v1.includes(n))).toHaveLength(9);
  });
});

describe('writers', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lup-factory-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writeZip writes the same bytes as zipContent, which verify', async () => {
    const content = createContent({ seed: 14, resourceCount: 20, privateKey: keys.privateKey });
    const path = join(dir, 'out', 'levels.zip');
    const { sizeBytes } = await writeZip(content, path);
    const written = await readFile(path);
    expect(written.length).toBe(sizeBytes);
    expect(written.equals(await zipContent(content))).toBe(true);
    const { kind, report } = await verifyLocalPath(path, policy);
    expect(kind).toBe('zip');
    expect(report.errors).toEqual([]);
  });

  it('writeLooseFolder writes the manifest and one file per resource named by digest, which verify', async () => {
    const content = createContent({ seed: 15, resourceCount: 20, privateKey: keys.privateKey, customFiles: [{ name: 'version_levels.json', bytes: Buffer.from('{}') }] });
    await writeLooseFolder(content, dir);
    const names = (await readdir(dir)).sort();
    expect(names).toEqual(['liveupdate.game.dmanifest', ...content.resources.map((r) => r.name), 'version_levels.json'].sort());
    const { kind, report } = await verifyLocalPath(dir, policy);
    expect(kind).toBe('folder');
    expect(report.errors).toEqual([]);
    expect(report.customFiles).toEqual(['version_levels.json']);
  });
});
