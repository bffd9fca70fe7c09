/**
 * The studio configuration: one schema for the local stack (`lup local --config FILE`) and the CDK
 * stack (`bin/app.ts`). Validation reports every problem at once, each naming its field, so a studio
 * fixes its configuration in one round.
 */
import { createPublicKey } from 'node:crypto';
import { isValidId } from './keys';
import { LupError, lupError } from './errors';

/** How long released content is kept after it stops being referenced. */
export interface RetentionConfig {
  /** How many releases per channel stay protected from garbage collection. @default 10 */
  readonly releasesPerChannel: number;
  /**
   * Content (and releases) younger than this are never collected, in days. 0 lets `lup gc` collect
   * at once, for a development configuration of `lup local`; a deployed stack should keep days,
   * because an upload may still be on its way (`lup gc` against it warns below 1).
   * @default 7
   */
  readonly minAgeDays: number;
  /** Days before leftovers in `staging/` and `quarantine/` expire (bucket lifecycle). @default 14 */
  readonly stagingExpiryDays: number;
  /**
   * Minutes between garbage collection marking content and deleting it, when a later gc run finds
   * it still unreferenced. A release that needs marked content takes it back in between, so this
   * must be longer than any release takes from its content check to its flip (Lambda: 15 minutes).
   * 0 (or a few minutes) is for a development configuration of `lup local`, where nothing publishes
   * while you run gc; `lup gc` against a deployed stack warns below {@link SAFE_GC_GRACE_MINUTES}.
   * @default 60
   */
  readonly gcGraceMinutes: number;
}

/** One game of the studio. */
export interface GameConfig {
  /** Game id used in every key (`staging/<id>/…`): lowercase letters, digits, `-`, `_`, `.`. */
  readonly id: string;
  /** `project.title` of the Defold project; the manifest's project identifier must be its SHA-1. */
  readonly projectTitle: string;
  /**
   * Public key that manifests must be signed with: PEM text, or base64 of the DER
   * SubjectPublicKeyInfo (`game.public.der`). @default - signatures are not checked
   */
  readonly publicKey?: string;
  /** Accept an empty signature although a public key is set (bob since 2026 signs nothing). @default false */
  readonly allowUnsigned: boolean;
  /** Engine versions a release must support, e.g. `["1.6.2"]`. @default [] - any engine */
  readonly supportedEngineVersions: readonly string[];
  /** Channels of the game. @default ["stable"] */
  readonly channels: readonly string[];
  /** Channel that Defold-editor uploads (no release request) are released to. @default - none: editor uploads are verified but not released */
  readonly autoReleaseChannel?: string;
  /**
   * Channels a publisher's release request may move. The others move only by an operator's promote
   * or rollback, so a leaked publisher key cannot change what most players get.
   * @default [autoReleaseChannel], or the first channel when there is none
   */
  readonly publisherChannels: readonly string[];
  readonly retention: RetentionConfig;
}

/** The whole configuration of one studio deployment. */
export interface StudioConfig {
  /** Name of the studio, used in the stack name. @default "studio" */
  readonly studio: string;
  /** Origins allowed to fetch content cross-origin (HTML5 games). @default ["*"] */
  readonly corsOrigins: readonly string[];
  /** Grant anonymous `s3:GetObject` on `content/*` and `channels/*`. @default true */
  readonly publicRead: boolean;
  /** Give the publisher the two read-only calls the Defold editor's Amazon publisher makes. @default false */
  readonly editorCompatibility: boolean;
  /** Create an access key for the publisher, its secret stored in Secrets Manager. @default true */
  readonly publisherAccessKey: boolean;
  /** Minutes after which an incomplete release is marked failed with its missing content. @default 60 */
  readonly releaseTimeoutMinutes: number;
  readonly games: readonly GameConfig[];
}

/** The shortest grace period safe on AWS: the longest a release takes from its content check to its flip (the Lambda timeout). */
export const SAFE_GC_GRACE_MINUTES = 15;

/** Retention when a game configures none (and in development mode). */
export const DEFAULT_RETENTION: RetentionConfig = { releasesPerChannel: 10, minAgeDays: 7, stagingExpiryDays: 14, gcGraceMinutes: 60 };

type Problems = LupError[];

function problem(problems: Problems, field: string, expected: string, actual: unknown, message: string): void {
  problems.push(
    lupError({ code: 'CONFIG_INVALID', location: { field }, expected, actual: describe(actual), message }),
  );
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkUnknownKeys(problems: Problems, path: string, value: Record<string, unknown>, known: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      problem(problems, `${path}${path ? '.' : ''}${key}`, `one of ${known.join(', ')}`, key, `Unknown setting "${key}"; check its spelling.`);
    }
  }
}

function stringList(problems: Problems, field: string, value: unknown, fallback: readonly string[]): readonly string[] {
  if (value === undefined) return fallback;
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
    problem(problems, field, 'a list of strings', value, `${field} must be a list of strings.`);
    return fallback;
  }
  return value as string[];
}

