/**
 * The manifest object the Defold editor's Amazon publisher uploads (`<prefix>/null` since bob
 * ~1.9.6) is raw protobuf; one with a 16-byte resource header in front is read by its padding.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { encodeResourceHeader } from '../../../lib/core/format/resource-header';
import { manifestOfEditorObject } from '../../../lib/core/format/resource-header';
import { decodeManifest } from '../../../lib/core/format/manifest-codec';
import { createContent } from '../../../lib/factory/content-factory';
import { REAL_BUILDS } from '../../helpers/real-fixtures';

describe(manifestOfEditorObject, () => {
  it.each(REAL_BUILDS.map((b) => [b.name, b.manifestPath]))('keeps the real %s manifest as it is', (_name, path) => {
    const bytes = readFileSync(path);
    expect(manifestOfEditorObject(bytes)).toEqual({ manifestBytes: bytes, headerStripped: false });
  });

  it('keeps factory manifests of both schemas and any engine versions as they are', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 10_000 }), fc.constantFrom<'v5' | 'legacy'>('v5', 'legacy'), fc.integer({ min: 0, max: 40 }), (seed, schema, resourceCount) => {
      const { manifestBytes } = createContent({ seed, schema, resourceCount, manifestOnly: true });
      expect(manifestOfEditorObject(manifestBytes).headerStripped).toBe(false);
    }), { numRuns: 60 });
  });

  it('removes a resource header in front of a manifest, whatever its size and flags fields say', () => {
    const { manifestBytes } = createContent({ seed: 5, resourceCount: 6 });
    for (const header of [
      encodeResourceHeader({ uncompressedSizeBytes: manifestBytes.length, flags: 0 }),
      encodeResourceHeader({ uncompressedSizeBytes: 0, flags: 4 }),
    ]) {
      const read = manifestOfEditorObject(Buffer.concat([header, manifestBytes]));
      expect(read.headerStripped).toBe(true);
      expect(Buffer.from(read.manifestBytes).equals(Buffer.from(manifestBytes))).toBe(true);
      expect(decodeManifest(read.manifestBytes).resources.length).toBe(decodeManifest(manifestBytes).resources.length);
    }
  });

  it('keeps objects shorter than a header, and bytes whose padding is not all 0xED', () => {
    expect(manifestOfEditorObject(Buffer.alloc(15, 0xed)).headerStripped).toBe(false);
    const almost = Buffer.alloc(40, 0xed);
    almost[15] = 0xec;
    expect(manifestOfEditorObject(almost)).toEqual({ manifestBytes: almost, headerStripped: false });
  });
});
