/**
 * Verification of a live channel as a game client sees it: plain HTTP GETs through the CDN, no S3,
 * no credentials. It downloads the pointer and everything the pointer references and checks every
 * byte against the digests the pointer and the manifest promise (invariant I1 seen from outside),
 * and the served `Cache-Control` against the one policy in `lib/http-policy.ts`.
 *
 * | object | fetched at | checked |
 * |---|---|---|
 * | pointer | `channels/<game>/<channel>.json` | shape, `Cache-Control` = {@link CHANNEL_CACHE} |
 * | manifest | `manifest.path` | SHA-256 and size as the pointer says; decodes; format rules; `Cache-Control` = {@link CONTENT_CACHE} |
 * | stable manifest | `stableManifest.path` | the same bytes as the manifest; `Cache-Control` = {@link CHANNEL_CACHE} |
 * | each archive | `archives[i].path` | SHA-256, size; every entry's digest; the manifest inside; `Cache-Control` = {@link CONTENT_CACHE} |
 * | each EXCLUDED resource (loose releases) | `resourcesBase.path + <hexdigest>` | name = digest of the payload; header and size against the manifest; `Cache-Control` |
 *
 * Paths are resolved against the CDN base URL the caller gives, never against the pointer's `url`
 * fields, which name the CDN the pipeline was configured with (possibly another host).
 */
import { DEFAULT_VERIFY_CONCURRENCY } from './verify-defaults';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pLimit from 'p-limit';
import { fileByteSource } from '../adapters/file-source';
import { algorithmForHexName } from '../core/format/digest';
import { isLupError, lupError, type ErrorLocation, type LupError } from '../core/errors';
import { MANIFEST_NAME, keys } from '../core/keys';
import { isExcluded, type Manifest } from '../core/format/manifest';
import { MAX_MANIFEST_BYTES, decodeManifest } from '../core/format/manifest-codec';
import { type ReleasedArchive } from '../core/documents/release-record';
import { MAX_POINTER_BYTES, pointerCodec, type ChannelPointer } from '../core/documents/pointer';
import { ResourceDigester } from '../core/format/resource-header';
import { validateContent, type ResourceObservation } from '../core/format/validate-content';
import { validateManifest } from '../core/format/validate-manifest';
import { verifyArchive } from '../core/format/verify-archive';
import { CHANNEL_CACHE, CONTENT_CACHE } from '../http-policy';

/** Downloads in flight at once unless told otherwise. */
export { DEFAULT_VERIFY_CONCURRENCY };


/** Options of {@link verifyChannel}. */
export interface VerifyChannelRequest {
  /**
   * Base URL players download from (the CDK output `CdnBaseUrl`, or the local CDN), e.g.
   * `https://d111abcdef8.cloudfront.net/`. Every path of the pointer is resolved against it.
   */
  readonly cdnBaseUrl: string;
  readonly game: string;
  readonly channel: string;
  /**
   * Downloads in flight at once. Memory stays at about one chunk per download (64 KiB) plus the
   * manifest (at most 64 MiB); archives are spooled to temporary files, so the disk needs room
   * for up to this many archives at once.
   * @default 16
   */
  readonly concurrency?: number;
  /** Called after each object is checked. @default - no progress is reported */
  readonly onProgress?: (event: VerifyProgress) => void;
  /** The HTTP client. @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /**
   * Waits before each retry of a GET that failed transiently (HTTP 5xx or 429, or the connection
   * failed before a response); its length bounds the retries. Each retry is counted in `retries`.
   * A 404, a wrong digest or size, or a wrong header is never retried.
   * @default [250, 1000, 3000]
   */
  readonly retryDelaysMs?: readonly number[];
  /** Folder for the temporary copies of archives. @default os.tmpdir() */
  readonly tempDir?: string;
}

/** Progress of a verification: one event per object checked. */
export interface VerifyProgress {
  /** Objects checked so far. */
  readonly checkedObjects: number;
  /** Objects known so far; grows once the manifest of a loose release is read. */
  readonly totalObjects: number;
  readonly bytesDownloaded: number;
  /** Path (from the CDN root) of the object just checked. */
  readonly path: string;
}

