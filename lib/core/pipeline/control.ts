/**
 * Operator actions: promote, rollback, staged rollouts and garbage collection. Promote and rollback move a pointer
 * through the same compare-and-swap flip as a release, so they are serialised with releases, and
 * the release they move to must pass the game's rules as they are today (I5): a rotated key or a
 * narrowed set of engine versions applies to old releases too, unless the operator forces it with a
 * reason, which the channel history keeps.
 */
import { createHash } from 'node:crypto';
import { closestName } from '../closest-name';
import { isLupError, lupError, type LupError } from '../errors';
import { isValidId, keys } from '../keys';
import { validateManifest } from '../format/validate-manifest';
import type { ReleaseRecord } from '../documents/release-record';
import { ROLLOUT_SHARE_WHOLE, type ChannelPointer, type PointerRollout, type RolloutCause } from '../documents/pointer';
import type { PipelineContext } from './context';
import { assertServable, completeFlip, findLandedFlip, flipChannel, releaseCollected, type FlipResponse } from './flip';
import { collectGarbage, type GcReport } from './gc';
import { checkChannel, checkPin, gcGraceMinutes, resolveGame, type GameRules } from './game-policy';
import { readArchiveReceipt } from './receipts';
import { readPointer, readRelease } from './records';
import { findStoredManifest } from './verified';

export type { GcReport } from './gc';
export { readRelease } from './records';

/** A request to the control entry. `requestId` makes a retried request apply once. */
export type ControlRequest =
  | PromoteRequest
  | { readonly action: 'rollback'; readonly game: string; readonly channel: string; readonly toRelease?: string; readonly requestId: string; readonly force?: string }
  | { readonly action: 'gc'; readonly game: string; readonly apply: boolean }
  | RolloutRequest;

/**
 * Point channel `to` at the release channel `from` serves. In development mode (no configuration,
 * where any channel name is valid) `to` must already have a pointer unless `createChannel` is
 * true: a mistyped `--to` would otherwise become a new channel no game reads.
 */
export interface PromoteRequest {
  readonly action: 'promote';
  readonly game: string;
  readonly from: string;
  readonly to: string;
  readonly requestId: string;
  readonly force?: string;
  /** @default false - refuse a `to` channel that has no pointer yet (development mode) */
  readonly createChannel?: boolean;
}

/** The staged-rollout operations (`lup rollout <op>`). */
export const ROLLOUT_OPS = ['start', 'set', 'halt', 'complete', 'abort'] as const;
export type RolloutOp = (typeof ROLLOUT_OPS)[number];

/**
 * A staged-rollout operation on a channel: `start` (needs `release` and `share`), `set` (needs
 * `share`: a wider one, or any not narrower to resume a halted rollout), `halt`, `complete`, `abort`.
 * `share` is in basis points (1–10 000).
 */
export interface RolloutRequest {
  readonly action: 'rollout';
  readonly op: RolloutOp;
  readonly game: string;
  readonly channel: string;
  readonly requestId: string;
  readonly release?: string;
  readonly share?: number;
  readonly force?: string;
}

