/**
 * One test per content rule: each breaks one resource of factory-made content (or its manifest
 * entry) and expects exactly that rule's code, naming the entry.
 */
import { bytesSource } from '../../../lib/core/format/byte-source';
import { hashHex } from '../../../lib/core/format/digest';
import { ENTRY_FLAG, isExcluded } from '../../../lib/core/format/manifest';
import { HEADER_FLAG } from '../../../lib/core/format/resource-header';
import { checkResourceIdentity, validateContent } from '../../../lib/core/format/validate-content';
import { verifyArchive } from '../../../lib/core/format/verify-archive';
import { createContent, type FactoryContent } from '../../../lib/factory/content-factory';
import { zipContent } from '../../../lib/factory/write-content';
import { flipByte, observe, reencode, withEntry } from '../../helpers/content-builders';

const content = createContent({ seed: 21, resourceCount: 30, compressedFraction: 0.5, encryptedFraction: 0.3 });
const observations = (c: FactoryContent = content) => c.resources.map((r) => observe(r.name, r.bytes));
const codes = (errors: readonly { code: string }[]) => errors.map((e) => e.code);

/** The resource file and manifest entry of the first EXCLUDED entry matching `flags`. */
function pick(flags: number, absent = 0) {
  const entry = content.manifest.resources.find((e) => isExcluded(e) && (e.flags & flags) === flags && (e.flags & absent) === 0);
  if (!entry) throw new Error('the factory content has no such entry; change the seed');
  const file = content.resources.find((r) => r.name === entry.hash);
  if (!file) throw new Error('no file for the entry');
  return { entry, file, index: content.manifest.resources.indexOf(entry) };
}

describe(validateContent, () => {
  it('accepts the complete factory content', () => {
    const findings = validateContent(content.manifest, observations(), { requireComplete: true });
    expect(findings.errors).toEqual([]);
    expect(findings.resourceCount).toBe(content.resources.length);
  });

  it('names the entry, the expected and the actual digest when a payload byte changed (RESOURCE_DIGEST_MISMATCH)', () => {
    const { file } = pick(0);
    const changed = flipByte(file.bytes, file.bytes.length - 1);
    const others = observations().filter((o) => o.name !== file.name);
    const [error, ...rest] = validateContent(content.manifest, [...others, observe(file.name, changed)], { requireComplete: true }).errors;
    expect(rest).toEqual([]);
    expect(error).toMatchObject({ code: 'RESOURCE_DIGEST_MISMATCH', location: { entry: file.name }, actual: hashHex('sha1', changed.subarray(16)) });
    expect(error.expected).toContain(file.name);
  });

  it('refuses a resource of another build (RESOURCE_NOT_IN_MANIFEST)', () => {
    const stranger = createContent({ seed: 99, resourceCount: 5, bundledFraction: 0 }).resources[0];
    const errors = validateContent(content.manifest, [...observations(), observe(stranger.name, stranger.bytes)], { requireComplete: true }).errors;
    expect(errors).toEqual([expect.objectContaining({ code: 'RESOURCE_NOT_IN_MANIFEST', actual: stranger.name, location: { entry: stranger.name } })]);
  });

  it('reports an absent EXCLUDED resource when the content must be complete (RESOURCE_MISSING)', () => {
    const { file, entry } = pick(0);
    const findings = validateContent(content.manifest, observations().filter((o) => o.name !== file.name), { requireComplete: true, location: { file: 'x.zip' } });
    expect(findings.errors).toEqual([expect.objectContaining({ code: 'RESOURCE_MISSING', location: { file: 'x.zip', entry: file.name } })]);
    expect(findings.errors[0].message).toContain(entry.url);
    expect(findings.missing).toEqual([file.name]);
  });

  it('does not report absent resources when completeness is not required', () => {
    const { file } = pick(0);
    const findings = validateContent(content.manifest, observations().filter((o) => o.name !== file.name), { requireComplete: false });
    expect(findings.errors).toEqual([]);
    expect(findings.missing).toEqual([]);
  });

  it('never asks for BUNDLED resources', () => {
    expect(content.bundled.length).toBeGreaterThan(0);
    const findings = validateContent(content.manifest, observations(), { requireComplete: true });
    expect(findings.missing).toEqual([]);
  });

  it('refuses a header size other than the manifest size (RESOURCE_SIZE_MISMATCH)', () => {
    const { file, entry } = pick(0, ENTRY_FLAG.COMPRESSED);
    // The header is not hashed: the digest still matches, only the size field lies.
    const bytes = Uint8Array.from(file.bytes);
    new DataView(bytes.buffer).setUint32(0, (entry.size ?? 0) + 1, false);
    const errors = validateContent(content.manifest, [observe(file.name, bytes)], { requireComplete: false }).errors;
    expect(errors).toEqual([expect.objectContaining({ code: 'RESOURCE_SIZE_MISMATCH', location: { entry: file.name, offset: 0, field: 'header.size' } })]);
  });

  it('refuses a payload of another length than the manifest compressed_size (RESOURCE_SIZE_MISMATCH)', () => {
    const { file, index } = pick(ENTRY_FLAG.COMPRESSED);
    const { manifest } = reencode(content.manifest, { resources: withEntry(content.manifest, index, (e) => ({ ...e, compressedSize: (e.compressedSize ?? 0) - 1 })) });
    const errors = validateContent(manifest, [observe(file.name, file.bytes)], { requireComplete: false }).errors;
    expect(errors).toEqual([expect.objectContaining({ code: 'RESOURCE_SIZE_MISMATCH', location: { entry: file.name } })]);
  });

  it('refuses damaged header padding (RESOURCE_HEADER_INVALID)', () => {
    const { file } = pick(0);
    const errors = validateContent(content.manifest, [observe(file.name, flipByte(file.bytes, 9))], { requireComplete: false }).errors;
    expect(errors).toEqual([expect.objectContaining({ code: 'RESOURCE_HEADER_INVALID', location: { entry: file.name, offset: 9 } })]);
  });

  it('refuses header flags that disagree with the manifest (RESOURCE_HEADER_INVALID)', () => {
    const { file } = pick(ENTRY_FLAG.COMPRESSED | ENTRY_FLAG.ENCRYPTED);
    const bytes = Uint8Array.from(file.bytes);
    bytes[4] &= ~HEADER_FLAG.ENCRYPTED;
    const errors = validateContent(content.manifest, [observe(file.name, bytes)], { requireComplete: false }).errors;
    expect(errors).toEqual([expect.objectContaining({ code: 'RESOURCE_HEADER_INVALID', location: { entry: file.name, offset: 4, field: 'header.flags' } })]);
  });

  it('refuses a resource shorter than its header (RESOURCE_HEADER_INVALID)', () => {
    const { file } = pick(0);
    const errors = validateContent(content.manifest, [observe(file.name, file.bytes.subarray(0, 10))], { requireComplete: false }).errors;
    expect(codes(errors)).toEqual(['RESOURCE_HEADER_INVALID']);
  });
});

