/**
 * `lup uploads`: the uploads of a game, newest first, with their state: what `lup status --upload`
 * shows for one upload, as a list (status documents, plus upload folders still in staging).
 */
import pLimit from 'p-limit';
import { EDITOR_UPLOAD, keys } from '../core/keys';
import type { ObjectInfo, ObjectStore } from '../core/ports';
import type { UploadState } from '../core/documents/upload-status';
import { EXIT, type CliIo } from './io';
import { formatTable, isAccessDenied, parsePositiveInteger, printJson, readChannelPointers, reportFailure, requireId, requireKnownGame, withTarget } from './operator-support';
import { registerCommand } from './program';
import { addTargetOptions, type TargetOptions } from './target';

interface UploadsOptions extends TargetOptions {
  readonly game: string;
  readonly channel?: string;
  readonly limit: string;
  readonly json?: boolean;
}

/** One upload, as `lup uploads --json` lists it. */
export interface UploadSummary {
  readonly upload: string;
  readonly state: UploadState;
  /** False while the upload's content is in staging and its release request has not been seen. */
  readonly releaseRequested: boolean;
  readonly channel?: string;
  readonly releaseId?: string;
  readonly sequence?: number;
  /** The code of the first error, for refused and failed uploads. */
  readonly code?: string;
  readonly errorCount: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}

const DEFAULT_LIMIT = 20;
/** Status documents read at once while looking for `--limit` uploads of a channel. */
const READ_BATCH = 32;

const HELP = `
Every upload of the game the pipeline has a status document for (status/<game>/<upload>.json),
and every upload folder still in staging without one (content arriving, no release request seen
yet), newest first:
  states: pending (arriving or being verified), live (released on its channel), verified (no
          channel to release to), refused (bad content or policy; CODE is the first error's code),
          failed (never completed in time)
One upload in detail, with every error: lup status --game <id> --upload <upload>.
With publisher credentials (which may not list staging) only the status documents are listed.

Exit codes: 0 listed (also none); 1 no such game (GAME_UNKNOWN: no channel and no upload); 2 bad usage.

Examples:
  $ lup uploads --game space-game
      the 20 most recent uploads (embedded local stack in .lup)
  $ lup uploads --game space-game --channel beta --limit 5 --endpoint http://127.0.0.1:4569
  $ lup uploads --game space-game --endpoint aws --bucket studio-content-1a2b --json`;

function uploadOf(prefix: string, key: string): string {
  return key.slice(prefix.length).split('/')[0];
}

/** Upload folders in staging (not the editor's folder, whose builds have their own status ids), with their newest object's time. */
async function stagedUploads(store: ObjectStore, game: string): Promise<Map<string, { first: Date; last: Date }>> {
  const prefix = keys.stagingPrefix(game);
  let listed: ObjectInfo[];
  try {
    listed = await store.list(prefix);
  } catch (error) {
    // The publisher may list status/ but not staging/: list what it can see.
    if (isAccessDenied(error)) return new Map();
    throw error;
  }
  const folders = new Map<string, { first: Date; last: Date }>();
  for (const o of listed) {
    const upload = uploadOf(prefix, o.key);
    if (upload === EDITOR_UPLOAD) continue;
    const at = o.lastModified ?? new Date(0);
    const seen = folders.get(upload);
    folders.set(upload, { first: seen && seen.first < at ? seen.first : at, last: seen && seen.last > at ? seen.last : at });
  }
  return folders;
}

