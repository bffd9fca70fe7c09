/**
 * Hash algorithms of the manifest (`HashAlgorithm` enum of liveupdate_ddf.proto) and the digests
 * the pipeline computes with them.
 */
import { createHash, type Hash } from 'node:crypto';

/** The digest algorithms a manifest can name. */
export type HashAlgorithm = 'md5' | 'sha1' | 'sha256' | 'sha512';

/** Proto enum value -> algorithm (`HASH_UNKNOWN = 0` has none). */
export const HASH_ALGORITHM_BY_CODE: Readonly<Record<number, HashAlgorithm>> = { 1: 'md5', 2: 'sha1', 3: 'sha256', 4: 'sha512' };

/** Algorithm -> proto enum value. */
export const HASH_CODE: Readonly<Record<HashAlgorithm, number>> = { md5: 1, sha1: 2, sha256: 3, sha512: 4 };

/** Digest length in bytes. */
export const DIGEST_BYTES: Readonly<Record<HashAlgorithm, number>> = { md5: 16, sha1: 20, sha256: 32, sha512: 64 };

const HEX_NAME = /^[0-9a-f]+$/;

/** A streaming hasher for the algorithm. */
export function createHasher(algorithm: HashAlgorithm): Hash {
  return createHash(algorithm);
}

/** Lowercase hex digest of `bytes`. */
export function hashHex(algorithm: HashAlgorithm, bytes: Uint8Array | string): string {
  return createHash(algorithm).update(bytes).digest('hex');
}

/** SHA-1 of a UTF-8 string, lowercase hex: project identifiers and engine-version digests. */
export function sha1OfText(text: string): string {
  return hashHex('sha1', Buffer.from(text, 'utf8'));
}

/**
 * The algorithm a resource name implies by its length, or `undefined` when the name is not a
 * lowercase hex digest of a known length (resources are named `lowercase_hex(H(payload))`).
 */
export function algorithmForHexName(name: string): HashAlgorithm | undefined {
  if (!HEX_NAME.test(name)) return undefined;
  switch (name.length) {
    case 32: return 'md5';
    case 40: return 'sha1';
    case 64: return 'sha256';
    case 128: return 'sha512';
    default: return undefined;
  }
}

/** Bytes -> lowercase hex. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}
