/**
 * What the operator commands (`status`, `releases`, `promote`, `rollback`, `gc`, `verify`) share:
 * checking id flags, opening and always closing the target, printing `--json` and failures.
 */
import { randomBytes } from 'node:crypto';
import { formatError, isLupError, lupError, type LupError } from '../core/errors';
import { isValidId, keys, PREFIX } from '../core/keys';
import type { ObjectStore } from '../core/ports';
import type { ChannelPointer } from '../core/documents/pointer';
import { LOCAL_OPERATOR_CREDENTIALS, LOCAL_PUBLISHER_CREDENTIALS } from '../local/defaults';
import { EXIT, UsageError, errorHint, type CliIo } from './io';
import { openTarget, type Target, type TargetOptions } from './target';

/** The value of an id flag (`--game`, `--channel`, …), or a usage error naming the flag and the rule. */
export function requireId(flag: string, value: string | undefined, example: string): string {
  if (value === undefined) throw new UsageError(`${flag} is required, for example ${flag} ${example}.`);
  if (!isValidId(value)) {
    throw new UsageError(`${flag} "${value}" is not a valid id: use lowercase letters, digits, "-", "_" and "." (at most 63 characters, starting with a letter or digit), for example ${flag} ${example}.`);
  }
  return value;
}

/** A positive integer flag, or a usage error naming the flag. */
export function parsePositiveInteger(flag: string, value: string, max: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1 || n > max) {
    throw new UsageError(`${flag} "${value}" is not a whole number from 1 to ${max}, for example ${flag} 16.`);
  }
  return n;
}

/** Open the target the flags name, run `action`, and close the target whatever happens. */
export async function withTarget<T>(options: TargetOptions, io: CliIo, action: (target: Target) => Promise<T>): Promise<T> {
  const target = await openTarget(options, io);
  try {
    return await action(target);
  } finally {
    await target.close();
  }
}

/** Print a value as the command's `--json` output (one document on stdout). */
export function printJson(io: CliIo, value: unknown): void {
  io.stdout(`${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Report a failure of the operation (not of usage): the formatted error on stderr and, with
 * `--json`, `{ "ok": false, "error": … }` on stdout. Returns the exit code to set. Anything that is
 * not a `LupError` is rethrown.
 */
export function reportFailure(io: CliIo, json: boolean, failure: unknown): number {
  const error = isAccessDenied(failure) ? principalError(failure) : failure;
  if (!isLupError(error) || error.code === 'USAGE_INVALID' || error.code === 'INPUT_NOT_FOUND' || error.code === 'CONFIG_INVALID') throw error;
  io.stderr(`${formatError(error.toJSON())}\n`);
  const hint = errorHint(error);
  if (hint) io.stderr(`${hint}\n`);
  if (json) printJson(io, { ok: false, error: error.toJSON() });
  return EXIT.invalid;
}

/** A fresh id for one control request, so that a retried request is applied once. */
export function newRequestId(now: Date = new Date()): string {
  return `cli-${now.getTime()}-${randomBytes(4).toString('hex')}`;
}

/** A byte count for people: exact, with a rounded unit beside it when large. */
export function formatBytes(bytes: number): string {
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = '';
  for (const u of units) {
    if (value < 1024) break;
    value /= 1024;
    unit = u;
  }
  return unit ? `${bytes} bytes (${value.toFixed(1)} ${unit})` : `${bytes} bytes`;
}

/** Lines of a left-aligned table; the last column is not padded. */
export function formatTable(rows: readonly (readonly string[])[], indent = ''): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => `${indent}${r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]))).join('  ')}`.trimEnd());
}

/** The `LupError` data of a list of errors, for `--json`. */
export function errorsToJson(errors: readonly LupError[]): ReturnType<LupError['toJSON']>[] {
  return errors.map((e) => e.toJSON());
}

/** Every channel of a game with its pointer, in name order. */
export async function readChannelPointers(store: ObjectStore, game: string): Promise<ChannelPointer[]> {
  const { pointerCodec } = await import('../core/documents/pointer');
  const prefix = keys.channelsPrefix(game);
  const listed = (await store.list(prefix)).filter((o) => o.key.endsWith('.json') && !o.key.slice(prefix.length).includes('/'));
  const pointers = await Promise.all(listed.map(async (o) => {
    const object = await store.get(o.key);
    return object ? pointerCodec.parse(object.body, { key: o.key }) : undefined;
  }));
  return pointers.filter((p): p is ChannelPointer => p !== undefined).sort((a, b) => a.channel.localeCompare(b.channel));
}

/** The `force` field of a promote or rollback from `--force <reason>`; a reason is required. */
export function forced(reason: string | undefined): { force?: string } {
  if (reason === undefined) return {};
  const text = reason.trim();
  if (text.length === 0 || text.length > 500) throw new UsageError('--force needs a reason of 1 to 500 characters (it is kept in the channel history), e.g. --force "incident 42: 1.10 crashes on iOS"');
  return { force: text };
}

/**
 * Every game with a channel or an upload, in name order (also the console's game list). `channels`
 * is false when the credentials may not list channel pointers (publisher credentials): games are
 * then found from uploads only.
 */
export async function listGames(store: ObjectStore, options: { channels: boolean }): Promise<string[]> {
  const games = new Set<string>();
  const gameOf = (prefix: string, key: string): string | undefined => key.slice(prefix.length).split('/')[0] || undefined;
  if (options.channels) for (const o of await store.list(PREFIX.channels)) games.add(gameOf(PREFIX.channels, o.key) ?? '');
  for (const o of await store.list(PREFIX.status)) games.add(gameOf(PREFIX.status, o.key) ?? '');
  games.delete('');
  return [...games].sort();
}

/**
 * Refuse a game the target knows nothing of (no channel, no upload) with `GAME_UNKNOWN`, naming
 * the games it does know: a typo in `--game` must not pass a CI check as "nothing released yet".
 * A game with uploads but no channel is known (its first release may still be on its way).
 */
export async function requireKnownGame(store: ObjectStore, game: string, channelCount: number): Promise<void> {
  if (channelCount > 0 || (await store.list(keys.statusPrefix(game), { limit: 1 })).length > 0) return;
  // Publisher credentials may not list channels/: name the games their uploads show.
  const games = await listGames(store, { channels: true }).catch((error: unknown) => {
    if (isAccessDenied(error)) return listGames(store, { channels: false });
    throw error;
  });
  throw lupError({
    code: 'GAME_UNKNOWN', location: { flag: '--game' },
    expected: games.length > 0 ? `one of ${games.join(', ')}` : 'a game with a channel or an upload', actual: game,
    message: games.length > 0
      ? `Game "${game}" has no channel and no upload here; games found: ${games.join(', ')}.`
      : `No game has a channel or an upload here yet; publish one with \`lup publish --game ${game} --channel <name>\`.`,
  });
}

