/**
 * The operator actions the console offers, one entry each: the fields it asks for, the sentence its
 * confirmation shows (naming what will change), and the control request it sends through
 * `target.control(…)` — the same compare-and-swap path as `lup promote` and `lup rollback`.
 * An action the control entry gains later (rollout set, halt, abort, complete) is one more entry.
 */
import { lupError } from '../core/errors';
import { isValidId, keys } from '../core/keys';
import type { ObjectStore } from '../core/ports';
import { pointerCodec, type ChannelPointer } from '../core/documents/pointer';
import { previousRelease, type ControlRequest, type ControlResponse } from '../core/pipeline/control';

/** A field of an action's form. */
export interface ActionField {
  /** Name in the request body, e.g. `toRelease`. */
  readonly name: string;
  /** Label shown beside the input. */
  readonly label: string;
  /** `channel` and `release` are ids (lowercase); `text` is free text (a reason). */
  readonly kind: 'channel' | 'release' | 'text';
  readonly required: boolean;
  /** What the console fills in from the channel card the action is started on. */
  readonly fromCard?: 'channel';
  readonly help?: string;
}

/** The parameters of one action, as the page posts them (`game` is always there). */
export type ActionParams = Readonly<Record<string, string | undefined>> & { readonly game: string };

/** What the confirmation names, and what the action sends. */
export interface ConsoleAction {
  readonly name: string;
  /** Button label, e.g. "Roll back". */
  readonly label: string;
  readonly fields: readonly ActionField[];
  /** The channel whose pointer the action moves. */
  channel(params: ActionParams): string;
  /** One sentence naming what will change, read from the current pointers. */
  describe(store: ObjectStore, params: ActionParams): Promise<string>;
  /** The control request to send. */
  request(params: ActionParams, requestId: string): ControlRequest;
}

/** What an applied action reports back to the page. */
export interface ActionOutcome {
  readonly action: string;
  readonly game: string;
  readonly channel: string;
  readonly releaseId: string;
  readonly sequence: number;
  readonly applied: boolean;
  readonly requestId: string;
  /** One line, as the CLI prints it. */
  readonly message: string;
}

function bad(field: string, expected: string, actual: unknown): never {
  throw lupError({ code: 'USAGE_INVALID', location: { field }, expected, actual: JSON.stringify(actual) ?? 'nothing', message: `The console request's ${field} is not valid.` });
}

/** The id in `params[field]`, checked like the CLI's id flags. */
function id(params: ActionParams, field: string): string {
  const value = params[field];
  return typeof value === 'string' && isValidId(value) ? value : bad(field, 'a lowercase id (letters, digits, "-", "_", ".")', value);
}

function optionalId(params: ActionParams, field: string): string | undefined {
  return params[field] === undefined || params[field] === '' ? undefined : id(params, field);
}

function forceOf(params: ActionParams): { force?: string } {
  const reason = params.force?.trim();
  if (!reason) return {};
  return reason.length <= 500 ? { force: reason } : bad('force', 'a reason of 1 to 500 characters', `${reason.length} characters`);
}

async function pointerOf(store: ObjectStore, game: string, channel: string): Promise<ChannelPointer | undefined> {
  const key = keys.pointer(game, channel);
  const object = await store.get(key);
  return object ? pointerCodec.parse(object.body, { key }) : undefined;
}

const FORCE_FIELD: ActionField = {
  name: 'force', label: 'Force, with this reason (optional)', kind: 'text', required: false,
  help: "Serve the release even though the game's current rules refuse it; the reason is kept in the channel history.",
};

const rollback: ConsoleAction = {
  name: 'rollback',
  label: 'Roll back',
  fields: [
    { name: 'channel', label: 'Channel', kind: 'channel', required: true, fromCard: 'channel' },
    { name: 'toRelease', label: 'Release to go back to (optional)', kind: 'release', required: false, help: 'Default: the release the channel served before the current one.' },
    FORCE_FIELD,
  ],
  channel: (params) => id(params, 'channel'),
  async describe(store, params) {
    const game = id(params, 'game');
    const channel = id(params, 'channel');
    const pointer = await pointerOf(store, game, channel);
    if (!pointer) return `Channel ${channel} of game ${game} has no release; there is nothing to roll back.`;
    const target = optionalId(params, 'toRelease') ?? previousRelease(pointer);
    if (!target) return `Channel ${channel} of game ${game} serves only release ${pointer.releaseId}; there is no earlier release to roll back to.`;
    return `Channel ${channel} of game ${game} will serve release ${target} instead of ${pointer.releaseId} (sequence ${pointer.sequence} → ${pointer.sequence + 1}). Players get it on their next pointer fetch.`;
  },
  request: (params, requestId) => {
    const toRelease = optionalId(params, 'toRelease');
    return { action: 'rollback', game: id(params, 'game'), channel: id(params, 'channel'), requestId, ...(toRelease ? { toRelease } : {}), ...forceOf(params) };
  },
};