export type ControlResponse =
  | { readonly action: 'promote' | 'rollback'; readonly flip: FlipResponse }
  | { readonly action: 'rollout'; readonly op: RolloutOp; readonly flip: FlipResponse }
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
      if (r.createChannel !== undefined && typeof r.createChannel !== 'boolean') return bad('createChannel', 'true or false', r.createChannel);
      return { action: 'promote', game, from: id('from'), to: id('to'), requestId: text('requestId', 200), ...force, ...(r.createChannel === true ? { createChannel: true } : {}) };
    case 'rollback':
      return { action: 'rollback', game, channel: id('channel'), requestId: text('requestId', 200), ...(r.toRelease === undefined ? {} : { toRelease: id('toRelease') }), ...force };
    case 'rollout': {
      const op = ROLLOUT_OPS.find((o) => o === r.op) ?? bad('op', ROLLOUT_OPS.map((o) => `"${o}"`).join(', '), r.op);
      const share = (): number => (typeof r.share === 'number' && Number.isInteger(r.share) && r.share >= 1 && r.share <= ROLLOUT_SHARE_WHOLE ? r.share : bad('share', `basis points, an integer from 1 to ${ROLLOUT_SHARE_WHOLE}`, r.share));
      const base = { action: 'rollout' as const, op, game, channel: id('channel'), requestId: text('requestId', 200) };
      if (op === 'start') return { ...base, release: id('release'), share: share(), ...force };
      if (op === 'set') return { ...base, share: share(), ...force };
      if (op === 'complete') return { ...base, ...force };
      return base;
    }
    default:
      return bad('action', '"promote", "rollback", "rollout" or "gc"', r.action);
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
    // Not readStoredManifest: its INTERNAL ("the step is retried") is for pipeline steps; here a
    // missing manifest means gc collected the release, which the operator must hear about.
    const manifest = await findStoredManifest(context, release.game, sha);
    if (!manifest) throw releaseCollected(release, [keys.manifest(release.game, sha)]);
    errors.push(...validateManifest(manifest, rules.policy, { key: keys.manifest(release.game, sha) }).errors, ...checkPin(rules, manifest));
  }
  return errors;
}

/** The game's current rules against a release: refused unless forced; the reason to record when forced. */
async function passRules(context: PipelineContext, rules: GameRules, release: ReleaseRecord, cause: string, force: string | undefined): Promise<{ reason?: string }> {
  // Content gc removed is no rule --force could override: say so before reading its manifests.
  await assertServable(context, release);
  const errors = await checkCurrentRules(context, rules, release);
  if (errors.length > 0 && !force) {
    const [first] = errors;
    throw lupError({
      ...first.toJSON(),
      message: `Release ${release.releaseId} does not pass game "${rules.game}"'s current rules (${errors.length} problem(s)); the ${cause} was refused: ${first.message} Pass --force with a reason to serve it anyway.`,
    });
  }
  return errors.length > 0 && force ? { reason: force } : {};
}

async function flipChecked(context: PipelineContext, rules: GameRules, request: { channel: string; release: ReleaseRecord; requestId: string; cause: 'promote' | 'rollback'; force?: string }): Promise<FlipResponse> {
  const forcedReason = await passRules(context, rules, request.release, request.cause, request.force);
  return flipChannel(context, {
    game: rules.game, channel: request.channel, release: request.release, requestId: request.requestId, cause: request.cause,
    gcGraceMinutes: gcGraceMinutes(rules), ...forcedReason,
  });
}

function rolloutRefused(game: string, channel: string, expected: string, actual: string, message: string): LupError {
  return lupError({ code: 'ROLLOUT_REFUSED', location: { key: keys.pointer(game, channel) }, expected, actual, message });
}

function describeRollout(r: PointerRollout): string {
  return `release ${r.releaseId} to ${r.share / 100} % (${r.state})`;
}

/**
 * Check a rollout operation against the channel's rollout as it is (`current`, the pointer a
 * compare-and-swap attempt replaces): the rollout block after the operation, or `ROLLOUT_REFUSED`.
 * `salt` names the rollout the operator acted on: a rollout that ended or was replaced meanwhile
 * is not the one they meant.
 */
