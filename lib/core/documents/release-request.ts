/**
 * The release request: the last object a publisher (the `lup` CLI) writes into its upload folder.
 * It names the channel and exactly which verified content makes the release, by SHA-256, so that
 * nothing staged later or by someone else can slip in. Its shape is defined once, in
 * `schemas/release-request.schema.json`; the publisher controls it, so it is read bounded.
 */
import { lupError, type ErrorLocation, type LupError } from '../errors';
import { isValidId } from '../keys';
import { defineDocument } from './codec';
import releaseRequestSchema from './schemas/release-request.schema.json';

export const RELEASE_REQUEST_SCHEMA_VERSION = 1;

/** The largest release request read (a request for 256 archives is about 40 KiB). */
export const MAX_RELEASE_REQUEST_BYTES = 64 * 1024;

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

function crossCheck(r: ReleaseRequest, location: ErrorLocation): LupError[] {
  return (['game', 'upload', 'channel'] as const).filter((f) => !isValidId(r[f])).map((field) => lupError({
    code: 'RELEASE_REQUEST_INVALID', location: { ...location, field }, expected: 'a lowercase id without ".."', actual: JSON.stringify(r[field]),
    message: `The release request's ${field} is not valid; write it with \`lup publish\`.`,
  }));
}

/** The release request codec. */
export const releaseRequestCodec = defineDocument<ReleaseRequest>({
  what: 'release request', schema: releaseRequestSchema, code: 'RELEASE_REQUEST_INVALID', maxBytes: MAX_RELEASE_REQUEST_BYTES, crossCheck,
  hint: 'write it with `lup publish`',
});

/** Parse and check a release request; every problem is listed. */
export function parseReleaseRequest(body: Uint8Array | string, location: ErrorLocation): { ok: true; request: ReleaseRequest } | { ok: false; errors: LupError[] } {
  const decoded = releaseRequestCodec.decode(body, location);
  return decoded.ok ? { ok: true, request: decoded.value } : { ok: false, errors: [...decoded.errors] };
}
