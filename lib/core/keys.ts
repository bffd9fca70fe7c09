/**
 * The bucket layout: the one definition of every key the pipeline reads or writes.
 * Every writer and reader (handlers, CLI, CDK policies, local CDN) imports it from here.
 *
 * | prefix | written by | read by |
 * |---|---|---|
 * | `staging/<game>/<upload>/…` | publisher | pipeline |
 * | `content/<game>/resources/<hexdigest>` | pipeline, at release | anyone (loose resources, header + payload, as uploaded) |
 * | `content/<game>/archives/<sha256>.zip` | pipeline | anyone |
 * | `content/<game>/manifests/<sha256>.dmanifest` | pipeline | anyone |
 * | `channels/<game>/<channel>.json` | pipeline (CAS) | anyone: the pointer |
 * | `channels/<game>/<channel>.dmanifest` | pipeline | anyone: current manifest at a stable path (engines ≤ 1.4) |
 * | `releases/<game>/<release>.json` | pipeline (create-only) | operators |
 * | `releases/<game>/history/<channel>/<seq>.json` | pipeline (create-only) | operators |
 * | `quarantine/<game>/<upload>/…` | pipeline | operators |
 * | `status/<game>/<upload>.json` | pipeline | publisher |
 * | `state/<game>/_archives/<sha256>.json`, `state/<game>/_manifests/<sha256>.json` | pipeline | pipeline: receipts of verified archives and manifests |
 * | `state/<game>/_editor/candidate.json`, `state/<game>/_game/pin.json` | pipeline | pipeline: the editor's latest manifest; the development-mode pin |
 * | `state/<game>/_headers/<digest>.<header hex>.<payload bytes>` | pipeline | pipeline: each published loose resource's header (empty objects) |
 * | `state/<game>/_verified/resources/<digest>.<header hex>`, `…/archives/<sha256>.zip`, `…/manifests/<sha256>.dmanifest` | pipeline | pipeline: verified content not yet released (private; copied to content/ by the release that makes it live) |
 * | `state/<game>/_gc/marks.json` | pipeline (CAS) | pipeline: garbage-collection marks (mark-and-sweep with releases) |
 * | `state/<game>/_flips/<channel>/<sha256 of request id>.json` | pipeline | pipeline: one durable record per flip attempted (a retried flip is never applied twice) |
 * | `state/_pending/<game>/<upload>` | pipeline | sweeper: uploads not decided yet (empty objects) |
 *
 * Every `content/` object is a released object: verified bytes wait in `state/<game>/_verified/`
 * until a release whose manifest accepts them is made live, so a publisher key alone can never make
 * anything servable (DESIGN I1, security model).
 */

export const PREFIX = {
  staging: 'staging/',
  content: 'content/',
  channels: 'channels/',
  releases: 'releases/',
  quarantine: 'quarantine/',
  status: 'status/',
  state: 'state/',
} as const;

/** File name of the release request the CLI writes last into its upload folder. */
export const RELEASE_REQUEST_NAME = 'release-request.json';
/** Name of the manifest beside loose resources, as the Defold editor writes it. */
export const MANIFEST_NAME = 'liveupdate.game.dmanifest';
/**
 * Where the Defold editor's Amazon publisher puts the manifest since the streaming publishers
 * (bob ~1.9.6, 2024): it keys every entry `prefix + "/" + hexDigest`, and the manifest entry has no
 * digest, so Java writes the key `<prefix>/null` (raw protobuf; earlier bob wrote {@link MANIFEST_NAME}).
 * @see docs/defold-format.md, "The Defold editor's Amazon publisher"
 */
export const EDITOR_NULL_MANIFEST_NAME = 'null';
/** The upload folder the Defold editor's Amazon publisher writes to (its configured prefix). */
export const EDITOR_UPLOAD = 'editor';

const ID = /^[a-z0-9][a-z0-9-_.]{0,62}$/;

/** True when `id` is usable as a game, channel, upload or release id (lowercase, no slash). */
export function isValidId(id: string): boolean {
  return ID.test(id) && !id.includes('..');
}

/** Upload ids the pipeline keeps for itself: the editor's folder and its per-build releases (`editor-<sha256 prefix>`). */
export function isReservedUploadId(upload: string): boolean {
  return upload === EDITOR_UPLOAD || upload.startsWith(`${EDITOR_UPLOAD}-`);
}

/** Where staging steps ask for release attempts (routed to the release function). */
export const RELEASE_ATTEMPTS_PREFIX = 'state/_attempts/';
export const RELEASE_ATTEMPT_SUFFIX = '.attempt';

/** The game and upload of a release-attempt key, or `undefined`. */
export function parseReleaseAttemptKey(key: string): { game: string; upload: string } | undefined {
  if (!key.startsWith(RELEASE_ATTEMPTS_PREFIX) || !key.endsWith(RELEASE_ATTEMPT_SUFFIX)) return undefined;
  const parts = key.slice(RELEASE_ATTEMPTS_PREFIX.length, -RELEASE_ATTEMPT_SUFFIX.length).split('/');
  if (parts.length !== 2 || !isValidId(parts[0]) || !(parts[1] === EDITOR_UPLOAD || isValidId(parts[1]))) return undefined;
  return { game: parts[0], upload: parts[1] };
}