export function nextRollout(request: Pick<RolloutRequest, 'op' | 'game' | 'channel' | 'share'>, current: ChannelPointer | undefined, start?: { candidate: ReleaseRecord; salt: string; at: string }, salt?: string): PointerRollout | undefined {
  const { op, game, channel } = request;
  const running = current?.rollout;
  if (op === 'start') {
    if (!current || !start) throw rolloutRefused(game, channel, 'a release on the channel', 'none', `Channel "${channel}" has no release to roll out beside; publish one first.`);
    if (running) {
      throw rolloutRefused(game, channel, 'no rollout on the channel', describeRollout(running),
        `Channel "${channel}" already has a rollout (${describeRollout(running)}); one rollout per channel: complete or abort it first (lup rollout complete|abort).`);
    }
    if (start.candidate.releaseId === current.releaseId) {
      throw rolloutRefused(game, channel, `a release other than the one the channel serves (${current.releaseId})`, start.candidate.releaseId, `Channel "${channel}" already serves release ${current.releaseId} to everyone; there is nothing to roll out.`);
    }
    const { releaseId, manifest, archives, resourcesBase, engineVersions } = start.candidate;
    return { releaseId, manifest, archives, resourcesBase, engineVersions, salt: start.salt, share: request.share ?? 0, state: 'active', startedAt: start.at, startedSequence: current.sequence + 1 };
  }
  if (!running || (salt !== undefined && running.salt !== salt)) {
    throw rolloutRefused(game, channel, 'a rollout on the channel', running ? `another rollout (${describeRollout(running)}) started meanwhile` : 'none',
      `Channel "${channel}" has no rollout${running ? ' that this operation was meant for' : ''}; start one with lup rollout start.`);
  }
  switch (op) {
    case 'set': {
      const share = request.share ?? 0;
      // Widening only adds installs; narrowing would take the candidate back from installs that have it.
      if (running.state === 'active' ? share <= running.share : share < running.share) {
        throw rolloutRefused(game, channel, `a share ${running.state === 'active' ? 'above' : 'of at least'} ${running.share / 100} %`, `${share / 100} %`,
          `A rollout only widens (${describeRollout(running)}): installs that have the candidate keep it. To stop it reaching more installs, halt it; to take it back from everyone, abort it.`);
      }
      return { ...running, share, state: 'active' };
    }
    case 'halt':
      if (running.state === 'halted') throw rolloutRefused(game, channel, 'an active rollout', 'halted', `The rollout on "${channel}" is already halted (${describeRollout(running)}).`);
      return { ...running, state: 'halted' };
    default:
      // complete: the candidate becomes the release; abort: the block goes, the stable release stays.
      return undefined;
  }
}

async function runRollout(context: PipelineContext, rules: GameRules, request: RolloutRequest): Promise<FlipResponse> {
  const { game, channel, requestId, op } = request;
  const cause = `rollout-${op}` as RolloutCause;
  const pointer = await readChannelPointer(context, rules, channel, 'channel');
  const graceMinutes = gcGraceMinutes(rules);
  if (op === 'start') {
    const candidate = await readRelease(context, game, request.release ?? '');
    nextRollout(request, pointer, { candidate, salt: '0'.repeat(32), at: pointer.publishedAt });
    const forcedReason = await passRules(context, rules, candidate, 'rollout start', request.force);
    // New for every rollout (every start has its own request id), and the same for a retry of this one.
    const salt = createHash('sha256').update(`rollout-salt\n${game}\n${channel}\n${requestId}`).digest('hex').slice(0, 32);
    return flipChannel(context, {
      game, channel, requestId, cause, candidate, gcGraceMinutes: graceMinutes, ...forcedReason,
      rollout: (current) => nextRollout(request, current, { candidate, salt, at: context.clock.now().toISOString() }),
    });
  }
  const running = pointer.rollout;
  nextRollout(request, pointer);
  const salt = running?.salt;
  if (op === 'set' || op === 'complete') {
    // Widening and completing serve the candidate to more installs: the game's rules as they are now.
    const candidate = await readRelease(context, game, running?.releaseId ?? '');
    const forcedReason = await passRules(context, rules, candidate, `rollout ${op}`, request.force);
    return flipChannel(context, {
      game, channel, requestId, cause, gcGraceMinutes: graceMinutes, ...forcedReason,
      ...(op === 'complete' ? { release: candidate } : { candidate }),
      rollout: (current) => nextRollout(request, current, undefined, salt),
    });
  }
  return flipChannel(context, { game, channel, requestId, cause, gcGraceMinutes: graceMinutes, rollout: (current) => nextRollout(request, current, undefined, salt) });
}

