/**
 * A deterministic generator of Defold LiveUpdate content: a manifest (schema 5 or the pre-1.5
 * schema) and the resource files it lists, shaped like bob's output, for tests, samples and
 * benchmarks. The same options always give the same bytes: randomness comes from a seeded
 * mulberry32 generator, never from `Math.random` or the clock.
 *
 * What is real and what is not:
 * - Real: the manifest layout, url hashes, sort order, flags, sizes, engine-version and project
 *   digests, the RSA signature, the 16-byte resource header and every digest (SHA-1 of the payload,
 *   as the resource's name).
 * - Not real: payload bytes are pseudo-random. A "compressed" resource is a random payload of
 *   `compressed_size` bytes whose header and manifest declare a larger uncompressed `size`; it is
 *   not LZ4 and would not decompress. The pipeline never decompresses (the engine does), so this is
 *   enough to exercise every rule it checks. "Encrypted" payloads are random bytes too.
 *
 * @see ../../../shared/DEFOLD_FORMAT.md (the formats) and defold/defold
 *      com.dynamo.cr/com.dynamo.cr.bob/src/com/dynamo/bob/archive/ManifestBuilder.java
 */
import type { KeyObject } from 'node:crypto';
import { DIGEST_BYTES, HASH_CODE, algorithmForHexName, hashHex, sha1OfText, toHex } from '../core/format/digest';
import { lupError, type LupError } from '../core/errors';
import { MANIFEST_NAME } from '../core/keys';
import { ENTRY_FLAG, NOT_COMPRESSED, type Manifest, type ManifestEntry } from '../core/format/manifest';
import { encodeManifest } from '../core/format/manifest-codec';
import { urlHash } from '../core/format/murmur';
import { HEADER_FLAG, RESOURCE_HEADER_BYTES, encodeResourceHeader } from '../core/format/resource-header';
import { signManifestData } from '../core/format/signature';

/**
 * A small seeded pseudo-random generator (mulberry32: 32-bit state, period 2^32). Fast and good
 * enough for test data; not for anything secret.
 * @see https://gist.github.com/tommyettinger/46a874533244883189143505d203312c
 */
export class Prng {
  private state: number;

  /** @param seed any 32-bit integer; the same seed always gives the same sequence. */
  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** The next value, an unsigned 32-bit integer. */
  nextUint32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** A float in [0, 1). */
  nextFloat(): number {
    return this.nextUint32() / 0x100000000;
  }

  /** An integer in [min, max], both inclusive. */
  int(min: number, max: number): number {
    return min + Math.floor(this.nextFloat() * (max - min + 1));
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.nextFloat() < p;
  }

  /** `count` pseudo-random bytes. */
  bytes(count: number): Uint8Array {
    const out = new Uint8Array(count);
    let i = 0;
    for (; i + 4 <= count; i += 4) {
      const v = this.nextUint32();
      out[i] = v & 0xff;
      out[i + 1] = (v >>> 8) & 0xff;
      out[i + 2] = (v >>> 16) & 0xff;
      out[i + 3] = v >>> 24;
    }
    if (i < count) {
      const v = this.nextUint32();
      for (let s = 0; i < count; i++, s += 8) out[i] = (v >>> s) & 0xff;
    }
    return out;
  }

  /**
   * A sample of a log-normal distribution (Box-Muller), `exp(mu + sigma * N(0, 1))`. Math.log,
   * Math.cos and Math.exp are deterministic in V8 (fdlibm ports), so samples are reproducible.
   */
  logNormal(mu: number, sigma: number): number {
    const u1 = 1 - this.nextFloat(); // (0, 1]: log(0) would be -Infinity
    const u2 = this.nextFloat();
    const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    return Math.exp(mu + sigma * z);
  }
}

/**
 * How resource sizes (uncompressed, in bytes) are drawn.
 * - `'tiny'`: uniform in 8..256 bytes. For tests and 100 000-entry manifests.
 * - `'realistic'`: log-normal with a median of 4 KiB and sigma 1.6, clamped to 16 B .. 16 MiB:
 *   most resources are a few KiB (scripts, materials, small textures), about 1 in 100 is above
 *   170 KiB and a handful of a large set reach MiBs (atlases, sounds), as in bob builds of 2D games.
 * - `{ minBytes, maxBytes }`: uniform in that range, both inclusive.
 */
export type SizeDistribution = 'tiny' | 'realistic' | { readonly minBytes: number; readonly maxBytes: number };

/** The median and spread of the `'realistic'` distribution. */
export const REALISTIC_SIZES = { medianBytes: 4096, sigma: 1.6, minBytes: 16, maxBytes: 16 * 1024 * 1024 } as const;

