/**
 * `lup releases`: the history of each channel of a game, newest first, with release notes.
 */
import pLimit from 'p-limit';
import { keys } from '../core/keys';
import type { ObjectStore } from '../core/ports';
import { type ChannelPointer, type FlipCause, type FlipEntry } from '../core/documents/pointer';
import { EXIT, UsageError, type CliIo } from './io';
import { formatTable, parsePositiveInteger, printJson, readChannelPointers, reportFailure, requireId, requireKnownGame, withTarget } from './operator-support';
import { registerCommand } from './program';
import { addTargetOptions, type TargetOptions } from './target';

interface ReleasesOptions extends TargetOptions {
  readonly game: string;
  readonly channel?: string;
  readonly limit: string;
  readonly json?: boolean;
}

/** One flip of a channel, as `lup releases --json` prints it. */
export interface ChannelFlip {
  readonly sequence: number;
  readonly releaseId: string;
  readonly cause: FlipCause;
  readonly at: string;
  /** True for the flip the pointer is at now. */
  readonly current: boolean;
  /** The release's note (e.g. a CI build number), when it has one. */
  readonly note?: string;
  /** For staged-rollout flips: the candidate release and the share after the flip (basis points). */
  readonly candidate?: string;
  readonly share?: number;
}

/** The history of one channel. */
export interface ChannelHistory {
  readonly channel: string;
  readonly current: { readonly releaseId: string; readonly sequence: number };
  /** Newest first, at most `--limit`. */
  readonly flips: readonly ChannelFlip[];
  /** Flips older than the listed ones. */
  readonly olderFlips: number;
}

const DEFAULT_LIMIT = 20;

const HELP = `
Every flip of a channel's pointer is recorded once (releases/<game>/history/<channel>/<sequence>.json):
its sequence (which only grows, rollbacks included), the release, the cause (release, promote,
rollback) and the time. The current flip is marked with *. Release notes come from the release
records (the --note given to \`lup publish\`).

Exit codes: 0 listed (also for a game with uploads but no released channel yet); 1 no such game
(GAME_UNKNOWN: no channel and no upload; the games found are named); 2 bad usage, or a --channel
with no releases (the channels with releases are named).

Examples:
  $ lup releases --game space-game
      every channel's history (embedded local stack in .lup)
  $ lup releases --game space-game --channel stable --limit 5
      the last five flips of stable; roll back to one with \`lup rollback --to <release>\`
  $ lup releases --game space-game --endpoint http://127.0.0.1:4569 --json`;

/** The flips of one channel, newest first (also read by `lup console`): the history records, completed by the pointer's own memory. */
export async function readHistory(store: ObjectStore, pointer: ChannelPointer, limit: number): Promise<{ flips: FlipEntry[]; total: number }> {
  const listed = await store.list(keys.historyPrefix(pointer.game, pointer.channel));
  // Keys carry zero-padded sequences, so key order is sequence order.
  const newest = listed.slice(-limit).reverse();
  const run = pLimit(16);
  const records = await Promise.all(newest.map((o) => run(async () => {
    const object = await store.get(o.key);
    return object ? (JSON.parse(Buffer.from(object.body).toString('utf8')) as FlipEntry) : undefined;
  })));
  const bySequence = new Map<number, FlipEntry>();
  for (const r of records) if (r) bySequence.set(r.sequence, r);
  // A flip whose history record was not written yet (the flip's follow-ups run after the PUT) is still in the pointer.
  for (const h of pointer.history) if (!bySequence.has(h.sequence)) bySequence.set(h.sequence, h);
  const flips = [...bySequence.values()].sort((a, b) => b.sequence - a.sequence);
  return { flips: flips.slice(0, limit), total: Math.max(flips.length, pointer.sequence) };
}