/** Run one operator action. */
export async function runControl(context: PipelineContext, request: ControlRequest): Promise<ControlResponse> {
  const resolved = await resolveGame(context, request.game);
  if (!resolved.ok) throw resolved.error;
  const rules = resolved.rules;
  if (request.action === 'gc') return { action: 'gc', report: await collectGarbage(context, request.game, request.apply) };
  const channel = request.action === 'promote' ? request.to : request.channel;
  for (const c of request.action === 'promote' ? [request.from, request.to] : [channel]) {
    const error = checkChannel(rules, c);
    if (error) throw error;
  }
  // A retried request must not apply twice (a second rollback would go further back).
  const landed = await findLandedFlip(context, request.game, channel, request.requestId);
  if (landed) {
    await completeFlip(context, request.game, channel);
    return request.action === 'rollout' ? { action: 'rollout', op: request.op, flip: landed } : { action: request.action, flip: landed };
  }
  if (request.action === 'rollout') return { action: 'rollout', op: request.op, flip: await runRollout(context, rules, request) };
  if (request.action === 'promote') {
    // --from first: with both mistyped, --to's "pass --create-channel" would be the wrong advice.
    const source = await readChannelPointer(context, rules, request.from, 'from');
    if (!rules.config && !request.createChannel) await requireExistingChannel(context, request.game, request.to);
    const release = await readRelease(context, request.game, source.releaseId);
    return { action: 'promote', flip: await flipChecked(context, rules, { channel, release, requestId: request.requestId, cause: 'promote', force: request.force }) };
  }
  const pointer = await readChannelPointer(context, rules, request.channel, 'channel');
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

/** The channels of a game that have a pointer (in development mode, the channels that exist). */
async function listChannels(context: PipelineContext, game: string): Promise<string[]> {
  const prefix = keys.channelsPrefix(game);
  return (await context.store.list(prefix))
    .map((o) => o.key.slice(prefix.length))
    .filter((name) => name.endsWith('.json') && !name.includes('/'))
    .map((name) => name.slice(0, -'.json'.length));
}

/** `CHANNEL_UNKNOWN` for a development-mode channel that has no pointer, naming the closest existing one. */
function channelUnknown(game: string, channel: string, field: string, channels: readonly string[], create?: string): LupError {
  const near = closestName(channel, channels);
  const listed = channels.length > 0 ? `one of ${channels.join(', ')}` : 'a channel with a release';
  return lupError({
    code: 'CHANNEL_UNKNOWN', location: { key: keys.pointer(game, channel), field },
    expected: create ? `${listed}, or ${create}` : listed, actual: channel,
    message: `Game "${game}" has no channel "${channel}"${near ? `; did you mean "${near}"?` : '.'}`
      + `${channels.length > 0 ? ` Its channels: ${channels.join(', ')}.` : ''}${create ? ` To create "${channel}" with this promote, pass --create-channel.` : ''}`,
  });
}

/**
 * Development mode: refuse a promote into a channel that has no pointer yet with `CHANNEL_UNKNOWN`,
 * naming the closest existing channel and how to create it on purpose. (With a configuration, the
 * configured channels are the ones that exist; {@link checkChannel} holds that rule.)
 */
async function requireExistingChannel(context: PipelineContext, game: string, channel: string): Promise<void> {
  const channels = await listChannels(context, game);
  if (!channels.includes(channel)) throw channelUnknown(game, channel, 'to', channels, 'createChannel (--create-channel)');
}

/**
 * The pointer of a channel an action reads (rollback, rollout, promote's `from`). In development
 * mode a channel without a pointer does not exist: once the game has any channel, a name without a
 * pointer is most likely mistyped, so `CHANNEL_UNKNOWN` names the closest one instead of
 * `CHANNEL_EMPTY` ("no release yet"), which stays for a configured channel or a game with none.
 */
async function readChannelPointer(context: PipelineContext, rules: GameRules, channel: string, field: string): Promise<ChannelPointer> {
  try {
    return await readPointer(context, rules.game, channel);
  } catch (error) {
    if (rules.config || !(isLupError(error) && error.code === 'CHANNEL_EMPTY')) throw error;
    const channels = await listChannels(context, rules.game);
    if (channels.length === 0) throw error;
    throw channelUnknown(rules.game, channel, field, channels);
  }
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
