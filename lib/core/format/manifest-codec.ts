/**
 * Decoding and encoding of Defold manifests (`liveupdate.game.dmanifest`) with protobufjs, for
 * schema 5 and the older schemas. The generation is told apart from the bytes, never guessed:
 * schema 5 has `ManifestFile.version = 5`; the old schema has no version and a header that starts
 * with the magic number 0x43cb6d06. Anything else is a clear error.
 */
import * as protobuf from 'protobufjs/light';
import Long from 'long';
import { lupError, type ErrorLocation, LupError } from '../errors';
import { toHex } from './digest';
import {
  LEGACY_MAGIC_NUMBER,
  MANIFEST_FILE_VERSION,
  type Manifest,
  type ManifestEntry,
  type ManifestInput,
  type ManifestSchema,
} from './manifest';
import v5Descriptor from './proto/liveupdate_ddf.json';
import legacyDescriptor from './proto/liveupdate_ddf_legacy.json';

// protobufjs represents uint64 with `long` when it is available; without it values above 2^53 lose bits.
protobuf.util.Long = Long;
protobuf.configure();

/**
 * The descriptor with every enum-typed field read as a plain int32 (the same varint on the wire).
 * protobufjs treats proto2 enums as closed: an undefined value (say resource_hash_algorithm = 7)
 * is dropped as an unknown field and the decode then fails with "missing required", so the
 * manifest rules could never report the algorithm. Raw numbers let them report it.
 */
function withRawEnums(descriptor: unknown): protobuf.INamespace {
  const copy = JSON.parse(JSON.stringify(descriptor)) as protobuf.INamespace;
  const enums = new Map<string, Record<string, number>>();
  const types: protobuf.IType[] = [];
  const walk = (ns: protobuf.INamespace): void => {
    for (const [name, nested] of Object.entries(ns.nested ?? {})) {
      if ('values' in nested) enums.set(name, (nested as protobuf.IEnum).values);
      if ('fields' in nested) types.push(nested as protobuf.IType);
      walk(nested as protobuf.INamespace);
    }
  };
  walk(copy);
  for (const type of types) {
    for (const field of Object.values(type.fields) as (protobuf.IField & { options?: Record<string, unknown> })[]) {
      const values = enums.get(field.type);
      if (!values) continue;
      field.type = 'int32';
      const fallback = field.options?.default;
      if (typeof fallback === 'string' && field.options) field.options.default = values[fallback];
    }
  }
  return copy;
}

const v5 = protobuf.Root.fromJSON(withRawEnums(v5Descriptor));
const legacy = protobuf.Root.fromJSON(withRawEnums(legacyDescriptor));
const V5_FILE = v5.lookupType('dmLiveUpdateDDF.ManifestFile');
const V5_DATA = v5.lookupType('dmLiveUpdateDDF.ManifestData');
const LEGACY_FILE = legacy.lookupType('dmLiveUpdateDDFLegacy.ManifestFile');
const LEGACY_DATA = legacy.lookupType('dmLiveUpdateDDFLegacy.ManifestData');
const LEGACY_DATA_2017 = legacy.lookupType('dmLiveUpdateDDFLegacy.ManifestData2017');

/** Largest manifest accepted: far above 100 000 entries (~6 MB), far below what hurts a Lambda. */
export const MAX_MANIFEST_BYTES = 64 * 1024 * 1024;

/**
 * How much a manifest may decode into. Decoded entries cost about 2 KB of memory each and every
 * dependant a `Long` plus a `bigint`, so a small manifest of repeated fields could take gigabytes
 * (a 38 MiB one took 3.7 GB). These bounds are checked by counting fields on the wire before
 * decoding; the largest real games have tens of thousands of entries. Peak memory at the bounds is
 * measured in test/core/format/manifest-memory.test.ts against the manifest function's memory.
 */
export const MANIFEST_DECODE_LIMITS = {
  /** Resource entries. */
  maxResources: 200_000,
  /** Dependants over all entries. */
  maxDependants: 500_000,
  /** Engine version digests. */
  maxEngineVersions: 1_000,
} as const;

/** The outer `ManifestFile` fields, decoded without `ManifestData` (cheap, whatever the data holds). */
export function decodeManifestEnvelope(bytes: Uint8Array, location?: ErrorLocation): { data: Uint8Array; signature: Uint8Array; version?: number } {
  const file = decodeWith<DecodedFile>(V5_FILE, bytes, location, 'ManifestFile', 'ManifestFile');
  return { data: file.data, signature: file.signature, version: has(file, 'version') ? file.version ?? 0 : undefined };
}