describe(checkResourceIdentity, () => {
  it('accepts a resource named by the SHA-1 of its payload', () => {
    const { file } = pick(0);
    expect(checkResourceIdentity(observe(file.name, file.bytes))).toBeUndefined();
  });

  it('refuses a name that is not a hex digest (RESOURCE_NAME_INVALID)', () => {
    const { file } = pick(0);
    expect(checkResourceIdentity(observe('level.texturec', file.bytes))).toMatchObject({ code: 'RESOURCE_NAME_INVALID' });
  });

  it('refuses a resource whose name is another digest (RESOURCE_DIGEST_MISMATCH)', () => {
    const [a, b] = content.resources;
    expect(checkResourceIdentity(observe(a.name, b.bytes))).toMatchObject({ code: 'RESOURCE_DIGEST_MISMATCH', actual: b.name });
  });
});

describe(verifyArchive, () => {
  it('allows custom files and reports them', async () => {
    const withCustom = createContent({ seed: 21, resourceCount: 30, customFiles: [{ name: 'version_levels.json', bytes: Buffer.from('{"v":1}') }, { name: 'extra/notes.txt', bytes: Buffer.from('hi') }] });
    const report = await verifyArchive(bytesSource(await zipContent(withCustom)));
    expect(report.errors).toEqual([]);
    expect(report).toMatchObject({ valid: true, customFiles: ['version_levels.json', 'extra/notes.txt'], resourceCount: withCustom.resources.length, entryCount: withCustom.resources.length + 3 });
  });

  it('names the entry, expected and actual digest of a changed entry in a zip', async () => {
    const { file } = pick(0);
    const changed = flipByte(file.bytes, 20);
    const tampered: FactoryContent = { ...content, resources: content.resources.map((r) => (r.name === file.name ? { ...r, bytes: changed } : r)) };
    const report = await verifyArchive(bytesSource(await zipContent(tampered)), { location: { file: 'levels.zip' } });
    expect(report.valid).toBe(false);
    expect(report.errors).toEqual([expect.objectContaining({ code: 'RESOURCE_DIGEST_MISMATCH', location: { file: 'levels.zip', entry: file.name }, actual: hashHex('sha1', changed.subarray(16)) })]);
  });
});