/** The plan of one resource, before any byte exists; see {@link planResources}. */
export interface ResourceSpec {
  /** Resource path, e.g. `/levels/level_003/tile_0042.texturec`. */
  readonly url: string;
  /** Uncompressed size in bytes (the manifest's `size` and the header's size field). */
  readonly sizeBytes: number;
  /** Flagged COMPRESSED: the payload is shorter than `sizeBytes`. */
  readonly compressed: boolean;
  /** Flagged ENCRYPTED. */
  readonly encrypted: boolean;
  /** BUNDLED (in the game, listed in the manifest only) rather than EXCLUDED (delivered). */
  readonly bundled: boolean;
  /** Seed of the payload bytes: change it and the resource's content (and digest) changes. */
  readonly contentSeed: number;
  /** Urls of the resources this one depends on (written as url_hashes, or indices in the old schema). */
  readonly dependants: readonly string[];
}

/** A file of the generated content: a resource (header + payload) or a custom file. */
export interface FactoryFile {
  /** File or zip entry name: the hex digest for resources. */
  readonly name: string;
  readonly bytes: Uint8Array;
}

/** What {@link createContent} generates. */
export interface FactoryContent {
  /** The encoded `liveupdate.game.dmanifest`. */
  readonly manifestBytes: Uint8Array;
  /** The decoded view of `manifestBytes`. */
  readonly manifest: Manifest;
  /**
   * The EXCLUDED resources, each once (two urls with equal content share one file), sorted by
   * name; header + payload, as bob writes them. Empty when `manifestOnly` was set.
   */
  readonly resources: readonly FactoryFile[];
  /** The manifest's BUNDLED entries: listed in the manifest, shipped inside the game, not here. */
  readonly bundled: readonly ManifestEntry[];
  /** Extra files of the archive, e.g. `version_levels.json`. */
  readonly customFiles: readonly FactoryFile[];
}

/** Options of {@link planResources} and {@link createContent}. */
export interface ContentFactoryOptions {
  /** Seed of every random choice. @default 1 */
  readonly seed?: number;
  /** Number of manifest entries, bundled and excluded together. @default 20 */
  readonly resourceCount?: number;
  /** How sizes are drawn. @default 'tiny' */
  readonly sizes?: SizeDistribution;
  /** Fraction of resources flagged COMPRESSED (only those of at least 2 bytes). @default 0.3 */
  readonly compressedFraction?: number;
  /** Fraction of resources flagged ENCRYPTED. @default 0.05 */
  readonly encryptedFraction?: number;
  /** Fraction of entries that are BUNDLED (in the manifest only); the rest are EXCLUDED. @default 0.2 */
  readonly bundledFraction?: number;
  /** Resources per level folder (`/levels/level_NNN/`). @default 25 */
  readonly resourcesPerLevel?: number;
  /**
   * Give each level's collection (`/levels/level_NNN/level_NNN.collectionc`) the other resources
   * of its level as dependants, as bob does for excluded collections. @default false
   */
  readonly dependants?: boolean;
  /** Manifest schema: `'v5'` (engine 1.5+) or `'legacy'` (1.4.x, header version 4). @default 'v5' */
  readonly schema?: 'v5' | 'legacy';
  /** Key to sign the manifest with, as bob does (PKCS#1 v1.5 over SHA-256 of the data). @default - unsigned (empty signature, bob since 2026) */
  readonly privateKey?: KeyObject;
  /** `project.title`; the project identifier is its SHA-1. @default 'Factory Game' */
  readonly projectTitle?: string;
  /** Engine versions the content supports; each is listed as its SHA-1. @default ['1.9.0'] */
  readonly engineVersions?: readonly string[];
  /**
   * Also list SHA-1 of the empty string, first, as every real bob build with an empty
   * `supported-versions` setting does. @default true
   */
  readonly includeEmptyEngineVersion?: boolean;
  /** Keep urls in the manifest; `false` writes `""` with the url_hash kept, as release builds do. @default true */
  readonly keepUrls?: boolean;
  /** Set the header's "liveupdate" flag (4), as bob 1.11+ does. @default false */
  readonly headerLiveUpdateFlag?: boolean;
  /** Files added beside the resources (not hex-named, not the manifest's name). @default [] */
  readonly customFiles?: readonly FactoryFile[];
  /**
   * Generate the manifest only, with no resource bytes: digests are then pseudo-random (they name
   * no bytes) and `resources` is empty. Everything else is as in a full run with the same options.
   * This keeps a 100 000-entry manifest at a few tens of MB. @default false
   */
  readonly manifestOnly?: boolean;
  /** Resources to build instead of planning them (see {@link planResources}, {@link reviseResources}). @default - planned from these options */
  readonly resources?: readonly ResourceSpec[];
}

