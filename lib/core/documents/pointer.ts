/**
 * The channel pointer (`channels/<game>/<channel>.json`, moved only by compare-and-swap): one GET
 * tells a game everything to fetch. Its shape is defined once, in `schemas/pointer.schema.json`;
 * this module is its codec, used by the flip, the operator commands, `lup verify` and the console.
 */
import type { ErrorLocation, LupError } from '../errors';
import { lupError } from '../errors';
import { isValidId, keys } from '../keys';
import { defineDocument } from './codec';
import type { ReleaseRecord, ReleasedArchive } from './release-record';
import pointerSchema from './schemas/pointer.schema.json';

export const POINTER_SCHEMA_VERSION = 1;
/** How many past flips the pointer carries (rollback targets, the console's timeline). */
export const POINTER_HISTORY_LENGTH = 25;

/** Why the pointer moved. */
export type FlipCause = 'release' | 'promote' | 'rollback' | RolloutCause;

/** The staged-rollout operations (`lup rollout start|set|halt|complete|abort`), as flip causes. */
export const ROLLOUT_CAUSES = ['rollout-start', 'rollout-set', 'rollout-halt', 'rollout-complete', 'rollout-abort'] as const;
export type RolloutCause = (typeof ROLLOUT_CAUSES)[number];

/** Basis points in a whole: a rollout's share is 0 to 10 000 of them. */
export const ROLLOUT_SHARE_WHOLE = 10_000;

/**
 * A staged rollout: the candidate release (same shape as the stable one), the salt of this rollout,
 * its share in basis points and its state. An install is in the cohort when
 * `fnv1a32(salt + ":" + installId) mod 10000 < share` (`cohort.ts`); while `active` the cohort takes
 * the candidate, while `halted` installs that have it keep it and no new ones take it.
 */
export interface PointerRollout {
  readonly releaseId: string;
  readonly manifest: ReleaseRecord['manifest'];
  readonly archives: readonly ReleasedArchive[];
  readonly resourcesBase: ReleaseRecord['resourcesBase'];
  readonly engineVersions: readonly string[];
  /** 32 lowercase hex characters, new for every rollout (a new rollout reshuffles the cohort). */
  readonly salt: string;
  /** Basis points (0–10 000) of installs in the cohort. */
  readonly share: number;
  readonly state: 'active' | 'halted';
  readonly startedAt: string;
  /** Sequence of the flip that started the rollout. */
  readonly startedSequence: number;
}

/** One past flip, as the pointer remembers it. */
export interface FlipEntry {
  readonly sequence: number;
  readonly releaseId: string;
  /** Identifies the operation so that a retried one is recognised and not applied twice. */
  readonly requestId: string;
  readonly cause: FlipCause;
  readonly at: string;
  /** Why an operator overrode the game's current rules (`--force`), when one did. */
  readonly reason?: string;
  /** For rollout flips: the candidate release and the share (basis points) after the flip. */
  readonly candidate?: string;
  readonly share?: number;
}

/** The channel pointer: one GET tells a game everything to fetch. */
export interface ChannelPointer {
  readonly schemaVersion: number;
  readonly game: string;
  readonly channel: string;
  /** Grows by one on every flip, rollbacks included. */
  readonly sequence: number;
  readonly releaseId: string;
  readonly cause: FlipCause;
  readonly publishedAt: string;
  readonly manifest: ReleaseRecord['manifest'];
  /** Stable path of the current manifest beside the pointer (engines ≤ 1.4 fetch it there). */
  readonly stableManifest: { readonly path: string; readonly url: string };
  readonly archives: readonly ReleasedArchive[];
  readonly resourcesBase: ReleaseRecord['resourcesBase'];
  readonly engineVersions: readonly string[];
  /** A staged rollout on the channel, when one is running (at most one per channel). */
  readonly rollout?: PointerRollout;
  /** Most recent first, the current flip included. */
  readonly history: readonly FlipEntry[];
}

/** The largest pointer accepted: real ones are a few kilobytes (25 flips, a few archives). */
export const MAX_POINTER_BYTES = 1024 * 1024;

function crossCheck(p: ChannelPointer, location: ErrorLocation): LupError[] {
  const errors: LupError[] = [];
  const bad = (field: string, expected: string, actual: unknown): void => {
    errors.push(lupError({ code: 'DOCUMENT_INVALID', location: { ...location, field }, expected, actual: JSON.stringify(actual), message: `The channel pointer's ${field} is not valid.` }));
  };
  for (const field of ['game', 'channel', 'releaseId'] as const) if (!isValidId(p[field])) bad(field, 'a lowercase id without ".."', p[field]);
  if (p.manifest.path !== keys.manifest(p.game, p.manifest.sha256)) bad('manifest.path', keys.manifest(p.game, p.manifest.sha256), p.manifest.path);
  if (p.stableManifest.path !== keys.stableManifest(p.game, p.channel)) bad('stableManifest.path', keys.stableManifest(p.game, p.channel), p.stableManifest.path);
  if (p.resourcesBase.path !== keys.resourcesPrefix(p.game)) bad('resourcesBase.path', keys.resourcesPrefix(p.game), p.resourcesBase.path);
  p.archives.forEach((a, i) => {
    if (a.path !== keys.archive(p.game, a.sha256)) bad(`archives[${i}].path`, keys.archive(p.game, a.sha256), a.path);
  });
  if (p.rollout) {
    const r = p.rollout;
    if (!isValidId(r.releaseId) || r.releaseId === p.releaseId) bad('rollout.releaseId', `a release other than the stable one (${p.releaseId})`, r.releaseId);
    if (r.manifest.path !== keys.manifest(p.game, r.manifest.sha256)) bad('rollout.manifest.path', keys.manifest(p.game, r.manifest.sha256), r.manifest.path);
    if (r.resourcesBase.path !== keys.resourcesPrefix(p.game)) bad('rollout.resourcesBase.path', keys.resourcesPrefix(p.game), r.resourcesBase.path);
    r.archives.forEach((a, i) => {
      if (a.path !== keys.archive(p.game, a.sha256)) bad(`rollout.archives[${i}].path`, keys.archive(p.game, a.sha256), a.path);
    });
    if (r.startedSequence > p.sequence) bad('rollout.startedSequence', `at most the pointer's sequence ${p.sequence}`, r.startedSequence);
  }
  const head = p.history[0];
  if (head.sequence !== p.sequence || head.releaseId !== p.releaseId) {
    bad('history[0]', `the current flip (sequence ${p.sequence}, release ${p.releaseId})`, { sequence: head.sequence, releaseId: head.releaseId });
  }
  if (p.history.some((h, i) => i > 0 && h.sequence >= p.history[i - 1].sequence)) {
    bad('history', 'sequences that fall from the newest flip to the oldest', p.history.map((h) => h.sequence));
  }
  return errors;
}

/** The pointer codec. */
export const pointerCodec = defineDocument<ChannelPointer>({
  what: 'channel pointer', schema: pointerSchema, code: 'DOCUMENT_INVALID', maxBytes: MAX_POINTER_BYTES, crossCheck,
});