export const keys = {
  stagingPrefix: (game: string) => `staging/${game}/`,
  uploadPrefix: (game: string, upload: string) => `staging/${game}/${upload}/`,
  staged: (game: string, upload: string, name: string) => `staging/${game}/${upload}/${name}`,
  releaseRequest: (game: string, upload: string) => `staging/${game}/${upload}/${RELEASE_REQUEST_NAME}`,

  contentPrefix: (game: string) => `content/${game}/`,
  resourcesPrefix: (game: string) => `content/${game}/resources/`,
  resource: (game: string, hexDigest: string) => `content/${game}/resources/${hexDigest}`,
  archive: (game: string, sha256: string) => `content/${game}/archives/${sha256}.zip`,
  manifest: (game: string, sha256: string) => `content/${game}/manifests/${sha256}.dmanifest`,

  channelsPrefix: (game: string) => `channels/${game}/`,
  pointer: (game: string, channel: string) => `channels/${game}/${channel}.json`,
  stableManifest: (game: string, channel: string) => `channels/${game}/${channel}.dmanifest`,

  releasesPrefix: (game: string) => `releases/${game}/`,
  release: (game: string, release: string) => `releases/${game}/${release}.json`,
  historyPrefix: (game: string, channel: string) => `releases/${game}/history/${channel}/`,
  history: (game: string, channel: string, sequence: number) =>
    `releases/${game}/history/${channel}/${String(sequence).padStart(12, '0')}.json`,

  quarantine: (game: string, upload: string, name: string) => `quarantine/${game}/${upload}/${name}`,
  quarantineReason: (game: string, upload: string, name: string) => `quarantine/${game}/${upload}/${name}.reason.json`,

  statusPrefix: (game: string) => `status/${game}/`,
  status: (game: string, upload: string) => `status/${game}/${upload}.json`,

  // Pipeline bookkeeping. Names starting with `_` cannot be upload ids, so they never collide.
  statePrefix: (game: string) => `state/${game}/`,
  archiveReceipt: (game: string, sha256: string) => `state/${game}/_archives/${sha256}.json`,
  manifestReceipt: (game: string, sha256: string) => `state/${game}/_manifests/${sha256}.json`,
  editorCandidate: (game: string) => `state/${game}/_editor/candidate.json`,
  // A loose resource's 16-byte header and payload size, kept in the key so that one listing gives
  // a release every header it must check against its manifest.
  headerReceiptsPrefix: (game: string) => `state/${game}/_headers/`,
  headerReceipt: (game: string, hexDigest: string, headerHex: string, payloadSizeBytes: number) =>
    `state/${game}/_headers/${hexDigest}.${headerHex}.${payloadSizeBytes}`,
  gamePin: (game: string) => `state/${game}/_game/pin.json`,
  verifiedResourcesPrefix: (game: string) => `state/${game}/_verified/resources/`,
  verifiedResource: (game: string, hexDigest: string, headerHex: string) => `state/${game}/_verified/resources/${hexDigest}.${headerHex}`,
  verifiedArchive: (game: string, sha256: string) => `state/${game}/_verified/archives/${sha256}.zip`,
  verifiedManifest: (game: string, sha256: string) => `state/${game}/_verified/manifests/${sha256}.dmanifest`,
  verifiedPrefix: (game: string) => `state/${game}/_verified/`,
  gcMarks: (game: string) => `state/${game}/_gc/marks.json`,
  flipRecord: (game: string, channel: string, requestIdSha256: string) => `state/${game}/_flips/${channel}/${requestIdSha256}.json`,
  /**
   * A staging step's request for a release attempt: an (empty) object whose S3 event the release
   * function receives, so that staging steps need no flip grants (see `routes.ts`).
   */
  releaseAttempt: (game: string, upload: string) => `${RELEASE_ATTEMPTS_PREFIX}${game}/${upload}${RELEASE_ATTEMPT_SUFFIX}`,
  pendingPrefix: () => 'state/_pending/',
  pendingUpload: (game: string, upload: string) => `state/_pending/${game}/${upload}`,
} as const;

/** A staged object's key, split into its parts. */
export interface StagedKey {
  readonly game: string;
  readonly upload: string;
  /** Path below the upload folder, e.g. `levels.zip` or `3f2a…`. */
  readonly name: string;
}

/**
 * Split `staging/<game>/<upload>/<name>`; `undefined` when the key is not of that shape.
 * Repeated slashes are collapsed first, as the Defold editor's publisher does.
 */
export function parseStagedKey(key: string): StagedKey | undefined {
  const parts = key.split('/').filter((p) => p.length > 0);
  if (parts.length < 4 || parts[0] !== 'staging') return undefined;
  const [, game, upload, ...rest] = parts;
  if (!isValidId(game) || !isValidId(upload)) return undefined;
  const name = rest.join('/');
  if (rest.some((p) => p === '..' || p === '.')) return undefined;
  return { game, upload, name };
}
