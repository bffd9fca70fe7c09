/**
 * The status object of an upload (`status/<game>/<upload>.json`): where the publisher sees progress
 * and clear errors. Several steps update it concurrently, so every update is a compare-and-swap,
 * and a terminal state is never overwritten by an earlier one.
 */
import type { LupErrorData } from './errors';

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
  readonly errors: readonly LupErrorData[];
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