/**
 * Count what `ManifestData` would decode into, on the wire, and refuse (`MANIFEST_TOO_LARGE`) past
 * {@link MANIFEST_DECODE_LIMITS}. `dependantField` is the ResourceEntry field number of dependants:
 * 7 in schema 5, 4 in the older schemas.
 */
function checkDecodeBudget(data: Uint8Array, dependantField: number, location?: ErrorLocation): void {
  let resources = 0;
  let dependants = 0;
  let engineVersions = 0;
  const refuse = (what: string, count: number, max: number): never => {
    throw lupError({
      code: 'MANIFEST_TOO_LARGE', location: { ...location, field: `data.${what}` },
      expected: `at most ${max} ${what}`, actual: `more than ${count}`,
      message: `The manifest lists more ${what} than any Defold build produces; it was refused before decoding.`,
    });
  };
  try {
    const reader = protobuf.Reader.create(data);
    while (reader.pos < reader.len) {
      const tag = reader.uint32();
      const field = tag >>> 3;
      const wire = tag & 7;
      if (field === 3 && wire === 2) {
        if (++resources > MANIFEST_DECODE_LIMITS.maxResources) refuse('resources', MANIFEST_DECODE_LIMITS.maxResources, MANIFEST_DECODE_LIMITS.maxResources);
        const end = reader.uint32() + reader.pos;
        while (reader.pos < end) {
          const entryTag = reader.uint32();
          if (entryTag >>> 3 === dependantField && (entryTag & 7) === 2) {
            // Packed varints hold one value per byte with the high bit clear; counting those bytes
            // bounds them (and over-counts the 2017 layout's digest messages, whose builds are tiny).
            const packedEnd = reader.uint32() + reader.pos;
            for (let i = reader.pos; i < packedEnd; i++) if ((reader.buf[i] & 0x80) === 0) dependants += 1;
            reader.pos = packedEnd;
          } else {
            if (entryTag >>> 3 === dependantField) dependants += 1;
            reader.skipType(entryTag & 7);
          }
        }
        reader.pos = end;
        if (dependants > MANIFEST_DECODE_LIMITS.maxDependants) refuse('dependants', MANIFEST_DECODE_LIMITS.maxDependants, MANIFEST_DECODE_LIMITS.maxDependants);
      } else {
        if (field === 2 && ++engineVersions > MANIFEST_DECODE_LIMITS.maxEngineVersions) {
          refuse('engine_versions', MANIFEST_DECODE_LIMITS.maxEngineVersions, MANIFEST_DECODE_LIMITS.maxEngineVersions);
        }
        reader.skipType(wire);
      }
    }
  } catch (error) {
    if (error instanceof LupError) throw error;
    // Malformed wire data: the decoder itself reports it with its own words.
  }
}

interface DecodedDigest { data: Uint8Array }
interface DecodedHeader {
  magicNumber?: number;
  version?: number;
  resourceHashAlgorithm: number;
  signatureHashAlgorithm: number;
  signatureSignAlgorithm: number;
  projectIdentifier: DecodedDigest;
}
interface DecodedEntry {
  hash: DecodedDigest;
  url: string;
  urlHash: Long;
  size?: number;
  compressedSize?: number;
  flags: number;
  dependants: (Long | DecodedDigest)[];
}
interface DecodedData { header: DecodedHeader; engineVersions: DecodedDigest[]; resources: DecodedEntry[] }
interface DecodedFile { data: Uint8Array; signature: Uint8Array; archiveIdentifier?: Uint8Array; version?: number }

function toBigInt(value: Long | number): bigint {
  if (typeof value === 'number') return BigInt(value);
  return (BigInt(value.high >>> 0) << 32n) | BigInt(value.low >>> 0);
}

function toLong(value: bigint): Long {
  return Long.fromString(BigInt.asUintN(64, value).toString(), true);
}

function unreadable(location: ErrorLocation | undefined, field: string, cause: unknown, what: string): LupError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return lupError(
    {
      code: 'MANIFEST_UNREADABLE',
      location: { ...location, field },
      expected: `a protobuf-encoded ${what}`,
      actual: `undecodable bytes (${reason})`,
      message: `The manifest could not be decoded as a Defold ${what}: ${reason}. Upload the liveupdate.game.dmanifest that bob produced, unmodified.`,
    },
    cause,
  );
}

function decodeWith<T>(type: protobuf.Type, bytes: Uint8Array, location: ErrorLocation | undefined, field: string, what: string): T {
  try {
    return type.decode(bytes) as unknown as T;
  } catch (cause) {
    throw unreadable(location, field, cause, what);
  }
}

function has(message: object, field: string): boolean {
  return Object.prototype.hasOwnProperty.call(message, field);
}

