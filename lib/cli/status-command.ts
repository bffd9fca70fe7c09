/**
 * `lup status`: where an upload is in the pipeline, or what each channel of a game serves now.
 */
import { formatError, lupError } from '../core/errors';
import { keys } from '../core/keys';
import type { ObjectStore } from '../core/ports';
import { type ChannelPointer } from '../core/documents/pointer';
import type { UploadState } from '../core/documents/upload-status';
import { EXIT, type CliIo } from './io';
import { formatTable, printJson, readChannelPointers, reportFailure, requireId, requireKnownGame, withTarget } from './operator-support';
import { registerCommand } from './program';
import { addTargetOptions, type TargetOptions } from './target';

interface StatusOptions extends TargetOptions {
  readonly game: string;
  readonly upload?: string;
  readonly json?: boolean;
}

/** What each channel of a game serves, as `lup status --json` prints it. */
export interface ChannelSummary {
  readonly channel: string;
  readonly releaseId: string;
  readonly sequence: number;
  readonly cause: string;
  readonly publishedAt: string;
  /** Path of the pointer from the CDN root. */
  readonly pointerPath: string;
  /** The staged rollout on the channel (share in basis points), when one runs. */
  readonly rollout?: { readonly releaseId: string; readonly share: number; readonly percent: number; readonly state: 'active' | 'halted'; readonly startedSequence: number; readonly startedAt: string };
}

const HELP = `
With --upload: that upload's status object (status/<game>/<upload>.json): its state, what the
pipeline did, and every error with its code, location, expected and actual value.
  states: pending (content arriving and being verified), live (released on its channel),
          verified (verified, no channel to release to), refused (bad content or policy), failed
          (never completed in time; the missing digests are listed)
Without --upload: every channel of the game with its current release, sequence and publish time,
and the staged rollout of each channel that has one (candidate release, share, state).

Exit codes: 0 found (pending, live or verified); 1 the upload was refused or failed, no such upload
(UPLOAD_NOT_FOUND), no such game (GAME_UNKNOWN: no channel and no upload), or a game with no
released channel yet; 2 bad usage.

Examples:
  $ lup status --game space-game
      what each channel serves now (embedded local stack in .lup)
  $ lup status --game space-game --upload build-1042
      follow one upload; its id is printed by \`lup publish\`
  $ lup status --game space-game --upload build-1042 --endpoint https://s3.eu-west-1.amazonaws.com --bucket studio-content-1a2b --json`;

function summarise(pointer: ChannelPointer): ChannelSummary {
  return {
    channel: pointer.channel, releaseId: pointer.releaseId, sequence: pointer.sequence, cause: pointer.cause,
    publishedAt: pointer.publishedAt, pointerPath: keys.pointer(pointer.game, pointer.channel),
    ...(pointer.rollout ? { rollout: {
      releaseId: pointer.rollout.releaseId, share: pointer.rollout.share, percent: pointer.rollout.share / 100, state: pointer.rollout.state,
      startedSequence: pointer.rollout.startedSequence, startedAt: pointer.rollout.startedAt,
    } } : {}),
  };
}

const FAILED_STATES: readonly UploadState[] = ['refused', 'failed'];