const promote: ConsoleAction = {
  name: 'promote',
  label: 'Promote',
  fields: [
    { name: 'from', label: 'From channel', kind: 'channel', required: true, fromCard: 'channel' },
    { name: 'to', label: 'To channel', kind: 'channel', required: true },
    FORCE_FIELD,
  ],
  channel: (params) => id(params, 'to'),
  async describe(store, params) {
    const game = id(params, 'game');
    const from = id(params, 'from');
    const to = id(params, 'to');
    if (from === to) bad('to', `a channel other than "${from}"`, to);
    const source = await pointerOf(store, game, from);
    if (!source) return `Channel ${from} of game ${game} has no release; there is nothing to promote.`;
    const target = await pointerOf(store, game, to);
    return target
      ? `Channel ${to} of game ${game} will serve release ${source.releaseId} (from ${from}) instead of ${target.releaseId} (sequence ${target.sequence} → ${target.sequence + 1}).`
      : `Channel ${to} of game ${game} will be created, serving release ${source.releaseId} (from ${from}) at sequence 1.`;
  },
  request: (params, requestId) => {
    const from = id(params, 'from');
    const to = id(params, 'to');
    if (from === to) bad('to', `a channel other than "${from}"`, to);
    // The confirmation the operator accepted says when --to is created ("will be created").
    return { action: 'promote', game: id(params, 'game'), from, to, requestId, createChannel: true, ...forceOf(params) };
  },
};

/** A share typed as a percent (e.g. "10" or "2.5"), in basis points. */
function shareOf(params: ActionParams): number {
  const text = params.percent?.trim() ?? '';
  const percent = Number(text);
  const basisPoints = Math.round(percent * 100);
  return text !== '' && Number.isFinite(percent) && basisPoints >= 1 && basisPoints <= 10_000 ? basisPoints : bad('percent', 'a percent from 0.01 to 100', params.percent);
}

const CHANNEL_FIELD: ActionField = { name: 'channel', label: 'Channel', kind: 'channel', required: true, fromCard: 'channel' };
const PERCENT_FIELD: ActionField = { name: 'percent', label: 'Share of installs (percent)', kind: 'text', required: true, help: 'Widening only adds installs; the ones that have the candidate keep it.' };

/** A staged-rollout operation on the channel's current rollout, through the same control path as `lup rollout`. */
function rolloutAction(op: 'set' | 'halt' | 'abort' | 'complete', label: string, effect: (rollout: NonNullable<ChannelPointer['rollout']>, pointer: ChannelPointer, params: ActionParams) => string): ConsoleAction {
  return {
    name: `rollout-${op}`,
    label,
    fields: [CHANNEL_FIELD, ...(op === 'set' ? [PERCENT_FIELD] : []), ...(op === 'set' || op === 'complete' ? [FORCE_FIELD] : [])],
    channel: (params) => id(params, 'channel'),
    async describe(store, params) {
      const game = id(params, 'game');
      const channel = id(params, 'channel');
      const pointer = await pointerOf(store, game, channel);
      if (!pointer?.rollout) return `Channel ${channel} of game ${game} has no rollout in progress; there is nothing to ${op}.`;
      return `${effect(pointer.rollout, pointer, params)} (sequence ${pointer.sequence} → ${pointer.sequence + 1}).`;
    },
    request: (params, requestId) => ({
      action: 'rollout', op, game: id(params, 'game'), channel: id(params, 'channel'), requestId,
      ...(op === 'set' ? { share: shareOf(params) } : {}), ...(op === 'set' || op === 'complete' ? forceOf(params) : {}),
    }),
  };
}

const percentText = (basisPoints: number) => `${basisPoints / 100} %`;

const rolloutSet = rolloutAction('set', 'Widen rollout', (r, p, params) => `Release ${r.releaseId} will go to ${percentText(shareOf(params))} of installs on ${p.channel} instead of ${percentText(r.share)}${r.state === 'halted' ? ', resuming the halted rollout' : ''}`);
const rolloutHalt = rolloutAction('halt', 'Halt rollout', (r, p) => `No new install on ${p.channel} will take release ${r.releaseId}; the ones that have it keep it`);
const rolloutAbort = rolloutAction('abort', 'Abort rollout', (r, p) => `Every install on ${p.channel} goes back to release ${p.releaseId} at its next check; release ${r.releaseId} is no longer offered`);
const rolloutComplete = rolloutAction('complete', 'Complete rollout', (r, p) => `Release ${r.releaseId} becomes what ${p.channel} serves to every install, instead of ${p.releaseId}`);

/** Every action the console offers, by name. */
export const CONSOLE_ACTIONS: readonly ConsoleAction[] = [rollback, promote, rolloutSet, rolloutHalt, rolloutAbort, rolloutComplete];

/** The action named `name`, or a `USAGE_INVALID` error listing the known ones. */
export function findAction(name: string): ConsoleAction {
  return CONSOLE_ACTIONS.find((a) => a.name === name) ?? bad('action', CONSOLE_ACTIONS.map((a) => `"${a.name}"`).join(' or '), name);
}

/** What an applied control response means, in one line as the CLI prints it. */
export function describeOutcome(action: ConsoleAction, params: ActionParams, requestId: string, response: ControlResponse): ActionOutcome {
  if (response.action === 'gc') throw new Error(`the control entry answered ${action.name} with a gc report`);
  const { pointer, applied } = response.flip;
  const previous = pointer.history.find((h) => h.sequence < pointer.sequence)?.releaseId;
  const channel = action.channel(params);
  return {
    action: action.name, game: params.game, channel, releaseId: pointer.releaseId, sequence: pointer.sequence, applied, requestId,
    message: `${action.label}${applied ? '' : ' (already applied, same request)'}: channel ${channel} of game ${params.game} now serves release ${pointer.releaseId}${previous ? ` (was ${previous})` : ''}; sequence ${pointer.sequence}.`,
  };
}