function entryFromV5(e: DecodedEntry): ManifestEntry {
  return {
    hash: toHex(e.hash.data),
    url: e.url,
    urlHash: toBigInt(e.urlHash),
    size: e.size,
    compressedSize: e.compressedSize,
    flags: e.flags,
    dependants: (e.dependants as Long[]).map(toBigInt),
  };
}

/**
 * Decode a manifest file of any supported generation.
 * @throws LupError `MANIFEST_TOO_LARGE`, `MANIFEST_UNREADABLE`, `MANIFEST_SCHEMA_UNKNOWN`, `MANIFEST_VERSION_UNSUPPORTED`
 */
export function decodeManifest(bytes: Uint8Array, location?: ErrorLocation): Manifest {
  if (bytes.length > MAX_MANIFEST_BYTES) {
    throw lupError({
      code: 'MANIFEST_TOO_LARGE',
      location,
      expected: `at most ${MAX_MANIFEST_BYTES} bytes`,
      actual: `${bytes.length} bytes`,
      message: `The manifest is ${bytes.length} bytes, larger than any Defold build produces; it is refused unread.`,
    });
  }
  // ManifestFile fields 1-3 are the same in every generation; only schema 5 has field 4.
  const file = decodeWith<DecodedFile>(V5_FILE, bytes, location, 'ManifestFile', 'ManifestFile');
  const version = has(file, 'version') ? file.version ?? 0 : undefined;
  if (version !== undefined && version !== MANIFEST_FILE_VERSION) {
    throw lupError({
      code: 'MANIFEST_VERSION_UNSUPPORTED',
      location: { ...location, field: 'ManifestFile.version' },
      expected: `${MANIFEST_FILE_VERSION}`,
      actual: `${version}`,
      message: `The manifest has file version ${version}; Defold engines only load version ${MANIFEST_FILE_VERSION} (or the pre-1.5 format without a version).`,
    });
  }
  // An absent optional bytes field reads as protobufjs's prototype default (an empty array, not a
  // Uint8Array); keep it absent so that re-encoding does not add an empty field 3.
  const archiveIdentifier = has(file, 'archiveIdentifier') ? file.archiveIdentifier : undefined;
  const base = { signature: file.signature, archiveIdentifier, data: file.data };
  checkDecodeBudget(file.data, version === MANIFEST_FILE_VERSION ? 7 : 4, location);
  if (version === MANIFEST_FILE_VERSION) {
    const data = decodeWith<DecodedData>(V5_DATA, file.data, location, 'ManifestFile.data', 'ManifestData (schema 5)');
    return {
      schema: 'v5',
      version,
      ...headerFields(data.header),
      engineVersions: data.engineVersions.map((d) => toHex(d.data)),
      resources: data.resources.map(entryFromV5),
      ...base,
    };
  }
  return decodeLegacy(file, base, location);
}

function headerFields(h: DecodedHeader): Pick<Manifest, 'resourceHashAlgorithmCode' | 'signatureHashAlgorithmCode' | 'signAlgorithmCode' | 'projectIdentifier'> {
  return {
    resourceHashAlgorithmCode: h.resourceHashAlgorithm,
    signatureHashAlgorithmCode: h.signatureHashAlgorithm,
    signAlgorithmCode: h.signatureSignAlgorithm,
    projectIdentifier: toHex(h.projectIdentifier.data),
  };
}