/** A change to an existing plan, for a second version of the same project. */
export interface ResourceRevision {
  /** Seed of the choices. @default 2 */
  readonly seed?: number;
  /** How many EXCLUDED resources get new content (new digest, maybe a new size). @default 3 */
  readonly changedCount?: number;
  /** How many EXCLUDED resources are added, in a new level folder. @default 3 */
  readonly addedCount?: number;
  /** Sizes of changed and added resources. @default 'tiny' */
  readonly sizes?: SizeDistribution;
}

const EXTENSIONS = ['texturec', 'spritec', 'goc', 'soundc', 'luac', 'materialc', 'fontc', 'meshc'] as const;
const BUNDLED_EXTENSIONS = ['scriptc', 'materialc', 'vpc', 'fpc', 'texturec'] as const;

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

function checkOptions(options: ContentFactoryOptions): void {
  const problems: LupError[] = [];
  const bad = (field: string, expected: string, actual: unknown): void => {
    problems.push(lupError({
      code: 'CONFIG_INVALID', location: { field }, expected, actual: String(actual),
      message: `Content factory option ${field} must be ${expected}.`,
    }));
  };
  const count = options.resourceCount;
  if (count !== undefined && !(Number.isSafeInteger(count) && count >= 0)) bad('resourceCount', 'a whole number >= 0', count);
  for (const field of ['compressedFraction', 'encryptedFraction', 'bundledFraction'] as const) {
    const v = options[field];
    if (v !== undefined && !(v >= 0 && v <= 1)) bad(field, 'a number in [0, 1]', v);
  }
  const perLevel = options.resourcesPerLevel;
  if (perLevel !== undefined && !(Number.isSafeInteger(perLevel) && perLevel >= 1)) bad('resourcesPerLevel', 'a whole number >= 1', perLevel);
  const sizes = options.sizes;
  if (typeof sizes === 'object') {
    const { minBytes, maxBytes } = sizes;
    if (!(Number.isSafeInteger(minBytes) && Number.isSafeInteger(maxBytes) && minBytes >= 0 && minBytes <= maxBytes && maxBytes <= 0xffffffff)) {
      bad('sizes', 'whole numbers with 0 <= minBytes <= maxBytes <= 4294967295', `${minBytes}..${maxBytes}`);
    }
  }
  for (const file of options.customFiles ?? []) {
    if (file.name === MANIFEST_NAME || algorithmForHexName(file.name) !== undefined || file.name === '' || file.name.startsWith('/') || file.name.split('/').includes('..')) {
      bad('customFiles', 'relative names that are neither hex digests nor the manifest name', file.name);
    }
  }
  if (problems.length === 1) throw problems[0];
  if (problems.length > 1) {
    throw lupError({
      code: 'CONFIG_INVALID', actual: problems.map((p) => `${p.location?.field}=${p.actual}`).join(', '),
      message: `${problems.length} content factory options are invalid: ${problems.map((p) => p.message).join(' ')}`,
    });
  }
}

function drawSize(prng: Prng, sizes: SizeDistribution): number {
  if (sizes === 'tiny') return prng.int(8, 256);
  if (sizes === 'realistic') {
    const { medianBytes, sigma, minBytes, maxBytes } = REALISTIC_SIZES;
    const v = Math.floor(prng.logNormal(Math.log(medianBytes), sigma));
    return Math.min(maxBytes, Math.max(minBytes, v));
  }
  return prng.int(sizes.minBytes, sizes.maxBytes);
}

function drawSpec(
  prng: Prng,
  url: string,
  bundled: boolean,
  options: Pick<ContentFactoryOptions, 'compressedFraction' | 'encryptedFraction'>,
  sizes: SizeDistribution,
): ResourceSpec {
  const sizeBytes = drawSize(prng, sizes);
  // Draw both flags always, so a change of size does not shift every later choice.
  const compressed = prng.chance(options.compressedFraction ?? 0.3) && sizeBytes >= 2;
  const encrypted = prng.chance(options.encryptedFraction ?? 0.05);
  return { url, sizeBytes, compressed, encrypted, bundled, contentSeed: prng.nextUint32(), dependants: [] };
}

/**
 * Plan the resources of a project: urls, sizes and flags, without any bytes. BUNDLED resources
 * live under `/main/`, EXCLUDED ones under `/levels/level_NNN/`.
 */
