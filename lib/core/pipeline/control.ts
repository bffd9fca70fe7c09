/**
 * Operator actions: promote, rollback and garbage collection. Promote and rollback move a pointer
 * through the same compare-and-swap flip as a release, so they are serialised with releases, and
 * the release they move to must pass the game's rules as they are today (I5): a rotated key or a
 * narrowed set of engine versions applies to old releases too, unless the operator forces it with a
 * reason, which the channel history keeps.
 */
import { lupError, type LupError } from '../errors';
import { isValidId, keys } from '../keys';
import { validateManifest } from '../format/validate-manifest';
import type { ReleaseRecord } from '../documents/release-record';
import type { ChannelPointer } from '../documents/pointer';
import type { PipelineContext } from './context';
import { completeFlip, findLandedFlip, flipChannel, type FlipResponse } from './flip';
import { collectGarbage, type GcReport } from './gc';
import { checkChannel, checkPin, gcGraceMinutes, resolveGame, type GameRules } from './game-policy';
import { readArchiveReceipt } from './receipts';
import { readPointer, readRelease } from './records';
import { readStoredManifest } from './verified';

export type { GcReport } from './gc';
export { readRelease } from './records';

/** A request to the control entry. `requestId` makes a retried request apply once. */
export type ControlRequest =
  | { readonly action: 'promote'; readonly game: string; readonly from: string; readonly to: string; readonly requestId: string; readonly force?: string }
  | { readonly action: 'rollback'; readonly game: string; readonly channel: string; readonly toRelease?: string; readonly requestId: string; readonly force?: string }
  | { readonly action: 'gc'; readonly game: string; readonly apply: boolean };

export type ControlResponse =
  | { readonly action: 'promote' | 'rollback'; readonly flip: FlipResponse }
  | { readonly action: 'gc'; readonly report: GcReport };

/**
 * Check a control request that arrived from outside (the Lambda is invoked with any JSON): every
 * id, the action and its fields; `USAGE_INVALID` naming the field otherwise.
 */