/** The outcome of {@link verifyChannel}. */
export interface VerifyChannelResponse {
  readonly game: string;
  readonly channel: string;
  /** The URL the pointer was fetched from. */
  readonly pointerUrl: string;
  /** The release the pointer names, when it could be read. */
  readonly releaseId?: string;
  readonly sequence?: number;
  /** The staged rollout whose candidate release was verified too, when the channel has one. */
  readonly rollout?: { readonly releaseId: string; readonly share: number; readonly state: 'active' | 'halted' };
  /** `archives` or `loose`, when the pointer could be read. */
  readonly kind?: 'archives' | 'loose';
  /** Objects downloaded and checked, the pointer included. */
  readonly objectsChecked: number;
  readonly bytesDownloaded: number;
  /** Every problem found, each a `VERIFY_MISMATCH` naming the URL, the expected and the actual value. */
  readonly mismatches: readonly LupError[];
  /** Transient failures (HTTP 5xx/429, dropped connections) that a retry got past. */
  readonly retries: number;
  /** True when nothing is missing and nothing differs. */
  readonly ok: boolean;
}

/** What one download is expected to be. */
interface Expectation {
  readonly path: string;
  readonly what: string;
  readonly cacheControl: string;
  readonly sha256?: string;
  readonly sizeBytes?: number;
  /** What a 404 means for this object, and the way out. */
  readonly whenMissing?: string;
}

/** A finished download: what was measured. */
interface Downloaded {
  readonly sha256: string;
  readonly sizeBytes: number;
}

/**
 * Verify a channel through the CDN, as a game client would download it. Never throws for what it
 * finds: every problem is a `VERIFY_MISMATCH` in the response.
 *
 * @example
 * const report = await verifyChannel({ cdnBaseUrl: 'https://d111abcdef8.cloudfront.net/', game: 'space-game', channel: 'stable' });
 * if (!report.ok) for (const m of report.mismatches) console.error(formatError(m.toJSON()));
 */