/** The uploads of a game, newest first, at most `limit`, only those released to `channel` when given. */
export async function listUploads(store: ObjectStore, game: string, options: { channel?: string; limit: number }): Promise<UploadSummary[]> {
  const { uploadStatusCodec } = await import('../core/documents/upload-status');
  const prefix = keys.statusPrefix(game);
  const [statuses, staged] = await Promise.all([store.list(prefix), stagedUploads(store, game)]);
  const newestFirst = [...statuses].sort((a, b) => (b.lastModified?.getTime() ?? 0) - (a.lastModified?.getTime() ?? 0));
  const found: UploadSummary[] = [];
  const run = pLimit(16);
  // Read newest first, a batch at a time, until `limit` uploads (of the channel) are found.
  for (let i = 0; i < newestFirst.length && found.length < options.limit; i += READ_BATCH) {
    const batch = await Promise.all(newestFirst.slice(i, i + READ_BATCH).map((o) => run(async () => {
      const object = await store.get(o.key);
      return object ? uploadStatusCodec.parse(object.body, { key: o.key }) : undefined;
    })));
    for (const status of batch) {
      if (!status || (options.channel !== undefined && status.channel !== options.channel)) continue;
      found.push({
        upload: status.upload, state: status.state, releaseRequested: true,
        ...(status.channel ? { channel: status.channel } : {}),
        ...(status.releaseId ? { releaseId: status.releaseId } : {}),
        ...(status.sequence !== undefined ? { sequence: status.sequence } : {}),
        ...(status.errors.length > 0 ? { code: status.errors[0].code } : {}),
        errorCount: status.errorCount ?? status.errors.length,
        createdAt: status.createdAt, updatedAt: status.updatedAt,
      });
    }
  }
  // A staging folder without a status document has no release request yet, so no channel either.
  if (options.channel === undefined) {
    const withStatus = new Set(statuses.map((o) => o.key.slice(prefix.length, -'.json'.length)));
    for (const [upload, times] of staged) {
      if (withStatus.has(upload)) continue;
      found.push({ upload, state: 'pending', releaseRequested: false, errorCount: 0, createdAt: times.first.toISOString(), updatedAt: times.last.toISOString() });
    }
  }
  // Newest first by the documents' own clock (LastModified has a one-second resolution on some stores).
  return found.sort((a, b) => b.updatedAt.localeCompare(a.updatedAt)).slice(0, options.limit);
}

async function showUploads(io: CliIo, store: ObjectStore, game: string, channel: string | undefined, limit: number, json: boolean): Promise<number> {
  const uploads = await listUploads(store, game, { channel, limit });
  if (uploads.length === 0) await requireKnownGame(store, game, (await readChannelPointers(store, game)).length);
  if (json) {
    printJson(io, { ok: true, game, ...(channel ? { channel } : {}), uploads });
    return EXIT.ok;
  }
  const of = `game ${game}${channel ? `, channel ${channel}` : ''}`;
  if (uploads.length === 0) {
    io.stdout(`No uploads of ${of}; publish with \`lup publish --game ${game} --channel ${channel ?? '<name>'}\`.\n`);
    return EXIT.ok;
  }
  const rows = [['UPLOAD', 'STATE', 'CHANNEL', 'RELEASE', 'CODE', 'UPDATED'], ...uploads.map((u) => [
    u.upload, u.releaseRequested ? u.state : `${u.state} (no release request yet)`, u.channel ?? '-',
    u.releaseId ? `${u.releaseId}${u.sequence !== undefined ? ` (seq ${u.sequence})` : ''}` : '-', u.code ? `${u.code}${u.errorCount > 1 ? ` (+${u.errorCount - 1})` : ''}` : '-', u.updatedAt,
  ])];
  io.stdout(`Uploads of ${of}, newest first (at most ${limit}):\n${formatTable(rows, '  ').join('\n')}\nDetails and every error: lup status --game ${game} --upload <upload>\n`);
  return EXIT.ok;
}

registerCommand((program, io, state) => {
  const command = program
    .command('uploads')
    .description('List the uploads of a game, newest first, with their state (pending, live, verified, refused, failed), error code, channel and time.')
    .requiredOption('--game <id>', 'game id (e.g. space-game)')
    .option('--channel <name>', 'only uploads whose status names this channel (released to it, or refused after its release request was accepted for it). Default: every upload')
    .option('--limit <n>', 'uploads to list, newest first', String(DEFAULT_LIMIT))
    .option('--json', 'print the list as JSON on stdout');
  addTargetOptions(command);
  command.addHelpText('after', HELP);
  command.action(async (options: UploadsOptions) => {
    const game = requireId('--game', options.game, 'space-game');
    const channel = options.channel === undefined ? undefined : requireId('--channel', options.channel, 'stable');
    const limit = parsePositiveInteger('--limit', options.limit, 10_000);
    const json = options.json === true;
    try {
      state.exitCode = await withTarget(options, io, (target) => showUploads(io, target.store, game, channel, limit, json));
    } catch (error) {
      state.exitCode = reportFailure(io, json, error);
    }
  });
});