function boolean(problems: Problems, field: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') {
    problem(problems, field, 'true or false', value, `${field} must be true or false.`);
    return fallback;
  }
  return value;
}

/** A whole number of at least `least` (the fallback when absent; a problem when anything else). */
function wholeNumberAtLeast(least: number, problems: Problems, field: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < least) {
    problem(problems, field, `a whole number of at least ${least}`, value, `${field} must be a whole number of at least ${least}.`);
    return fallback;
  }
  return value;
}

const positiveInteger = wholeNumberAtLeast.bind(undefined, 1);
const nonNegativeInteger = wholeNumberAtLeast.bind(undefined, 0);

/** Parse a public key given as PEM text or base64 DER (SPKI); throws `PUBLIC_KEY_INVALID`. */
export function parsePublicKey(text: string, field = 'publicKey'): import('node:crypto').KeyObject {
  try {
    if (text.includes('-----BEGIN')) return createPublicKey(text);
    const der = Buffer.from(text.replace(/\s+/g, ''), 'base64');
    if (der.length === 0) throw new Error('empty key');
    return createPublicKey({ key: der, format: 'der', type: 'spki' });
  } catch (cause) {
    throw lupError(
      {
        code: 'PUBLIC_KEY_INVALID',
        location: { field },
        expected: 'an RSA public key: PEM text, or base64 of the DER SubjectPublicKeyInfo (game.public.der)',
        actual: describe(text),
        message: `${field} is not a readable public key; paste the PEM text or base64 of game.public.der.`,
      },
      cause,
    );
  }
}

function validateGame(problems: Problems, index: number, raw: unknown): GameConfig | undefined {
  const path = `games[${index}]`;
  if (!isRecord(raw)) {
    problem(problems, path, 'an object with id and projectTitle', raw, `${path} must be an object.`);
    return undefined;
  }
  checkUnknownKeys(problems, path, raw, [
    'id', 'projectTitle', 'publicKey', 'allowUnsigned', 'supportedEngineVersions', 'channels', 'autoReleaseChannel', 'publisherChannels', 'retention',
  ]);
  const id = raw.id;
  if (typeof id !== 'string' || !isValidId(id)) {
    problem(problems, `${path}.id`, 'lowercase letters, digits, "-", "_" or "." (1-63 characters)', id, `${path}.id must be a lowercase id usable in object keys.`);
  }
  const projectTitle = raw.projectTitle;
  if (typeof projectTitle !== 'string' || projectTitle.trim().length === 0) {
    problem(problems, `${path}.projectTitle`, 'the non-empty project.title of game.project', projectTitle, `${path}.projectTitle must be the project title from game.project.`);
  }
  let publicKey: string | undefined;
  if (raw.publicKey !== undefined) {
    if (typeof raw.publicKey !== 'string') {
      problem(problems, `${path}.publicKey`, 'PEM text or base64 DER', raw.publicKey, `${path}.publicKey must be a string.`);
    } else {
      try {
        parsePublicKey(raw.publicKey, `${path}.publicKey`);
        publicKey = raw.publicKey;
      } catch (error) {
        problems.push(error as LupError);
      }
    }
  }
  const channels = stringList(problems, `${path}.channels`, raw.channels, ['stable']);
  channels.forEach((c, i) => {
    if (!isValidId(c)) problem(problems, `${path}.channels[${i}]`, 'a lowercase id', c, `Channel names must be lowercase ids usable in object keys.`);
  });
  if (new Set(channels).size !== channels.length) {
    problem(problems, `${path}.channels`, 'distinct channel names', channels, `${path}.channels lists a channel twice.`);
  }
  if (channels.length === 0) problem(problems, `${path}.channels`, 'at least one channel', channels, `${path}.channels must name at least one channel.`);
  const autoReleaseChannel = raw.autoReleaseChannel;
  if (autoReleaseChannel !== undefined && (typeof autoReleaseChannel !== 'string' || !channels.includes(autoReleaseChannel))) {
    problem(problems, `${path}.autoReleaseChannel`, `one of the game's channels (${channels.join(', ')})`, autoReleaseChannel, `${path}.autoReleaseChannel must be one of the game's channels.`);
  }
  // An invalid autoReleaseChannel is reported once, above, not again through this default.
  const defaultPublisherChannels = typeof autoReleaseChannel === 'string' && channels.includes(autoReleaseChannel) ? [autoReleaseChannel] : channels.slice(0, 1);
  const publisherChannels = stringList(problems, `${path}.publisherChannels`, raw.publisherChannels, defaultPublisherChannels);
  publisherChannels.forEach((c, i) => {
    if (!channels.includes(c)) problem(problems, `${path}.publisherChannels[${i}]`, `one of the game's channels (${channels.join(', ')})`, c, `${path}.publisherChannels may only name the game's channels.`);
  });
  const supportedEngineVersions = stringList(problems, `${path}.supportedEngineVersions`, raw.supportedEngineVersions, []);
  let retention = DEFAULT_RETENTION;
  if (raw.retention !== undefined) {
    if (!isRecord(raw.retention)) {
      problem(problems, `${path}.retention`, 'an object', raw.retention, `${path}.retention must be an object.`);
    } else {
      checkUnknownKeys(problems, `${path}.retention`, raw.retention, ['releasesPerChannel', 'minAgeDays', 'stagingExpiryDays', 'gcGraceMinutes']);
      retention = {
        releasesPerChannel: positiveInteger(problems, `${path}.retention.releasesPerChannel`, raw.retention.releasesPerChannel, DEFAULT_RETENTION.releasesPerChannel),
        // 0 is allowed for development (lup local): gc then shows its effect at once.
        minAgeDays: nonNegativeInteger(problems, `${path}.retention.minAgeDays`, raw.retention.minAgeDays, DEFAULT_RETENTION.minAgeDays),
        stagingExpiryDays: positiveInteger(problems, `${path}.retention.stagingExpiryDays`, raw.retention.stagingExpiryDays, DEFAULT_RETENTION.stagingExpiryDays),
        // At least 1, even for development: gc deletes only what an earlier run marked at least this
        // long ago, which is what keeps a release that is flipping right now from losing its content
        // (with 0, one run marks and deletes, racing the flip; adversary finding F4 of issue 12).
        gcGraceMinutes: positiveInteger(problems, `${path}.retention.gcGraceMinutes`, raw.retention.gcGraceMinutes, DEFAULT_RETENTION.gcGraceMinutes),
      };
    }
  }
  return {
    id: id as string,
    projectTitle: projectTitle as string,
    publicKey,
    allowUnsigned: boolean(problems, `${path}.allowUnsigned`, raw.allowUnsigned, false),
    supportedEngineVersions,
    channels,
    autoReleaseChannel: typeof autoReleaseChannel === 'string' ? autoReleaseChannel : undefined,
    publisherChannels,
    retention,
  };
}

