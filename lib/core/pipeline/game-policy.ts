/**
 * Which rules a game's content must pass: from the studio configuration, or, in development mode
 * (no configuration), from what the game's first release pinned.
 */
import { DEFAULT_RETENTION, findGame, type GameConfig } from '../config';
import { closestName } from '../closest-name';
import { sha1OfText } from '../format/digest';
import { isLupError, lupError, type LupError } from '../errors';
import { isValidId, keys } from '../keys';
import type { Manifest } from '../format/manifest';
import { parsePublicKey } from '../config';
import { policyForGame, type ValidationPolicy } from '../format/policy';
import { checkManifestSignature } from '../format/signature';
import type { ObjectStore } from '../ports';
import type { PipelineContext } from './context';
import { createJson, readJson } from './documents';

/** The channel editor uploads go to in development mode, unless `lup local --editor-channel` names another. */
export const DEVELOPMENT_AUTO_RELEASE_CHANNEL = 'stable';

/** What development mode pins at a game's first release. */
export interface GamePin {
  readonly schemaVersion: 1;
  readonly projectIdentifier: string;
  /** Base64 DER public key, when the first release gave one. */
  readonly publicKey?: string;
  readonly pinnedAt: string;
  readonly releaseId: string;
}

/** A game's rules as the steps apply them. */
export interface GameRules {
  readonly game: string;
  readonly config?: GameConfig;
  readonly policy: ValidationPolicy;
  readonly pin?: GamePin;
  /** Channel editor uploads are released to, if any. */
  readonly autoReleaseChannel?: string;
}

// A pin is written once (create-only) and never changes, so a pin once read is kept per store.
const pinCache = new WeakMap<object, Map<string, GamePin>>();

/** Development mode: the pin of a game, or undefined before its first release (also read by `lup publish`). */
export async function readGamePin(store: ObjectStore, game: string): Promise<GamePin | undefined> {
  return (await readJson<GamePin>(store, keys.gamePin(game)))?.value;
}

async function readPin(context: PipelineContext, game: string): Promise<GamePin | undefined> {
  const cache = pinCache.get(context.store) ?? new Map<string, GamePin>();
  pinCache.set(context.store, cache);
  const cached = cache.get(game);
  if (cached) return cached;
  const pin = await readGamePin(context.store, game);
  if (pin) cache.set(game, pin);
  return pin;
}

/** Resolve a game's rules; `GAME_UNKNOWN` when a configured studio has no such game. */
export async function resolveGame(context: PipelineContext, game: string): Promise<{ ok: true; rules: GameRules } | { ok: false; error: LupError }> {
  if (context.config) {
    const config = findGame(context.config, game);
    if (!config) {
      return {
        ok: false,
        error: lupError({
          code: 'GAME_UNKNOWN', location: { field: 'game' },
          expected: `one of ${context.config.games.map((g) => g.id).join(', ')}`, actual: game,
          message: `Game "${game}" is not configured in this studio's stack; add it to the studio configuration and deploy.`,
        }),
      };
    }
    return { ok: true, rules: { game, config, policy: policyForGame(config), autoReleaseChannel: config.autoReleaseChannel } };
  }
  if (!isValidId(game)) {
    return { ok: false, error: lupError({ code: 'GAME_UNKNOWN', location: { field: 'game' }, expected: 'a lowercase id', actual: game, message: `"${game}" is not a usable game id.` }) };
  }
  const pin = await readPin(context, game);
  return {
    ok: true,
    rules: {
      game,
      pin,
      policy: { publicKey: pin?.publicKey ? parsePublicKey(pin.publicKey, 'pin.publicKey') : undefined },
      autoReleaseChannel: context.developmentEditorChannel ?? DEVELOPMENT_AUTO_RELEASE_CHANNEL,
    },
  };
}

/**
 * Is the game one this deployment serves? Cheaper than {@link resolveGame} (reads nothing), for the
 * resource step, which needs no policy: a resource is verified by its own name.
 */
export function checkGameKnown(context: PipelineContext, game: string): LupError | undefined {
  if (context.config ? findGame(context.config, game) : isValidId(game)) return undefined;
  return lupError({
    code: 'GAME_UNKNOWN', location: { field: 'game' },
    expected: context.config ? `one of ${context.config.games.map((g) => g.id).join(', ')}` : 'a lowercase id', actual: game,
    message: `Game "${game}" is not configured in this studio's stack; add it to the studio configuration and deploy.`,
  });
}

/** Check a channel name against the game's configuration. */
export function checkChannel(rules: GameRules, channel: string): LupError | undefined {
  const channels = rules.config?.channels;
  if (channels ? channels.includes(channel) : isValidId(channel)) return undefined;
  const near = channels ? closestName(channel, channels) : undefined;
  return lupError({
    code: 'CHANNEL_UNKNOWN', location: { field: 'channel' },
    expected: channels ? `one of ${channels.join(', ')}` : 'a lowercase id', actual: channel,
    message: `Game "${rules.game}" has no channel "${channel}"${near ? `; did you mean "${near}"?` : '.'}`,
  });
}