async function readNotes(store: ObjectStore, game: string, releaseIds: readonly string[]): Promise<Map<string, string>> {
  const run = pLimit(16);
  const notes = new Map<string, string>();
  await Promise.all([...new Set(releaseIds)].map((id) => run(async () => {
    const key = keys.release(game, id);
    const object = await store.get(key);
    if (!object) return;
    const { releaseRecordCodec } = await import('../core/documents/release-record');
    const record = releaseRecordCodec.parse(object.body, { key });
    if (record.note) notes.set(id, record.note);
  })));
  return notes;
}

async function listReleases(io: CliIo, store: ObjectStore, game: string, channel: string | undefined, limit: number, json: boolean): Promise<number> {
  const pointers = await readChannelPointers(store, game);
  await requireKnownGame(store, game, pointers.length);
  const chosen = channel === undefined ? pointers : pointers.filter((p) => p.channel === channel);
  if (channel !== undefined && chosen.length === 0) {
    throw new UsageError(`--channel "${channel}" has no releases in game "${game}". `
      + (pointers.length > 0 ? `Channels with releases: ${pointers.map((p) => p.channel).join(', ')}.` : `The game has no released channel yet; publish with \`lup publish --game ${game} --channel ${channel}\`.`));
  }
  const histories: ChannelHistory[] = [];
  for (const pointer of chosen) {
    const { flips, total } = await readHistory(store, pointer, limit);
    const notes = await readNotes(store, game, flips.map((f) => f.releaseId));
    histories.push({
      channel: pointer.channel,
      current: { releaseId: pointer.releaseId, sequence: pointer.sequence },
      flips: flips.map((f) => ({
        sequence: f.sequence, releaseId: f.releaseId, cause: f.cause, at: f.at, current: f.sequence === pointer.sequence,
        ...(notes.has(f.releaseId) ? { note: notes.get(f.releaseId) } : {}),
        ...(f.candidate !== undefined ? { candidate: f.candidate, share: f.share } : {}),
      })),
      olderFlips: Math.max(0, total - flips.length),
    });
  }
  if (json) {
    printJson(io, { ok: true, game, channels: histories });
    return EXIT.ok;
  }
  if (histories.length === 0) {
    io.stdout(`Game ${game} has no released channel yet; publish with \`lup publish --game ${game} --channel <name>\`.\n`);
    return EXIT.ok;
  }
  const blocks = histories.map((h) => {
    const rows = [['', 'SEQ', 'RELEASE', 'CAUSE', 'AT', 'NOTE'], ...h.flips.map((f) => [f.current ? '*' : '', String(f.sequence), f.releaseId, f.cause, f.at, [f.candidate !== undefined ? `candidate ${f.candidate} at ${(f.share ?? 0) / 100} %` : '', f.note ?? ''].filter(Boolean).join('; ')])];
    const lines = [`Channel ${h.channel} of game ${game}: release ${h.current.releaseId} (sequence ${h.current.sequence})`, ...formatTable(rows, '  ')];
    if (h.olderFlips > 0) lines.push(`  … ${h.olderFlips} older flip(s); raise --limit to see them`);
    return lines.join('\n');
  });
  io.stdout(`${blocks.join('\n\n')}\n`);
  return EXIT.ok;
}

registerCommand((program, io, state) => {
  const command = program
    .command('releases')
    .description('List the release history of each channel of a game, newest first, marking the current release.')
    .requiredOption('--game <id>', 'game id (e.g. space-game)')
    .option('--channel <name>', 'only this channel. Default: every channel of the game')
    .option('--limit <n>', 'flips to list per channel, newest first', String(DEFAULT_LIMIT))
    .option('--json', 'print the histories as JSON on stdout');
  addTargetOptions(command);
  command.addHelpText('after', HELP);
  command.action(async (options: ReleasesOptions) => {
    const game = requireId('--game', options.game, 'space-game');
    const channel = options.channel === undefined ? undefined : requireId('--channel', options.channel, 'stable');
    const limit = parsePositiveInteger('--limit', options.limit, 10_000);
    const json = options.json === true;
    try {
      state.exitCode = await withTarget(options, io, (target) => listReleases(io, target.store, game, channel, limit, json));
    } catch (error) {
      state.exitCode = reportFailure(io, json, error);
    }
  });
});