export function planResources(options: ContentFactoryOptions = {}): ResourceSpec[] {
  checkOptions(options);
  const prng = new Prng(options.seed ?? 1);
  const count = options.resourceCount ?? 20;
  const sizes = options.sizes ?? 'tiny';
  const perLevel = options.resourcesPerLevel ?? 25;
  const bundledCount = Math.round(count * (options.bundledFraction ?? 0.2));
  const specs: ResourceSpec[] = [];
  for (let i = 0; i < bundledCount; i++) {
    const ext = BUNDLED_EXTENSIONS[prng.int(0, BUNDLED_EXTENSIONS.length - 1)];
    specs.push(drawSpec(prng, `/main/shared/asset_${pad(i, 4)}.${ext}`, true, options, sizes));
  }
  const excludedCount = count - bundledCount;
  for (let i = 0; i < excludedCount; i++) {
    const level = Math.floor(i / perLevel) + 1;
    const slot = i % perLevel;
    const folder = `/levels/level_${pad(level, 3)}`;
    // The first slot of a level is its collection: the entry that carries dependants.
    const url = slot === 0
      ? `${folder}/level_${pad(level, 3)}.collectionc`
      : `${folder}/tile_${pad(slot, 4)}.${EXTENSIONS[prng.int(0, EXTENSIONS.length - 1)]}`;
    specs.push(drawSpec(prng, url, false, options, sizes));
  }
  if (options.dependants) return withLevelDependants(specs);
  return specs;
}

/** Each level collection depends on every other resource of its folder. */
function withLevelDependants(specs: readonly ResourceSpec[]): ResourceSpec[] {
  const byFolder = new Map<string, string[]>();
  for (const spec of specs) {
    if (spec.bundled) continue;
    const folder = spec.url.slice(0, spec.url.lastIndexOf('/'));
    const list = byFolder.get(folder) ?? [];
    list.push(spec.url);
    byFolder.set(folder, list);
  }
  return specs.map((spec) => {
    if (spec.bundled || !spec.url.endsWith('.collectionc')) return spec;
    const folder = spec.url.slice(0, spec.url.lastIndexOf('/'));
    return { ...spec, dependants: (byFolder.get(folder) ?? []).filter((url) => url !== spec.url) };
  });
}

/**
 * A second version of a plan: some EXCLUDED resources get new content, and new ones are added
 * in a new level folder. Bundled resources never change (they ship inside the game binary).
 */
