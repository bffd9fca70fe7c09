/**
 * Builders for content that breaks one rule: re-encode a (factory-made or real) manifest with
 * some fields changed, and observe resource bytes the way the archive and folder readers do.
 */
import type { KeyObject } from 'node:crypto';
import type { ErrorLocation } from '../../lib/core/errors';
import type { Manifest, ManifestEntry, ManifestInput } from '../../lib/core/format/manifest';
import { decodeManifest, encodeManifest } from '../../lib/core/format/manifest-codec';
import { ResourceDigester } from '../../lib/core/format/resource-header';
import { signManifestData } from '../../lib/core/format/signature';
import type { ResourceObservation } from '../../lib/core/format/validate-content';

/** Re-encode `manifest` with `changes` applied (signed with `key` when given), then decode it again. */
export function reencode(
  manifest: Manifest,
  changes: Partial<Omit<ManifestInput, 'signature'>> = {},
  key?: KeyObject,
): { bytes: Uint8Array; manifest: Manifest } {
  const { data: _data, signature: _signature, ...input } = manifest;
  const { bytes } = encodeManifest({ ...input, ...changes }, key ? (data) => signManifestData(data, key) : undefined);
  return { bytes, manifest: decodeManifest(bytes) };
}

/** `manifest.resources` with entry `index` replaced by `change(entry)`. */
export function withEntry(manifest: Manifest, index: number, change: (entry: ManifestEntry) => ManifestEntry): ManifestEntry[] {
  return manifest.resources.map((entry, i) => (i === index ? change(entry) : entry));
}

/** What a reader observes of a resource file named `name` holding `bytes` (fed in 7-byte chunks). */
export function observe(name: string, bytes: Uint8Array, location: ErrorLocation = { entry: name }): ResourceObservation {
  const digester = new ResourceDigester('sha1');
  for (let at = 0; at < bytes.length; at += 7) digester.update(bytes.subarray(at, at + 7));
  const { header, digest, payloadSizeBytes } = digester.finish();
  return { name, digest, header, payloadSizeBytes, location };
}

/** A copy of `bytes` with byte `offset` XOR-ed with 0xff. */
export function flipByte(bytes: Uint8Array, offset: number): Uint8Array {
  const copy = Uint8Array.from(bytes);
  copy[offset] ^= 0xff;
  return copy;
}