async function showUpload(io: CliIo, store: ObjectStore, game: string, upload: string, json: boolean, cdnBaseUrl?: string): Promise<number> {
  const key = keys.status(game, upload);
  const object = await store.get(key);
  if (!object) {
    const prefix = keys.statusPrefix(game);
    const known = (await store.list(prefix))
      .sort((a, b) => (b.lastModified?.getTime() ?? 0) - (a.lastModified?.getTime() ?? 0))
      .slice(0, 5)
      .map((o) => o.key.slice(prefix.length, -'.json'.length));
    if (known.length === 0) await requireKnownGame(store, game, 0);
    // The usage is right and the upload unknown: a lookup that found nothing, as GAME_UNKNOWN (exit 1).
    throw lupError({
      code: 'UPLOAD_NOT_FOUND', location: { key, flag: '--upload' },
      expected: known.length > 0 ? `an upload of game "${game}", e.g. the most recent: ${known.join(', ')}` : `an upload of game "${game}"`, actual: upload,
      message: `Upload "${upload}" has no status in game "${game}": the pipeline has not seen its release request yet, or the id is wrong. `
        + (known.length > 0 ? `Most recent uploads: ${known.join(', ')} (all of them: lup uploads --game ${game}).` : `Game "${game}" has no uploads yet; publish with \`lup publish --game ${game}\`.`),
    });
  }
  const { uploadStatusCodec } = await import('../core/documents/upload-status');
  const status = uploadStatusCodec.parse(object.body, { key });
  if (json) {
    printJson(io, { ok: !FAILED_STATES.includes(status.state), ...status });
  } else {
    const lines = [`Upload ${status.upload} of game ${status.game}: ${status.state}`];
    if (status.channel) lines.push(`  channel:  ${status.channel}`);
    if (status.releaseId) lines.push(`  release:  ${status.releaseId}${status.sequence !== undefined ? ` (sequence ${status.sequence})` : ''}`);
    if (status.pointerPath) lines.push(`  pointer:  ${cdnBaseUrl ? `${cdnBaseUrl}${status.pointerPath}` : status.pointerPath}`);
    lines.push(`  created:  ${status.createdAt}`, `  updated:  ${status.updatedAt}`);
    if (status.events.length > 0) {
      lines.push('Events:', ...status.events.map((e) => `  ${e.at}  ${e.message}`));
    }
    if (status.missing && status.missing.length > 0) {
      lines.push(`Missing (${status.missing.length}):`, ...status.missing.map((m) => `  ${m}`));
    }
    io.stdout(`${lines.join('\n')}\n`);
    if (status.errors.length > 0) {
      io.stderr(`${status.errors.length} error(s):\n${status.errors.map((e) => formatError(e)).join('\n')}\n`);
    }
  }
  return FAILED_STATES.includes(status.state) ? EXIT.invalid : EXIT.ok;
}

async function showChannels(io: CliIo, store: ObjectStore, game: string, json: boolean): Promise<number> {
  const channels = (await readChannelPointers(store, game)).map(summarise);
  await requireKnownGame(store, game, channels.length);
  // A game with no channel is not "fine": a typo in --game must not pass a CI check (issue 11).
  if (json) {
    printJson(io, { ok: channels.length > 0, game, channels });
    return channels.length > 0 ? EXIT.ok : EXIT.invalid;
  }
  if (channels.length === 0) {
    io.stdout(`Game ${game} has no released channel yet; publish with \`lup publish --game ${game} --channel <name>\`.\n`);
    return EXIT.invalid;
  }
  const rows = [['CHANNEL', 'RELEASE', 'SEQUENCE', 'CAUSE', 'PUBLISHED'], ...channels.map((c) => [c.channel, c.releaseId, String(c.sequence), c.cause, c.publishedAt])];
  const rollouts = channels.flatMap((c) => (c.rollout
    ? [`  rollout on ${c.channel}: release ${c.rollout.releaseId} to ${c.rollout.percent} % of installs (${c.rollout.state}, since sequence ${c.rollout.startedSequence}); the others get ${c.releaseId}`]
    : []));
  io.stdout(`Game ${game}: ${channels.length} channel(s)\n${formatTable(rows, '  ').join('\n')}\n${rollouts.map((l) => `${l}\n`).join('')}`);
  return EXIT.ok;
}

registerCommand((program, io, state) => {
  const command = program
    .command('status')
    .description("Show an upload's progress and errors, or what each channel of a game serves now.")
    .requiredOption('--game <id>', 'game id (e.g. space-game)')
    .option('--upload <id>', 'upload to show (printed by `lup publish`). Default: list the channels of the game instead')
    .option('--json', 'print the status document or the channel list as JSON on stdout');
  addTargetOptions(command);
  command.addHelpText('after', HELP);
  command.action(async (options: StatusOptions) => {
    const game = requireId('--game', options.game, 'space-game');
    const upload = options.upload === undefined ? undefined : requireId('--upload', options.upload, 'build-1042');
    const json = options.json === true;
    try {
      state.exitCode = await withTarget(options, io, (target) =>
        upload ? showUpload(io, target.store, game, upload, json, target.cdnBaseUrl) : showChannels(io, target.store, game, json));
    } catch (error) {
      state.exitCode = reportFailure(io, json, error);
    }
  });
});