export async function verifyChannel(request: VerifyChannelRequest): Promise<VerifyChannelResponse> {
  const base = request.cdnBaseUrl.endsWith('/') ? request.cdnBaseUrl : `${request.cdnBaseUrl}/`;
  const fetchFn = request.fetch ?? globalThis.fetch;
  const limit = pLimit(Math.max(1, request.concurrency ?? DEFAULT_VERIFY_CONCURRENCY));
  const { game, channel } = request;
  const pointerPath = keys.pointer(game, channel);
  const urlOf = (path: string): string => `${base}${path}`;
  const mismatches: LupError[] = [];
  let checkedObjects = 0;
  let totalObjects = 1;
  let bytesDownloaded = 0;
  let retries = 0;
  const retryDelaysMs = request.retryDelaysMs ?? [250, 1000, 3000];

  /**
   * GET with bounded retries: real CDNs answer the odd 503 or drop a connection, which says
   * nothing about the content. The last answer (or error) is what the caller judges.
   */
  async function fetchWithRetries(url: string): Promise<Response> {
    for (let attempt = 0; ; attempt += 1) {
      const transient = (status: number): boolean => status >= 500 || status === 429;
      const delay = retryDelaysMs[attempt];
      try {
        const response = await fetchFn(url);
        if (!transient(response.status) || delay === undefined) return response;
        await response.body?.cancel().catch(() => undefined);
      } catch (error) {
        if (delay === undefined) throw error;
      }
      retries += 1;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }

  const mismatch = (path: string, message: string, expected: string, actual: string, location: Omit<ErrorLocation, 'key'> = {}, cause?: unknown): void => {
    mismatches.push(lupError({ code: 'VERIFY_MISMATCH', location: { key: path, ...location }, expected, actual, message: `${urlOf(path)}: ${message}` }, cause));
  };
  /** A finding of the core's format rules, reported as a mismatch of the URL it was found at. */
  const finding = (path: string, error: LupError): void => {
    mismatches.push(lupError({
      code: 'VERIFY_MISMATCH', location: { ...error.location, key: path },
      expected: error.expected ?? 'content that passes the format rules', actual: error.actual ?? error.code,
      message: `${urlOf(path)} fails ${error.code}: ${error.message}`,
    }, error));
  };
  const checked = (path: string): void => {
    checkedObjects += 1;
    request.onProgress?.({ checkedObjects, totalObjects, bytesDownloaded, path });
  };

  /**
   * GET one object, check status and `Cache-Control`, stream it through `sink` while hashing, then
   * check size and SHA-256. `undefined` when it could not be downloaded (the mismatch is recorded).
   */
  async function download(expect: Expectation, sink?: (chunk: Uint8Array) => void | Promise<void>): Promise<Downloaded | undefined> {
    const { path, what } = expect;
    let response: Response;
    try {
      response = await fetchWithRetries(urlOf(path));
    } catch (cause) {
      mismatch(path, `the ${what} could not be downloaded; check --cdn and your network.`, 'an HTTP response', `request failed: ${describe(cause)}`, {}, cause);
      return undefined;
    }
    if (response.status !== 200) {
      await response.body?.cancel().catch(() => undefined);
      mismatch(
        path,
        response.status === 404
          ? `the ${what} is missing: ${expect.whenMissing ?? `the pointer references an object the CDN does not serve; roll the channel back (lup rollback --game ${game} --channel ${channel}) or publish again.`}`
          : `the ${what} was not served; check that --cdn is the CDN of this stack.`,
        'HTTP 200', `HTTP ${response.status}${response.status === 404 ? ' (missing)' : ''}`,
      );
      return undefined;
    }
    const cacheControl = response.headers.get('cache-control');
    if (cacheControl !== expect.cacheControl) {
      mismatch(path, `the ${what} is served with another Cache-Control than the cache policy (lib/http-policy.ts); check the CDN's cache behaviour.`,
        `Cache-Control: ${expect.cacheControl}`, cacheControl === null ? 'no Cache-Control header' : `Cache-Control: ${cacheControl}`, { field: 'Cache-Control' });
    }
    const hasher = createHash('sha256');
    let sizeBytes = 0;
    try {
      if (response.body) {
        for await (const chunk of response.body) {
          hasher.update(chunk);
          sizeBytes += chunk.byteLength;
          bytesDownloaded += chunk.byteLength;
          if (sink) {
            try {
              await sink(chunk);
            } catch (error) {
              throw new LocalFailure(error);
            }
          }
        }
      }
    } catch (cause) {
      // A local failure (disk full) is ours, not the CDN's: it fails the run instead of being a mismatch.
      if (cause instanceof LocalFailure) throw cause.error;
      mismatch(path, `the download of the ${what} broke off.`, `${expect.sizeBytes ?? 'all'} bytes`, `${sizeBytes} bytes, then ${describe(cause)}`, {}, cause);
      return undefined;
    }
    const sha256 = hasher.digest('hex');
    if (expect.sizeBytes !== undefined && sizeBytes !== expect.sizeBytes) {
      mismatch(path, `the ${what} has another size than the pointer says: it was changed or truncated after the pipeline verified it.`,
        `${expect.sizeBytes} bytes`, `${sizeBytes} bytes`, { field: 'sizeBytes' });
    } else if (expect.sha256 !== undefined && sha256 !== expect.sha256) {
      mismatch(path, `the ${what} does not have the SHA-256 the pointer says: its bytes were changed after the pipeline verified them.`,
        `SHA-256 ${expect.sha256}`, `SHA-256 ${sha256}`, { field: 'sha256' });
    }
    return { sha256, sizeBytes };
  }

  const respond = (pointer?: ChannelPointer): VerifyChannelResponse => ({
    game, channel, pointerUrl: urlOf(pointerPath),
    ...(pointer ? { releaseId: pointer.releaseId, sequence: pointer.sequence, kind: pointer.archives.length > 0 ? 'archives' as const : 'loose' as const } : {}),
    ...(pointer?.rollout ? { rollout: { releaseId: pointer.rollout.releaseId, share: pointer.rollout.share, state: pointer.rollout.state } } : {}),
    objectsChecked: checkedObjects, bytesDownloaded, mismatches, retries, ok: mismatches.length === 0,
  });

  // 1. The pointer: one GET tells the client everything to fetch.
  const pointerChunks: Uint8Array[] = [];
  let pointerBytes = 0;
  const pointerDownload = await download({
    path: pointerPath, what: 'channel pointer', cacheControl: CHANNEL_CACHE.cacheControl,
    whenMissing: `nothing was released to channel "${channel}" of game "${game}", or a name is misspelled; list the channels with \`lup status --game ${game}\`.`,
  }, (chunk) => {
    pointerBytes += chunk.byteLength;
    if (pointerBytes <= MAX_POINTER_BYTES) pointerChunks.push(chunk);
  });
  checked(pointerPath);
  if (!pointerDownload) return respond();
  if (pointerBytes > MAX_POINTER_BYTES) {
    mismatch(pointerPath, 'the channel pointer is far larger than any pointer the pipeline writes.', `at most ${MAX_POINTER_BYTES} bytes`, `${pointerBytes} bytes`);
    return respond();
  }
  const pointer = checkPointerShape(Buffer.concat(pointerChunks), game, channel, (field, expected, actual) =>
    mismatch(pointerPath, `the channel pointer's ${field} is not what the pipeline writes; the pointer was edited by hand or by another tool.`, expected, actual, { field }));
  if (!pointer) return respond();

  // 2. What the channel serves: its release and, during a staged rollout, the candidate release too
  // (the stable manifest beside the pointer is the release's only).
  await verifyServed(pointer, true);
  if (pointer.rollout) {
    const { releaseId, manifest, archives, resourcesBase, engineVersions } = pointer.rollout;
    await verifyServed({ ...pointer, releaseId, manifest, archives, resourcesBase, engineVersions }, false);
  }
  return respond(pointer);

  /** Verify one release the pointer serves (`stable`: the pointer's own release, with its stable manifest copy). */
  async function verifyServed(pointer: ChannelPointer, stable: boolean): Promise<void> {
    // 2. The manifest, the stable copy beside the pointer and the archives, side by side.
    const loose = pointer.archives.length === 0;
    totalObjects += (stable ? 2 : 1) + pointer.archives.length;
    const tempDir = loose ? undefined : await mkdtemp(join(request.tempDir ?? tmpdir(), 'lup-verify-'));
    const manifestPath = pointer.manifest.path;
    const manifestTask = limit(async (): Promise<Manifest | undefined> => {
      const chunks: Uint8Array[] = [];
      let size = 0;
      const got = await download({ path: manifestPath, what: 'manifest', cacheControl: CONTENT_CACHE.cacheControl, sha256: pointer.manifest.sha256, sizeBytes: pointer.manifest.sizeBytes }, (chunk) => {
        size += chunk.byteLength;
        if (size <= MAX_MANIFEST_BYTES) chunks.push(chunk);
      });
      checked(manifestPath);
      if (!got) return undefined;
      if (size > MAX_MANIFEST_BYTES) {
        mismatch(manifestPath, 'the manifest is larger than any Defold build produces.', `at most ${MAX_MANIFEST_BYTES} bytes`, `${size} bytes`);
        return undefined;
      }
      let manifest: Manifest;
      try {
        manifest = decodeManifest(Buffer.concat(chunks), { key: manifestPath });
      } catch (error) {
        if (!isLupError(error)) throw error;
        finding(manifestPath, error);
        return undefined;
      }
      for (const error of validateManifest(manifest, {}, { key: manifestPath }).errors) finding(manifestPath, error);
      if (manifest.schema !== pointer.manifest.schema) {
        mismatch(manifestPath, 'the manifest is of another schema than the pointer says.', `schema ${pointer.manifest.schema}`, `schema ${manifest.schema}`, { field: 'manifest.schema' });
      }
      if (!sameSet(manifest.engineVersions, pointer.engineVersions)) {
        mismatch(manifestPath, "the manifest supports other engine versions than the pointer's engineVersions.",
          pointer.engineVersions.join(', ') || 'none', manifest.engineVersions.join(', ') || 'none', { field: 'engineVersions' });
      }
      return manifest;
    });
    const stableTask = !stable ? Promise.resolve() : limit(async () => {
      const path = pointer.stableManifest.path;
      await download({ path, what: 'stable manifest beside the pointer', cacheControl: CHANNEL_CACHE.cacheControl, sha256: pointer.manifest.sha256, sizeBytes: pointer.manifest.sizeBytes });
      checked(path);
    });
    try {
      const archiveTasks = pointer.archives.map((archive, i) => limit(() => verifyServedArchive(archive, join(tempDir as string, `${i}-${archive.sha256}.zip`))));
      const [manifest, , archiveReports] = await Promise.all([manifestTask, stableTask, Promise.all(archiveTasks)]);

      if (!loose) {
        // The release's manifest is the one of its highest-priority archive (lib/core/pipeline/release.ts),
        // and together the archives hold every EXCLUDED resource of it.
        const ranked = pointer.archives.map((a, i) => ({ a, r: archiveReports[i] })).sort((x, y) => y.a.priority - x.a.priority);
        const first = ranked[0];
        if (first.r && first.r.manifestSha256 !== undefined && first.r.manifestSha256 !== pointer.manifest.sha256) {
          mismatch(first.a.path, `the manifest inside archive ${first.a.name} is not the manifest the pointer names.`,
            `SHA-256 ${pointer.manifest.sha256}`, `SHA-256 ${first.r.manifestSha256}`, { entry: MANIFEST_NAME });
        }
        // Only when every archive was read to the end: a broken one was reported already, and its
        // unread entries would show up again as missing.
        if (manifest && ranked.every((o) => o.r?.resources)) {
          const inArchives = new Set(ranked.flatMap((o) => o.r?.resources ?? []));
          const missing = [...new Set(manifest.resources.filter(isExcluded).map((e) => e.hash))].filter((h) => !inArchives.has(h));
          if (missing.length > 0) {
            mismatch(manifestPath, `the release's archives lack ${missing.length} resource(s) the manifest needs; the game could not load them.`,
              'every EXCLUDED resource in one of the archives', `${missing.length} missing: ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ', …' : ''}`);
          }
        }
        return;
      }

      // 3. Loose releases: every EXCLUDED resource at resourcesBase + digest (the manifest names them).
      if (!manifest) return;
      const digests = [...new Set(manifest.resources.filter(isExcluded).map((e) => e.hash))];
      totalObjects += digests.length;
      const observations = (await Promise.all(digests.map((digest) => limit(() => fetchResource(digest, manifestPath))))).filter((o): o is ResourceObservation => o !== undefined);
      for (const error of validateContent(manifest, observations, { requireComplete: false }).errors) {
        finding(error.location?.key ?? pointer.resourcesBase.path, error);
      }
      return;
    } finally {
      if (tempDir) await rm(tempDir, { recursive: true, force: true });
    }
  }

  async function fetchResource(digest: string, manifestPath: string): Promise<ResourceObservation | undefined> {
    const path = `${pointer!.resourcesBase.path}${digest}`;
    const algorithm = algorithmForHexName(digest);
    if (!algorithm) {
      mismatch(manifestPath, 'the manifest lists a resource digest that is no lowercase hex digest.', 'a lowercase hex digest', JSON.stringify(digest));
      checked(path);
      return undefined;
    }
    const digester = new ResourceDigester(algorithm);
    const got = await download({ path, what: `resource ${digest}`, cacheControl: CONTENT_CACHE.cacheControl }, (chunk) => digester.update(chunk));
    checked(path);
    if (!got) return undefined;
    const { header, digest: actual, payloadSizeBytes } = digester.finish();
    return { name: digest, digest: actual, header, payloadSizeBytes, location: { key: path } };
  }

  /** Download and verify one archive; `resources` is known only when every entry could be read. */
  async function verifyServedArchive(archive: ReleasedArchive, file: string): Promise<{ manifestSha256?: string; resources?: readonly string[] } | undefined> {
    const out = createWriteStream(file);
    const written = new Promise<void>((resolve, reject) => {
      out.once('finish', resolve);
      out.once('error', reject);
    });
    const got = await download(
      { path: archive.path, what: `archive ${archive.name}`, cacheControl: CONTENT_CACHE.cacheControl, sha256: archive.sha256, sizeBytes: archive.sizeBytes },
      (chunk) => (out.write(chunk) ? undefined : new Promise<void>((resolve) => out.once('drain', () => resolve()))),
    );
    out.end();
    await written;
    if (!got) {
      checked(archive.path);
      return undefined;
    }
    const source = await fileByteSource(file);
    try {
      const report = await verifyArchive(source, { location: { key: archive.path }, policy: { requireComplete: false } });
      for (const error of report.errors) finding(archive.path, error);
      return { manifestSha256: report.manifestSha256, resources: report.manifest ? report.resources : undefined };
    } finally {
      await source.close();
      checked(archive.path);
    }
  }
}

/** Wraps an error of the local side of a download, so it is not taken for a broken download. */
class LocalFailure {
  constructor(readonly error: unknown) {}
}

/** True when both lists hold the same strings, in any order. */
function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const sa = new Set(a);
  const sb = new Set(b);
  return sa.size === sb.size && [...sa].every((x) => sb.has(x));
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
  }
  return String(error);
}

/**
 * Check a pointer against its one definition (`pointerCodec`: the schema and the keys layout) and
 * against the game and channel asked for. Reports every problem; returns the pointer only when it
 * matches its definition, so that the downloads can trust its paths.
 */
export function checkPointerShape(
  body: Uint8Array,
  game: string,
  channel: string,
  report: (field: string, expected: string, actual: string) => void,
): ChannelPointer | undefined {
  const decoded = pointerCodec.decode(body, {});
  if (!decoded.ok) {
    for (const e of decoded.errors) report(e.location?.field ?? 'body', e.expected ?? 'a channel pointer', e.actual ?? '');
    return undefined;
  }
  const p = decoded.value;
  if (p.game !== game) report('game', JSON.stringify(game), JSON.stringify(p.game));
  if (p.channel !== channel) report('channel', JSON.stringify(channel), JSON.stringify(p.channel));
  return p;
}