export function parseControlRequest(value: unknown): ControlRequest {
  const bad = (field: string, expected: string, actual: unknown): never => {
    throw lupError({ code: 'USAGE_INVALID', location: { field }, expected, actual: JSON.stringify(actual) ?? 'nothing', message: `The control request's ${field} is not valid.` });
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return bad('(request)', 'a JSON object', value);
  const r = value as Record<string, unknown>;
  const id = (field: string): string => (typeof r[field] === 'string' && isValidId(r[field] as string) ? (r[field] as string) : bad(field, 'a lowercase id', r[field]));
  const text = (field: string, max: number): string => (typeof r[field] === 'string' && (r[field] as string).length > 0 && (r[field] as string).length <= max ? (r[field] as string) : bad(field, `text of 1 to ${max} characters`, r[field]));
  const game = id('game');
  const force = r.force === undefined ? {} : { force: text('force', 500) };
  switch (r.action) {
    case 'gc':
      if (typeof r.apply !== 'boolean') return bad('apply', 'true or false', r.apply);
      return { action: 'gc', game, apply: r.apply };
    case 'promote':
      return { action: 'promote', game, from: id('from'), to: id('to'), requestId: text('requestId', 200), ...force };
    case 'rollback':
      return { action: 'rollback', game, channel: id('channel'), requestId: text('requestId', 200), ...(r.toRelease === undefined ? {} : { toRelease: id('toRelease') }), ...force };
    default:
      return bad('action', '"promote", "rollback" or "gc"', r.action);
  }
}

/**
 * The game's current rules against every manifest a release serves (the release manifest and each
 * archive's own): the errors, empty when the release may be served today.
 */
async function checkCurrentRules(context: PipelineContext, rules: GameRules, release: ReleaseRecord): Promise<LupError[]> {
  const shas = new Set([release.manifest.sha256]);
  for (const archive of release.archives) {
    const receipt = await readArchiveReceipt(context, release.game, archive.sha256);
    if (receipt) shas.add(receipt.manifest.sha256);
  }
  const errors: LupError[] = [];
  for (const sha of shas) {
    const manifest = await readStoredManifest(context, release.game, sha);
    errors.push(...validateManifest(manifest, rules.policy, { key: keys.manifest(release.game, sha) }).errors, ...checkPin(rules, manifest));
  }
  return errors;
}

async function flipChecked(context: PipelineContext, rules: GameRules, request: { channel: string; release: ReleaseRecord; requestId: string; cause: 'promote' | 'rollback'; force?: string }): Promise<FlipResponse> {
  const errors = await checkCurrentRules(context, rules, request.release);
  if (errors.length > 0 && !request.force) {
    const [first] = errors;
    throw lupError({
      ...first.toJSON(),
      message: `Release ${request.release.releaseId} does not pass game "${rules.game}"'s current rules (${errors.length} problem(s)); the ${request.cause} was refused: ${first.message} Pass --force with a reason to serve it anyway.`,
    });
  }
  return flipChannel(context, {
    game: rules.game, channel: request.channel, release: request.release, requestId: request.requestId, cause: request.cause,
    gcGraceMinutes: gcGraceMinutes(rules), ...(errors.length > 0 && request.force ? { reason: request.force } : {}),
  });
}

/** Run one operator action. */
export async function runControl(context: PipelineContext, request: ControlRequest): Promise<ControlResponse> {
  const resolved = await resolveGame(context, request.game);
  if (!resolved.ok) throw resolved.error;
  const rules = resolved.rules;
  if (request.action === 'gc') return { action: 'gc', report: await collectGarbage(context, request.game, request.apply) };
  const channel = request.action === 'promote' ? request.to : request.channel;
  for (const c of request.action === 'promote' ? [request.from, request.to] : [request.channel]) {
    const error = checkChannel(rules, c);
    if (error) throw error;
  }
  // A retried request must not apply twice (a second rollback would go further back).
  const landed = await findLandedFlip(context, request.game, channel, request.requestId);
  if (landed) {
    await completeFlip(context, request.game, channel);
    return { action: request.action, flip: landed };
  }
  if (request.action === 'promote') {
    const source = await readPointer(context, request.game, request.from);
    const release = await readRelease(context, request.game, source.releaseId);
    return { action: 'promote', flip: await flipChecked(context, rules, { channel, release, requestId: request.requestId, cause: 'promote', force: request.force }) };
  }
  const pointer = await readPointer(context, request.game, request.channel);
  const targetId = request.toRelease ?? previousRelease(pointer);
  if (!targetId) {
    throw lupError({
      code: 'RELEASE_NOT_FOUND', location: { key: keys.pointer(request.game, request.channel) },
      expected: 'an earlier release on the channel', actual: `only ${pointer.releaseId}`,
      message: `Channel "${request.channel}" has no earlier release to roll back to; name one with --to.`,
    });
  }
  const release = await readRelease(context, request.game, targetId);
  return { action: 'rollback', flip: await flipChecked(context, rules, { channel, release, requestId: request.requestId, cause: 'rollback', force: request.force }) };
}

/**
 * The release the channel served before the current one. Rollbacks are stepped over together with
 * the releases they left, so rolling back twice goes further back, never forward again to the
 * release the first rollback fled.
 */
export function previousRelease(pointer: Pick<ChannelPointer, 'releaseId' | 'history'>): string | undefined {
  const fled = new Set<string>();
  const history = pointer.history;
  for (let i = 0; i < history.length; i++) {
    const entry = history[i];
    if (entry.cause === 'rollback') {
      const left = history[i + 1]?.releaseId;
      if (left !== undefined && left !== entry.releaseId) fled.add(left);
      continue;
    }
    if (entry.releaseId !== pointer.releaseId && !fled.has(entry.releaseId)) return entry.releaseId;
  }
  return undefined;
}