/**
 * May a publisher's release request move this channel? Only the configured publisher channels;
 * every other channel moves by an operator's promote or rollback (the security model).
 */
export function checkPublisherChannel(rules: GameRules, channel: string): LupError | undefined {
  const allowed = rules.config?.publisherChannels;
  if (!allowed || allowed.includes(channel)) return undefined;
  return lupError({
    code: 'CHANNEL_NOT_PUBLISHABLE', location: { field: 'channel' },
    expected: `one of the publisher channels of "${rules.game}": ${allowed.join(', ')}`, actual: channel,
    message: `Publishers may not release to "${channel}" of game "${rules.game}"; publish to ${allowed.join(' or ')} and promote it with the operator role (lup promote), or add it to publisherChannels.`,
  });
}

/** Development mode: check a manifest against the game's pin. */
export function checkPin(rules: GameRules, manifest: Manifest): LupError[] {
  const pin = rules.pin;
  if (!pin) return [];
  const errors: LupError[] = [];
  if (pin.projectIdentifier !== manifest.projectIdentifier) {
    errors.push(lupError({
      code: 'PINNED_PROJECT_MISMATCH', location: { field: 'data.header.project_identifier' },
      expected: `${pin.projectIdentifier} (pinned by release ${pin.releaseId})`, actual: manifest.projectIdentifier,
      message: `Game "${rules.game}" is pinned to Defold project ${pin.projectIdentifier} (the SHA-1 of its project title, pinned by its first release ${pin.releaseId}), `
        + `but this manifest is from project ${manifest.projectIdentifier}; publish it under another game id, or check project.title in game.project.`,
    }));
  }
  if (pin.publicKey && checkManifestSignature(manifest, parsePublicKey(pin.publicKey, 'pin.publicKey')) !== 'valid') {
    errors.push(lupError({
      code: 'PINNED_KEY_MISMATCH', location: { field: 'signature' },
      expected: `a signature by the key pinned by release ${pin.releaseId}`, actual: manifest.signature.length === 0 ? 'no signature' : 'a signature that does not verify',
      message: `Game "${rules.game}" was first released signed with another key; this manifest is refused.`,
    }));
  }
  return errors;
}

/**
 * Development mode: check a public key a release request asks to pin. It must be readable and must
 * verify the manifest's signature: a key pinned blindly would brick the game (every later manifest
 * refused, or every step failing on an unreadable key).
 */
export function checkKeyToPin(manifest: Manifest, publicKey: string): LupError[] {
  let key;
  try {
    key = parsePublicKey(publicKey, 'publicKey');
  } catch (error) {
    if (isLupError(error)) return [error];
    throw error;
  }
  const verdict = checkManifestSignature(manifest, key);
  if (verdict === 'valid') return [];
  return [lupError({
    code: verdict === 'missing' ? 'SIGNATURE_MISSING' : 'SIGNATURE_INVALID', location: { field: 'publicKey' },
    expected: 'a manifest signed with the public key the release request pins', actual: verdict === 'missing' ? 'an unsigned manifest' : 'a signature this key does not verify',
    message: 'The release asks to pin a public key that did not sign its manifest; pass the key of the private key bob signed with (lup publish --public-key).',
  })];
}

/** Minutes garbage collection waits between marking and deleting, for this game. */
export function gcGraceMinutes(rules: GameRules): number {
  return rules.config?.retention.gcGraceMinutes ?? DEFAULT_RETENTION.gcGraceMinutes;
}

/**
 * Development mode: pin the game at its first release (a no-op when pinned or configured). Two
 * first releases may race: the pin is create-only, so the loser reads the winner's pin and is
 * checked against it. Returns the pin's verdict on this manifest.
 */
export async function pinGame(context: PipelineContext, rules: GameRules, manifest: Manifest, releaseId: string, publicKey?: string): Promise<LupError[]> {
  if (rules.config || rules.pin) return [];
  if (publicKey !== undefined) {
    const keyErrors = checkKeyToPin(manifest, publicKey);
    if (keyErrors.length > 0) return keyErrors;
  }
  const pin: GamePin = {
    schemaVersion: 1, projectIdentifier: manifest.projectIdentifier, publicKey, pinnedAt: context.clock.now().toISOString(), releaseId,
  };
  if (await createJson(context.store, keys.gamePin(rules.game), pin)) return [];
  const winner = (await readJson<GamePin>(context.store, keys.gamePin(rules.game)))?.value;
  return checkPin({ ...rules, pin: winner }, manifest);
}

/** The SHA-1 project identifier of a title (re-exported for messages and tests). */
export const projectIdentifierOf = sha1OfText;
