/**
 * Errors are data: every failure the pipeline can report has a stable code, a location, the
 * expected and the actual value, and one sentence a build engineer can act on.
 *
 * Recognise them with {@link isLupError} (a brand), not `instanceof`, which breaks across bundles.
 */

/** Every error code the product can report. Codes are stable; messages may improve. */
export type ErrorCode =
  // manifest format and rules
  | 'MANIFEST_UNREADABLE'
  | 'MANIFEST_SCHEMA_UNKNOWN'
  | 'MANIFEST_VERSION_UNSUPPORTED'
  | 'MANIFEST_TOO_LARGE'
  | 'MANIFEST_HASH_ALGORITHM_UNSUPPORTED'
  | 'MANIFEST_SIGN_ALGORITHM_UNSUPPORTED'
  | 'MANIFEST_DIGEST_LENGTH_INVALID'
  | 'MANIFEST_PROJECT_MISMATCH'
  | 'MANIFEST_ENGINE_UNSUPPORTED'
  | 'MANIFEST_URL_HASH_MISMATCH'
  | 'MANIFEST_NOT_SORTED'
  | 'MANIFEST_DUPLICATE_ENTRY'
  | 'MANIFEST_SIZE_INCONSISTENT'
  | 'MANIFEST_FLAGS_INVALID'
  | 'MANIFEST_DEPENDANT_UNRESOLVED'
  | 'SIGNATURE_MISSING'
  | 'SIGNATURE_INVALID'
  | 'PUBLIC_KEY_INVALID'
  // resources (loose files and archive entries)
  | 'RESOURCE_HEADER_INVALID'
  | 'RESOURCE_NAME_INVALID'
  | 'RESOURCE_DIGEST_MISMATCH'
  | 'RESOURCE_SIZE_MISMATCH'
  | 'RESOURCE_NOT_IN_MANIFEST'
  | 'RESOURCE_MISSING'
  | 'RESOURCE_TOO_LARGE'
  // zip archives
  | 'ARCHIVE_UNREADABLE'
  | 'ARCHIVE_ENTRY_NAME_UNSAFE'
  | 'ARCHIVE_DUPLICATE_ENTRY'
  | 'ARCHIVE_TOO_MANY_ENTRIES'
  | 'ARCHIVE_ENTRY_TOO_LARGE'
  | 'ARCHIVE_TOO_LARGE'
  | 'ARCHIVE_RATIO_EXCEEDED'
  | 'ARCHIVE_ENTRY_CORRUPT'
  | 'ARCHIVE_NO_MANIFEST'
  // releases, channels, operations
  | 'RELEASE_REQUEST_INVALID'
  | 'DOCUMENT_INVALID'
  | 'RELEASE_INCOMPLETE'
  | 'RELEASE_SUPERSEDED'
  | 'RELEASE_NOT_FOUND'
  | 'UPLOAD_NOT_FOUND'
  | 'RELEASE_REFUSED'
  | 'GAME_UNKNOWN'
  | 'CHANNEL_UNKNOWN'
  | 'CHANNEL_NOT_PUBLISHABLE'
  | 'CHANNEL_EMPTY'
  | 'CHANNEL_CONFLICT'
  | 'ROLLOUT_REFUSED'
  | 'PINNED_PROJECT_MISMATCH'
  | 'PINNED_KEY_MISMATCH'
  | 'GC_INCOMPLETE_VIEW'
  | 'VERIFY_MISMATCH'
  // configuration and usage
  | 'CONFIG_INVALID'
  | 'USAGE_INVALID'
  | 'INPUT_NOT_FOUND'
  | 'DATA_DIR_IN_USE'
  // infrastructure
  | 'ACCESS_DENIED'
  | 'STORE_PRECONDITION_FAILED'
  | 'STORE_UNAVAILABLE'
  | 'CDN_INVALIDATION_FAILED'
  | 'INTERNAL';

/** Where an error was found. Every part is optional; give as many as are known. */
export interface ErrorLocation {
  /** Object key in the bucket, e.g. `staging/g1/u7/liveupdate.game.dmanifest`. */
  readonly key?: string;
  /** Local file path (CLI) or file name inside an upload. */
  readonly file?: string;
  /** Zip entry or resource name inside an archive or folder. */
  readonly entry?: string;
  /** Field path, e.g. `data.resources[3].url_hash` or `games[0].projectTitle`. */
  readonly field?: string;
  /** Byte offset inside the file or entry. */
  readonly offset?: number;
  /** The CLI flag, e.g. `--public-key`. */
  readonly flag?: string;
}

/** The serialisable shape of a {@link LupError}. */
export interface LupErrorData {
  readonly code: ErrorCode;
  readonly message: string;
  readonly location?: ErrorLocation;
  readonly expected?: string;
  readonly actual?: string;
}

const BRAND = Symbol.for('defold-liveupdate-pipeline.LupError');

/** A failure the product reports as data. */
export class LupError extends Error {
  readonly code: ErrorCode;
  readonly location?: ErrorLocation;
  readonly expected?: string;
  readonly actual?: string;

  constructor(data: LupErrorData, options?: { cause?: unknown }) {
    super(data.message, options);
    this.name = 'LupError';
    this.code = data.code;
    this.location = data.location;
    this.expected = data.expected;
    this.actual = data.actual;
    Object.defineProperty(this, BRAND, { value: true });
  }

  toJSON(): LupErrorData {
    const out: { -readonly [K in keyof LupErrorData]: LupErrorData[K] } = { code: this.code, message: this.message };
    if (this.location && Object.keys(this.location).length > 0) out.location = this.location;
    if (this.expected !== undefined) out.expected = this.expected;
    if (this.actual !== undefined) out.actual = this.actual;
    return out;
  }
}

/** True when `value` is a {@link LupError}, also across bundle boundaries. */
export function isLupError(value: unknown): value is LupError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}

/** Shorthand constructor: `lupError({ code, message, ... })`. */
export function lupError(data: LupErrorData, cause?: unknown): LupError {
  return new LupError(data, cause === undefined ? undefined : { cause });
}

/** Rebuild an error from its JSON form (status objects, CLI `--json`). */
export function errorFromJSON(data: LupErrorData): LupError {
  return new LupError(data);
}

/** Render an error as one or more lines for a terminal. */
export function formatError(error: LupErrorData): string {
  const where = formatLocation(error.location);
  const lines = [`${error.code}: ${error.message}`];
  if (where) lines.push(`  at ${where}`);
  if (error.expected !== undefined) lines.push(`  expected: ${error.expected}`);
  if (error.actual !== undefined) lines.push(`  actual:   ${error.actual}`);
  return lines.join('\n');
}

function formatLocation(location?: ErrorLocation): string {
  if (!location) return '';
  const parts: string[] = [];
  if (location.file) parts.push(location.file);
  if (location.key) parts.push(`s3 key ${location.key}`);
  if (location.entry) parts.push(`entry ${location.entry}`);
  if (location.field) parts.push(`field ${location.field}`);
  if (location.offset !== undefined) parts.push(`offset ${location.offset}`);
  if (location.flag) parts.push(`flag ${location.flag}`);
  return parts.join(', ');
}
