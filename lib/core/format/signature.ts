/**
 * The manifest signature of engines up to 1.12: RSA PKCS#1 v1.5 type 1 over the raw digest of
 * `ManifestFile.data`, with no DigestInfo wrapper (bob uses Java `Cipher("RSA")` in encrypt mode
 * with the private key). So it is produced with `privateEncrypt` and checked with `publicDecrypt`,
 * not with `crypto.sign` / `crypto.verify`, which add DigestInfo.
 * @see defold/defold com.dynamo.cr/com.dynamo.cr.bob/src/com/dynamo/bob/archive/ManifestBuilder.java
 */
import { constants, createPrivateKey, privateEncrypt, publicDecrypt, timingSafeEqual, type KeyObject } from 'node:crypto';
import { HASH_ALGORITHM_BY_CODE, hashHex, type HashAlgorithm } from './digest';
import type { Manifest } from './manifest';

/** The outcome of checking a manifest's signature against a key. */
export type SignatureStatus =
  /** The signature decrypts to the digest of the manifest data. */
  | 'valid'
  /** There is a signature, and it does not match (wrong key, or modified data). */
  | 'invalid'
  /** The signature is empty (bob since April 2026). */
  | 'missing';

/** Load a PKCS#8 private key from DER bytes or PEM text (for test content and the factory). */
export function parsePrivateKey(key: Uint8Array | string): KeyObject {
  if (typeof key === 'string') return createPrivateKey(key);
  return createPrivateKey({ key: Buffer.from(key), format: 'der', type: 'pkcs8' });
}

/**
 * Sign serialized `ManifestData` the way bob does.
 * @param hashAlgorithmCode the manifest's `signature_hash_algorithm` (3 = SHA-256 in bob).
 */
export function signManifestData(data: Uint8Array, privateKey: KeyObject, hashAlgorithmCode = 3): Uint8Array {
  const algorithm = HASH_ALGORITHM_BY_CODE[hashAlgorithmCode];
  if (!algorithm) throw new RangeError(`signature hash algorithm ${hashAlgorithmCode} is not one the format defines`);
  const digest = Buffer.from(hashHex(algorithm, data), 'hex');
  return privateEncrypt({ key: privateKey, padding: constants.RSA_PKCS1_PADDING }, digest);
}

/** Check a manifest's signature against a public key. */
export function checkManifestSignature(manifest: Pick<Manifest, 'data' | 'signature' | 'signatureHashAlgorithmCode'>, publicKey: KeyObject): SignatureStatus {
  if (manifest.signature.length === 0) return 'missing';
  const algorithm = HASH_ALGORITHM_BY_CODE[manifest.signatureHashAlgorithmCode];
  if (!algorithm) return 'invalid';
  let recovered: Buffer;
  try {
    recovered = publicDecrypt({ key: publicKey, padding: constants.RSA_PKCS1_PADDING }, manifest.signature);
  } catch {
    // Wrong key size, wrong padding, garbage: all mean the signature does not verify.
    return 'invalid';
  }
  const expected = Buffer.from(hashHex(algorithm, manifest.data), 'hex');
  return recovered.length === expected.length && timingSafeEqual(recovered, expected) ? 'valid' : 'invalid';
}

const ALGORITHM_BY_DIGEST_BYTES: Readonly<Record<number, HashAlgorithm>> = { 16: 'md5', 20: 'sha1', 32: 'sha256', 64: 'sha512' };

/**
 * Check a signature over raw `ManifestFile.data` bytes, before they are decoded: the recovered
 * digest's length tells the hash algorithm. Lets a configured key refuse a forged manifest without
 * spending the memory its decoding would take.
 */
export function checkRawSignature(data: Uint8Array, signature: Uint8Array, publicKey: KeyObject): SignatureStatus {
  if (signature.length === 0) return 'missing';
  let recovered: Buffer;
  try {
    recovered = publicDecrypt({ key: publicKey, padding: constants.RSA_PKCS1_PADDING }, signature);
  } catch {
    return 'invalid';
  }
  const algorithm = ALGORITHM_BY_DIGEST_BYTES[recovered.length];
  if (!algorithm) return 'invalid';
  const expected = Buffer.from(hashHex(algorithm, data), 'hex');
  return timingSafeEqual(recovered, expected) ? 'valid' : 'invalid';
}