/** True when an error is the store or Lambda refusing the credentials (HTTP 403 / AccessDenied). */
export function isAccessDenied(error: unknown): boolean {
  for (let e = error as { name?: string; $metadata?: { httpStatusCode?: number }; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (e.$metadata?.httpStatusCode === 403 || e.name === 'AccessDenied' || e.name === 'AccessDeniedException') return true;
  }
  return false;
}

/** The principal a refusal names: an AWS ARN ("User: arn:… is not authorized"), or a `lup local` key. */
function refusedPrincipal(error: unknown): string | undefined {
  for (let e = error as { message?: string; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    const text = e.message ?? '';
    const arn = /\b(?:User|Principal): (arn:[^\s]+)/.exec(text)?.[1];
    if (arn) return arn;
    if (/local publisher key/.test(text)) return `the local publisher key (${LOCAL_PUBLISHER_CREDENTIALS.accessKeyId})`;
  }
  return undefined;
}

/**
 * A refusal of the credentials (AccessDenied) as `ACCESS_DENIED`, naming the principal operator
 * commands need and the one that was refused: the publisher key (CI's) may only stage uploads and
 * read their status, so reading channels, releases or staging, or flipping, needs the operator's.
 */
export function principalError(error: unknown): LupError {
  const given = refusedPrincipal(error);
  const original = isLupError(error) ? error : undefined;
  const detail = (original?.cause as Error | undefined)?.message ?? (error as Error | undefined)?.message ?? String(error);
  return lupError({
    code: 'ACCESS_DENIED', location: original?.location,
    expected: `operator credentials: the operator role (OperatorRoleArn) on AWS, the operator key ${LOCAL_OPERATOR_CREDENTIALS.accessKeyId} on lup local`,
    actual: given ?? 'credentials the bucket refused',
    message: `This command needs operator credentials (it reads channels, releases or staging, or moves a channel): the operator role on AWS (assume OperatorRoleArn; docs/deploy.md, section 7), the operator key ${LOCAL_OPERATOR_CREDENTIALS.accessKeyId} on lup local. `
      + `It was given ${given ?? 'credentials'}, which the bucket refused (${detail}). The publisher key may run lup publish, lup status --upload and lup uploads.`,
  }, error);
}
