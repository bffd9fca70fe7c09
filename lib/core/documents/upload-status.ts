/**
 * The status object of an upload (`status/<game>/<upload>.json`): where the publisher sees progress
 * and clear errors. Its shape is defined once, in `schemas/upload-status.schema.json`. Several steps update it concurrently, so every update is a compare-and-swap,
 * and a terminal state is never overwritten by an earlier one.
 */
import type { LupErrorData } from '../errors';
import { defineDocument } from './codec';
import uploadStatusSchema from './schemas/upload-status.schema.json';

export const STATUS_SCHEMA_VERSION = 1;

/** The life of an upload. */
export type UploadState =
  /** Content arrives and is verified; the release is not complete yet. */
  | 'pending'
  /** Live on its channel. */
  | 'live'
  /** Verified, but the game has no channel to release it to (editor uploads without autoReleaseChannel). */
  | 'verified'
  /** Bad content or a policy mismatch; nothing was served. */
  | 'refused'
  /** Never completed within the release timeout. */
  | 'failed';

export const TERMINAL_STATES: readonly UploadState[] = ['live', 'verified', 'refused', 'failed'];

/** The status document. */
export interface UploadStatus {
  readonly schemaVersion: number;
  readonly game: string;
  readonly upload: string;
  readonly state: UploadState;
  readonly channel?: string;
  readonly releaseId?: string;
  readonly sequence?: number;
  /** Path of the pointer from the CDN root. */
  readonly pointerPath?: string;
  /** The first {@link MAX_STATUS_ERRORS} errors found. */
  readonly errors: readonly LupErrorData[];
  /** How many errors were found in all, when more than are listed. */
  readonly errorCount?: number;
  /** Digests still missing (pending) or never delivered (failed). */
  readonly missing?: readonly string[];
  /** What the pipeline did so far, one line an event. */
  readonly events: readonly { readonly at: string; readonly message: string }[];
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** True when nothing more will happen to the upload. */
export function isTerminal(state: UploadState): boolean {
  return TERMINAL_STATES.includes(state);
}

/** Errors a status lists; the rest are counted (a folder of 1 000 bad objects must not make a megabyte status). */
export const MAX_STATUS_ERRORS = 50;
/** Events a status keeps, newest last. */
export const MAX_STATUS_EVENTS = 50;
/** Digests listed as missing, at most. */
export const MAX_STATUS_MISSING = 1000;
/** The largest status accepted. */
export const MAX_STATUS_BYTES = 1024 * 1024;

/** The upload status codec. */
export const uploadStatusCodec = defineDocument<UploadStatus>({
  what: 'upload status', schema: uploadStatusSchema, code: 'DOCUMENT_INVALID', maxBytes: MAX_STATUS_BYTES,
});
