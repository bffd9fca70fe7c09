/**
 * The release request: the last object a publisher (the `lup` CLI) writes into its upload folder.
 * It names the channel and exactly which verified content makes the release, by SHA-256, so that
 * nothing staged later or by someone else can slip in.
 */
import { lupError, type ErrorLocation, type LupError } from './errors';
import { isValidId } from './keys';

export const RELEASE_REQUEST_SCHEMA_VERSION = 1;

/** An archive of the release, in mount order. */
export interface RequestedArchive {
  /** File name in the upload folder, e.g. `levels.zip`. */
  readonly name: string;
  readonly sha256: string;
  readonly sizeBytes: number;
  /** Mount priority (`liveupdate.add_mount`); higher wins. */
  readonly priority: number;
}

/** A release request as written to `staging/<game>/<upload>/release-request.json`. */
export interface ReleaseRequest {
  readonly schemaVersion: number;
  readonly game: string;
  readonly upload: string;
  readonly channel: string;
  /** Zip archives (engine 1.5+), or loose resources beside a manifest. */
  readonly kind: 'archives' | 'loose';
  /** For `archives`: the archives, in mount order. */
  readonly archives: readonly RequestedArchive[];
  /** For `loose`: SHA-256 of the manifest uploaded beside the resources. */
  readonly manifestSha256?: string;
  /** Development mode only (no studio configuration): base64 DER public key to pin for the game. */
  readonly publicKey?: string;
  /** ISO time the CLI wrote the request. */
  readonly requestedAt: string;
  /** Free text for the release history (e.g. CI build number). */
  readonly note?: string;
}

const SHA256 = /^[0-9a-f]{64}$/;

/** Parse and check a release request; every problem is listed. */
export function parseReleaseRequest(body: Uint8Array | string, location: ErrorLocation): { ok: true; request: ReleaseRequest } | { ok: false; errors: LupError[] } {
  const errors: LupError[] = [];
  const bad = (field: string, expected: string, actual: unknown): void => {
    errors.push(lupError({
      code: 'RELEASE_REQUEST_INVALID', location: { ...location, field }, expected, actual: JSON.stringify(actual) ?? 'nothing',
      message: `The release request's ${field} is not valid; write it with \`lup publish\`.`,
    }));
  };
  let raw: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(typeof body === 'string' ? body : Buffer.from(body).toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
    raw = parsed as Record<string, unknown>;
  } catch (cause) {
    return { ok: false, errors: [lupError({ code: 'RELEASE_REQUEST_INVALID', location, expected: 'a JSON object', actual: 'unparseable JSON', message: 'The release request is not a JSON object.' }, cause)] };
  }
  if (raw.schemaVersion !== RELEASE_REQUEST_SCHEMA_VERSION) bad('schemaVersion', `${RELEASE_REQUEST_SCHEMA_VERSION}`, raw.schemaVersion);
  for (const field of ['game', 'upload', 'channel'] as const) {
    if (typeof raw[field] !== 'string' || !isValidId(raw[field] as string)) bad(field, 'a lowercase id', raw[field]);
  }
  if (raw.kind !== 'archives' && raw.kind !== 'loose') bad('kind', '"archives" or "loose"', raw.kind);
  const archives: RequestedArchive[] = [];
  if (!Array.isArray(raw.archives)) bad('archives', 'a list', raw.archives);
  else {
    raw.archives.forEach((a: unknown, i) => {
      const r = a as Record<string, unknown>;
      if (typeof r !== 'object' || r === null) return bad(`archives[${i}]`, 'an object', a);
      if (typeof r.name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]*\.zip$/.test(r.name)) bad(`archives[${i}].name`, 'a file name ending in .zip', r.name);
      if (typeof r.sha256 !== 'string' || !SHA256.test(r.sha256)) bad(`archives[${i}].sha256`, '64 lowercase hex characters', r.sha256);
      if (typeof r.sizeBytes !== 'number' || !Number.isInteger(r.sizeBytes) || r.sizeBytes < 0) bad(`archives[${i}].sizeBytes`, 'a byte count', r.sizeBytes);
      if (typeof r.priority !== 'number' || !Number.isInteger(r.priority)) bad(`archives[${i}].priority`, 'an integer', r.priority);
      archives.push(r as unknown as RequestedArchive);
    });
  }
  if (raw.kind === 'archives' && archives.length === 0) bad('archives', 'at least one archive', raw.archives);
  if (raw.kind === 'loose' && (typeof raw.manifestSha256 !== 'string' || !SHA256.test(raw.manifestSha256))) {
    bad('manifestSha256', '64 lowercase hex characters', raw.manifestSha256);
  }
  if (raw.publicKey !== undefined && typeof raw.publicKey !== 'string') bad('publicKey', 'base64 DER text', raw.publicKey);
  if (typeof raw.requestedAt !== 'string' || Number.isNaN(Date.parse(raw.requestedAt))) bad('requestedAt', 'an ISO date', raw.requestedAt);
  if (raw.note !== undefined && typeof raw.note !== 'string') bad('note', 'text', raw.note);
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, request: raw as unknown as ReleaseRequest };
}