function decodeLegacy(
  file: DecodedFile,
  base: Pick<Manifest, 'signature' | 'archiveIdentifier' | 'data'>,
  location?: ErrorLocation,
): Manifest {
  const schemaUnknown = (actual: string, cause?: unknown): LupError =>
    lupError(
      {
        code: 'MANIFEST_SCHEMA_UNKNOWN',
        location: { ...location, field: 'ManifestFile.data.header' },
        expected: `schema 5 (ManifestFile.version = 5) or the pre-1.5 schema (header magic number 0x${LEGACY_MAGIC_NUMBER.toString(16)})`,
        actual,
        message: 'The manifest matches no Defold manifest layout this pipeline knows; it is refused rather than guessed.',
      },
      cause,
    );
  let data: DecodedData;
  try {
    data = LEGACY_DATA.decode(file.data) as unknown as DecodedData;
  } catch (cause) {
    // The 2017 layout stores dependants as messages; try it before giving up.
    try {
      data = LEGACY_DATA_2017.decode(file.data) as unknown as DecodedData;
    } catch {
      throw schemaUnknown('no ManifestFile.version and a ManifestData that decodes as neither schema', cause);
    }
  }
  if (data.header.magicNumber !== LEGACY_MAGIC_NUMBER) {
    throw schemaUnknown(`no ManifestFile.version and header field 1 = ${data.header.magicNumber}`);
  }
  let schema: ManifestSchema = 'legacy';
  let resources = data.resources.map((e): ManifestEntry => ({
    hash: toHex(e.hash.data),
    url: e.url,
    urlHash: toBigInt(e.urlHash),
    flags: e.flags,
    dependants: (e.dependants as Long[]).map(toBigInt),
  }));
  // 2018 – 1.4.x stores dependants as indices; 1.2.9x (2017) as digests. Both are field 4, so an
  // index out of range means the 2017 layout (uncertain: no 2017 build in the fixtures settles it).
  const count = BigInt(resources.length);
  if (resources.some((e) => e.dependants.some((d) => d >= count))) {
    let data2017: DecodedData;
    try {
      data2017 = LEGACY_DATA_2017.decode(file.data) as unknown as DecodedData;
    } catch (cause) {
      throw schemaUnknown('pre-1.5 manifest whose dependants are neither indices nor digests', cause);
    }
    schema = 'legacy-2017';
    resources = data2017.resources.map((e): ManifestEntry => ({
      hash: toHex(e.hash.data),
      url: e.url,
      urlHash: toBigInt(e.urlHash),
      flags: e.flags,
      dependants: [],
      dependantDigests: (e.dependants as DecodedDigest[]).map((d) => toHex(d.data)),
    }));
  }
  return {
    schema,
    version: data.header.version ?? 0,
    ...headerFields(data.header),
    engineVersions: data.engineVersions.map((d) => toHex(d.data)),
    resources,
    ...base,
  };
}

function digest(hex: string): { data: Uint8Array } {
  return { data: Buffer.from(hex, 'hex') };
}

/** The header fields every schema shares, as protobufjs message fields. */
function commonHeader(input: Omit<ManifestInput, 'signature' | 'archiveIdentifier'>): Record<string, unknown> {
  return {
    resourceHashAlgorithm: input.resourceHashAlgorithmCode,
    signatureHashAlgorithm: input.signatureHashAlgorithmCode,
    signatureSignAlgorithm: input.signAlgorithmCode,
    projectIdentifier: digest(input.projectIdentifier),
  };
}

/** Serialize the `ManifestData` part of a manifest (what the signature covers). */
export function encodeManifestData(input: Omit<ManifestInput, 'signature' | 'archiveIdentifier'>): Uint8Array {
  if (input.schema === 'v5') {
    return V5_DATA.encode({
      header: commonHeader(input),
      engineVersions: input.engineVersions.map(digest),
      resources: input.resources.map((e) => ({
        hash: digest(e.hash),
        url: e.url,
        urlHash: toLong(e.urlHash),
        size: e.size ?? 0,
        compressedSize: e.compressedSize ?? 0,
        flags: e.flags,
        dependants: e.dependants.map(toLong),
      })),
    }).finish();
  }
  const type = input.schema === 'legacy-2017' ? LEGACY_DATA_2017 : LEGACY_DATA;
  return type.encode({
    header: { magicNumber: LEGACY_MAGIC_NUMBER, version: input.version, ...commonHeader(input) },
    engineVersions: input.engineVersions.map(digest),
    resources: input.resources.map((e) => ({
      url: e.url,
      urlHash: toLong(e.urlHash),
      hash: digest(e.hash),
      dependants: input.schema === 'legacy-2017' ? (e.dependantDigests ?? []).map(digest) : e.dependants.map(toLong),
      flags: e.flags,
    })),
  }).finish();
}

/** Serialize a whole manifest file around already-encoded `ManifestData` bytes. */
export function encodeManifestFile(manifest: Pick<Manifest, 'schema' | 'data' | 'signature' | 'archiveIdentifier'>): Uint8Array {
  const message: Record<string, unknown> = { data: manifest.data, signature: manifest.signature };
  if (manifest.archiveIdentifier) message.archiveIdentifier = manifest.archiveIdentifier;
  if (manifest.schema === 'v5') {
    message.version = MANIFEST_FILE_VERSION;
    return V5_FILE.encode(message).finish();
  }
  return LEGACY_FILE.encode(message).finish();
}

/**
 * Encode a manifest; `sign` receives the serialized `ManifestData` and returns the signature
 * (omit it for the empty signature bob writes since 2026).
 */
export function encodeManifest(input: Omit<ManifestInput, 'signature'>, sign?: (data: Uint8Array) => Uint8Array): { bytes: Uint8Array; manifest: Manifest } {
  const data = encodeManifestData(input);
  const signature = sign ? sign(data) : new Uint8Array(0);
  const manifest: Manifest = { ...input, data, signature };
  return { bytes: encodeManifestFile(manifest), manifest };
}
