/**
 * The staged-rollout cohort rule, the same in the pipeline and in the Lua client kit
 * (`lup_client.cohort_bucket`): `bucket = FNV-1a-32(UTF-8 of salt + ":" + installId) mod 10000`; an
 * install takes the candidate when the rollout is `active` and `bucket < share` (basis points).
 *
 * FNV-1a because it gives the same value in Node, Lua 5.1 with bitop and LuaJIT with nothing but
 * xor and a multiplication that fits a double; a widening (higher share) only adds installs, and a
 * new rollout (new salt) draws a new cohort. Test vectors: client-kit/spec/fixtures/cohort-vectors.json.
 */
import type { PointerRollout } from './pointer';
import { ROLLOUT_SHARE_WHOLE } from './pointer';

const FNV_OFFSET_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** FNV-1a, 32 bits, over the UTF-8 bytes of `text`, as an unsigned integer. */
export function fnv1a32(text: string): number {
  let hash = FNV_OFFSET_BASIS;
  for (const byte of Buffer.from(text, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, FNV_PRIME);
  }
  return hash >>> 0;
}

/** The cohort bucket (0–9999) of an install in the rollout with this salt. */
export function cohortBucket(salt: string, installId: string): number {
  return fnv1a32(`${salt}:${installId}`) % ROLLOUT_SHARE_WHOLE;
}

/** Whether an install that does not have the candidate yet takes it now. */
export function takesCandidate(rollout: Pick<PointerRollout, 'salt' | 'share' | 'state'>, installId: string): boolean {
  return rollout.state === 'active' && cohortBucket(rollout.salt, installId) < rollout.share;
}