export function reviseResources(specs: readonly ResourceSpec[], revision: ResourceRevision = {}): ResourceSpec[] {
  const prng = new Prng(revision.seed ?? 2);
  const sizes = revision.sizes ?? 'tiny';
  const excluded = specs.map((s, i) => ({ s, i })).filter(({ s }) => !s.bundled);
  const changedCount = Math.min(revision.changedCount ?? 3, excluded.length);
  const chosen = new Set<number>();
  while (chosen.size < changedCount) chosen.add(excluded[prng.int(0, excluded.length - 1)].i);
  const out = specs.map((spec, i) => {
    if (!chosen.has(i)) return spec;
    const sizeBytes = drawSize(prng, sizes);
    return { ...spec, sizeBytes, compressed: spec.compressed && sizeBytes >= 2, contentSeed: prng.nextUint32() };
  });
  const levels = specs.map((s) => /^\/levels\/level_(\d+)\//.exec(s.url)).filter((m) => m !== null).map((m) => Number(m[1]));
  const level = pad((levels.length > 0 ? Math.max(...levels) : 0) + 1, 3);
  for (let i = 0; i < (revision.addedCount ?? 3); i++) {
    out.push(drawSpec(prng, `/levels/level_${level}/added_${pad(i, 4)}.texturec`, false, {}, sizes));
  }
  return out;
}

/** The payload's length: `compressed_size` when compressed, else the size. */
function payloadLength(spec: ResourceSpec): number {
  if (!spec.compressed) return spec.sizeBytes;
  // A ratio in [0.2, 0.95), kept strictly below the size as the format requires.
  const ratio = 0.2 + new Prng(spec.contentSeed ^ 0x5bd1e995).nextFloat() * 0.75;
  return Math.min(spec.sizeBytes - 1, Math.max(1, Math.floor(spec.sizeBytes * ratio)));
}

/**
 * Generate a project's LiveUpdate content: the manifest and every EXCLUDED resource, ready to be
 * written as a zip or a loose folder (see `write-content.ts`).
 *
 * @throws LupError `CONFIG_INVALID` naming every invalid option at once.
 * @example
 * const content = createContent({ seed: 7, resourceCount: 40, projectTitle: 'Sample Game', privateKey });
 * await writeZip(content, 'build/sample.zip');
 */
export function createContent(options: ContentFactoryOptions = {}): FactoryContent {
  checkOptions(options);
  const specs = options.resources ?? planResources(options);
  const schema = options.schema ?? 'v5';
  const keepUrls = options.keepUrls ?? true;
  const manifestOnly = options.manifestOnly ?? false;
  const headerExtra = options.headerLiveUpdateFlag ? HEADER_FLAG.LIVEUPDATE : 0;
  const digestBytes = DIGEST_BYTES.sha1;

  const files = new Map<string, Uint8Array>();
  const rows = specs.map((spec) => {
    let hash: string;
    if (manifestOnly) {
      hash = toHex(new Prng(spec.contentSeed ^ 0x2545f491).bytes(digestBytes));
    } else {
      const payload = new Prng(spec.contentSeed).bytes(payloadLength(spec));
      hash = hashHex('sha1', payload);
      if (!spec.bundled && !files.has(hash)) {
        const flags = (spec.compressed ? HEADER_FLAG.COMPRESSED : 0) | (spec.encrypted ? HEADER_FLAG.ENCRYPTED : 0) | headerExtra;
        const file = new Uint8Array(RESOURCE_HEADER_BYTES + payload.length);
        file.set(encodeResourceHeader({ uncompressedSizeBytes: spec.sizeBytes, flags }), 0);
        file.set(payload, RESOURCE_HEADER_BYTES);
        files.set(hash, file);
      }
    }
    return { spec, hash, urlHash: urlHash(spec.url) };
  });
  rows.sort((a, b) => (a.urlHash < b.urlHash ? -1 : a.urlHash > b.urlHash ? 1 : 0));
  const indexByUrl = new Map(rows.map((row, i) => [row.spec.url, i]));
  const hashByUrl = new Map(rows.map((row) => [row.spec.url, row.urlHash]));

  const entries: ManifestEntry[] = rows.map(({ spec, hash, urlHash: h }) => {
    let flags: number = spec.bundled ? ENTRY_FLAG.BUNDLED : ENTRY_FLAG.EXCLUDED;
    // The old schema knows only BUNDLED and EXCLUDED; compression shows in the header alone.
    if (schema === 'v5') flags |= (spec.compressed ? ENTRY_FLAG.COMPRESSED : 0) | (spec.encrypted ? ENTRY_FLAG.ENCRYPTED : 0);
    // Schema 5 lists dependants as url_hashes; the old schema as indices into the sorted list.
    const dependants = spec.dependants.map((url) => {
      const value = schema === 'v5' ? hashByUrl.get(url) : indexByUrl.get(url);
      if (value === undefined) {
        throw lupError({ code: 'CONFIG_INVALID', location: { field: 'resources.dependants' }, actual: url, message: `Resource ${spec.url} depends on ${url}, which is not planned.` });
      }
      return BigInt(value);
    });
    const base = { hash, url: keepUrls ? spec.url : '', urlHash: h, flags, dependants };
    if (schema !== 'v5') return base;
    return { ...base, size: spec.sizeBytes, compressedSize: spec.compressed ? payloadLength(spec) : NOT_COMPRESSED };
  });

  const prng = new Prng((options.seed ?? 1) ^ 0x68e31da4);
  const engineVersions = [
    ...((options.includeEmptyEngineVersion ?? true) ? [sha1OfText('')] : []),
    ...(options.engineVersions ?? ['1.9.0']).map(sha1OfText),
  ];
  const privateKey = options.privateKey;
  const { bytes, manifest } = encodeManifest(
    {
      schema,
      version: schema === 'v5' ? 5 : 4,
      resourceHashAlgorithmCode: HASH_CODE.sha1,
      signatureHashAlgorithmCode: HASH_CODE.sha256,
      signAlgorithmCode: 1,
      projectIdentifier: sha1OfText(options.projectTitle ?? 'Factory Game'),
      engineVersions,
      resources: entries,
      // bob writes a 16-byte archive identifier (deprecated, unused by engines since 1.5).
      archiveIdentifier: prng.bytes(16),
    },
    privateKey ? (data) => signManifestData(data, privateKey, HASH_CODE.sha256) : undefined,
  );

  const resources = [...files.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, fileBytes]) => ({ name, bytes: fileBytes }));
  return {
    manifestBytes: bytes,
    manifest,
    resources,
    bundled: entries.filter((e) => (e.flags & ENTRY_FLAG.BUNDLED) !== 0),
    customFiles: options.customFiles ?? [],
  };
}