/** The outcome of {@link validateStudioConfig}: the configuration, or every problem found. */
export type ConfigResult = { ok: true; config: StudioConfig } | { ok: false; errors: LupError[] };

/** Validate a parsed configuration document; reports every problem at once. */
export function validateStudioConfig(raw: unknown): ConfigResult {
  const problems: Problems = [];
  if (!isRecord(raw)) {
    problem(problems, '', 'a JSON object with a "games" list', raw, 'The studio configuration must be a JSON object.');
    return { ok: false, errors: problems };
  }
  checkUnknownKeys(problems, '', raw, [
    'studio', 'corsOrigins', 'publicRead', 'editorCompatibility', 'publisherAccessKey', 'releaseTimeoutMinutes', 'games',
  ]);
  const studio = raw.studio ?? 'studio';
  if (typeof studio !== 'string' || !/^[A-Za-z][A-Za-z0-9-]{0,63}$/.test(studio)) {
    problem(problems, 'studio', 'a name of letters, digits and "-" starting with a letter', studio, 'studio must be a short name usable in a stack name.');
  }
  const corsOrigins = stringList(problems, 'corsOrigins', raw.corsOrigins, ['*']);
  corsOrigins.forEach((o, i) => {
    if (o !== '*' && !/^https?:\/\/[^/\s]+$/.test(o)) {
      problem(problems, `corsOrigins[${i}]`, '"*" or an origin such as "https://games.example.com"', o, 'CORS origins are a scheme and host, without a path.');
    }
  });
  const gamesRaw = raw.games;
  const games: GameConfig[] = [];
  if (!Array.isArray(gamesRaw) || gamesRaw.length === 0) {
    problem(problems, 'games', 'a non-empty list of games', gamesRaw, 'games must list at least one game.');
  } else {
    gamesRaw.forEach((g, i) => {
      const game = validateGame(problems, i, g);
      if (game) games.push(game);
    });
    const seen = new Map<string, number>();
    games.forEach((g, i) => {
      if (typeof g.id !== 'string') return;
      const first = seen.get(g.id);
      if (first !== undefined) {
        problem(problems, `games[${i}].id`, `an id not used by games[${first}]`, g.id, `Game id "${g.id}" is used twice.`);
      } else seen.set(g.id, i);
    });
  }
  const config: StudioConfig = {
    studio: studio as string,
    corsOrigins,
    publicRead: boolean(problems, 'publicRead', raw.publicRead, true),
    editorCompatibility: boolean(problems, 'editorCompatibility', raw.editorCompatibility, false),
    publisherAccessKey: boolean(problems, 'publisherAccessKey', raw.publisherAccessKey, true),
    releaseTimeoutMinutes: positiveInteger(problems, 'releaseTimeoutMinutes', raw.releaseTimeoutMinutes, 60),
    games,
  };
  return problems.length > 0 ? { ok: false, errors: problems } : { ok: true, config };
}

/** Find a game's configuration; `undefined` when the studio has no such game. */
export function findGame(config: StudioConfig, gameId: string): GameConfig | undefined {
  return config.games.find((g) => g.id === gameId);
}
