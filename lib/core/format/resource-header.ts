/**
 * The 16-byte header bob puts in front of every LiveUpdate resource, and the payload digest that
 * names the resource.
 * @see defold/defold engine/resource/src/resource_verify.cpp (VerifyResource hashes the bytes after the header)
 */
import { createHasher, type HashAlgorithm } from './digest';
import { lupError, type ErrorLocation } from '../errors';

/** Size of the header in bytes. */
export const RESOURCE_HEADER_BYTES = 16;
/** Value of the 11 padding bytes. */
export const HEADER_PADDING = 0xed;
/** Header flag bits (not the manifest's entry flags). */
export const HEADER_FLAG = { ENCRYPTED: 1, COMPRESSED: 2, LIVEUPDATE: 4 } as const;
const KNOWN_HEADER_FLAGS = 0x7;

/** A decoded resource header. */
export interface ResourceHeader {
  /** Uncompressed size of the payload in bytes. */
  readonly uncompressedSizeBytes: number;
  readonly flags: number;
  /**
   * True when the size only makes sense read little-endian (one third-party packer writes it so;
   * the 1.5+ engine ignores the field). bob writes big-endian (Java `ByteBuffer.putInt`).
   */
  readonly littleEndian: boolean;
}

/** Encode a header as bob does (big-endian size, flags, 0xED padding). */
export function encodeResourceHeader(header: { uncompressedSizeBytes: number; flags: number }): Uint8Array {
  const out = Buffer.alloc(RESOURCE_HEADER_BYTES, HEADER_PADDING);
  out.writeUInt32BE(header.uncompressedSizeBytes >>> 0, 0);
  out[4] = header.flags & 0xff;
  return out;
}

/**
 * Decode the header at the start of a resource file.
 * @param expectedSizeBytes the manifest's uncompressed size, when known: tells the byte order apart.
 * @throws LupError `RESOURCE_HEADER_INVALID`
 */
export function parseResourceHeader(bytes: Uint8Array, location?: ErrorLocation, expectedSizeBytes?: number): ResourceHeader {
  if (bytes.length < RESOURCE_HEADER_BYTES) {
    throw lupError({
      code: 'RESOURCE_HEADER_INVALID',
      location: { ...location, offset: 0 },
      expected: `at least ${RESOURCE_HEADER_BYTES} bytes (the LiveUpdate resource header)`,
      actual: `${bytes.length} bytes`,
      message: 'The resource is shorter than its 16-byte header; the upload is truncated or not a bob-built LiveUpdate resource.',
    });
  }
  for (let i = 5; i < RESOURCE_HEADER_BYTES; i++) {
    if (bytes[i] !== HEADER_PADDING) {
      throw lupError({
        code: 'RESOURCE_HEADER_INVALID',
        location: { ...location, offset: i },
        expected: 'header bytes 5-15 = 0xED padding',
        actual: `0x${bytes[i].toString(16).padStart(2, '0')} at offset ${i}`,
        message: 'The resource header is damaged (its padding is not 0xED); the file is not a bob-built LiveUpdate resource.',
      });
    }
  }
  const flags = bytes[4];
  if ((flags & ~KNOWN_HEADER_FLAGS) !== 0) {
    throw lupError({
      code: 'RESOURCE_HEADER_INVALID',
      location: { ...location, offset: 4, field: 'header.flags' },
      expected: 'flags made of 1 (encrypted), 2 (compressed), 4 (liveupdate)',
      actual: `${flags}`,
      message: `The resource header has unknown flag bits (${flags}).`,
    });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, RESOURCE_HEADER_BYTES);
  const bigEndian = view.getUint32(0, false);
  const little = view.getUint32(0, true);
  const littleEndian = expectedSizeBytes !== undefined && bigEndian !== expectedSizeBytes && little === expectedSizeBytes;
  return { uncompressedSizeBytes: littleEndian ? little : bigEndian, flags, littleEndian };
}

/** Lowercase hex digest of the payload (everything after the header) of a whole resource file. */
export function resourcePayloadDigest(algorithm: HashAlgorithm, file: Uint8Array): string {
  return createHasher(algorithm).update(file.subarray(RESOURCE_HEADER_BYTES)).digest('hex');
}

/**
 * Streaming digest of a resource: feed chunks of the whole file; the first 16 bytes are kept as the
 * header and the rest hashed. Memory stays at one chunk.
 */
export class ResourceDigester {
  private readonly hasher;
  private readonly header = Buffer.alloc(RESOURCE_HEADER_BYTES);
  private headerBytes = 0;
  private payloadBytes = 0;

  constructor(algorithm: HashAlgorithm) {
    this.hasher = createHasher(algorithm);
  }

  update(chunk: Uint8Array): void {
    let offset = 0;
    if (this.headerBytes < RESOURCE_HEADER_BYTES) {
      const take = Math.min(RESOURCE_HEADER_BYTES - this.headerBytes, chunk.length);
      this.header.set(chunk.subarray(0, take), this.headerBytes);
      this.headerBytes += take;
      offset = take;
    }
    if (offset < chunk.length) {
      const rest = chunk.subarray(offset);
      this.hasher.update(rest);
      this.payloadBytes += rest.length;
    }
  }

  /** The header bytes seen (fewer than 16 when the file was shorter), the payload digest and size. */
  finish(): { header: Uint8Array; digest: string; payloadSizeBytes: number } {
    return { header: this.header.subarray(0, this.headerBytes), digest: this.hasher.digest('hex'), payloadSizeBytes: this.payloadBytes };
  }
}

/**
 * The manifest inside an object the Defold editor's Amazon publisher uploaded. bob writes the
 * manifest as an archive entry with an empty header, so the object is the raw `ManifestFile`
 * protobuf; this also accepts one with a 16-byte resource header in front, recognised by its
 * padding (bytes 5-15 all 0xED). A raw manifest never has that padding: from byte 5 on it is
 * inside `ManifestHeader`'s first small fields (v5) or the magic number's varint (legacy), so
 * reading the bytes tells the two apart without guessing. The payload after such a header is
 * returned unchanged for the manifest decoder to judge (a compressed or encrypted one fails there).
 * @see docs/defold-format.md, "The Defold editor's Amazon publisher"
 */
export function manifestOfEditorObject(bytes: Uint8Array): { readonly manifestBytes: Uint8Array; readonly headerStripped: boolean } {
  if (bytes.length < RESOURCE_HEADER_BYTES) return { manifestBytes: bytes, headerStripped: false };
  for (let i = 5; i < RESOURCE_HEADER_BYTES; i++) {
    if (bytes[i] !== HEADER_PADDING) return { manifestBytes: bytes, headerStripped: false };
  }
  return { manifestBytes: bytes.subarray(RESOURCE_HEADER_BYTES), headerStripped: true };
}
