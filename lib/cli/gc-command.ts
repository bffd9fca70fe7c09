/**
 * `lup gc`: garbage collection of a game's content: what no retained release references and what
 * is older than the retention age. A dry run unless `--apply`.
 */
import { SAFE_GC_GRACE_MINUTES } from '../core/config';
import type { GcReport } from '../core/pipeline/gc';
import { EXIT } from './io';
import { formatBytes, formatTable, printJson, reportFailure, requireId, withTarget } from './operator-support';
import { registerCommand } from './program';
import { addTargetOptions, type TargetOptions } from './target';

interface GcOptions extends TargetOptions {
  readonly game: string;
  readonly apply?: boolean;
  readonly json?: boolean;
}

const HELP = `
Two runs delete: --apply marks what is unreferenced, and a later --apply deletes what is still
marked and unreferenced once retention.gcGraceMinutes (default 60) have passed. A release that needs
marked content takes it back first, so a release going live while gc runs never loses its content.

Looked at: released content (content/<game>/) and verified content no release took yet
(state/<game>/_verified/, including the private copy of content a release has since published).
Kept: everything the last retention.releasesPerChannel releases of each channel reference (the
current ones included), every release younger than retention.minAgeDays, and every object younger
than retention.minAgeDays (an upload may still be on its way). Development mode (no --config) keeps
10 releases per channel and 7 days. To see gc work on \`lup local\`, give it (and this command) a
--config with "retention": { "releasesPerChannel": 1, "minAgeDays": 0, "gcGraceMinutes": 1 }: one
--apply marks what no retained release references, and another a minute later deletes it
(gcGraceMinutes is at least 1: with 0 a run would delete what a release flipping at that moment
has just claimed). Against a deployed stack with
gcGraceMinutes below ${SAFE_GC_GRACE_MINUTES} or minAgeDays below 1, gc warns: a release in flight could lose content. Garbage collection refuses to delete anything when a reference
cannot be read (GC_INCOMPLETE_VIEW): a missed reference would delete content a live game downloads.

Exit codes: 0 done (or nothing to do); 1 refused (GC_INCOMPLETE_VIEW, GAME_UNKNOWN); 2 bad usage.

Examples:
  $ lup gc --game space-game
      dry run: list what is unreferenced, with sizes (embedded local stack in .lup)
  $ lup gc --game space-game --apply
      mark it; the same command after the grace period deletes what is still unreferenced
  $ lup gc --game space-game --apply --endpoint https://s3.eu-west-1.amazonaws.com --bucket studio-content-1a2b \\
      --control-function studio-control-9z8y --json`;

registerCommand((program, io, state) => {
  const command = program
    .command('gc')
    .description("Delete a game's content that no retained release references, in two runs a grace period apart (a dry run unless --apply).")
    .requiredOption('--game <id>', 'game id (e.g. space-game)')
    .option('--apply', 'mark what the dry run lists, and delete what an earlier run marked at least the grace period ago. Default: only list it')
    .option('--json', 'print the report as JSON on stdout');
  addTargetOptions(command, { control: true });
  command.addHelpText('after', HELP);
  command.action(async (options: GcOptions) => {
    const game = requireId('--game', options.game, 'space-game');
    const apply = options.apply === true;
    const json = options.json === true;
    try {
      const { response, local } = await withTarget(options, io, async (target) => ({ response: await target.control({ action: 'gc', game, apply }), local: target.local }));
      if (response.action !== 'gc') throw new Error(`the control entry answered a gc with a ${response.action}`);
      const report = response.report;
      const unsafe = unsafeRetention(report);
      if (!local && unsafe) io.stderr(`warning: ${unsafe}\n`);
      if (json) {
        printJson(io, { ok: true, ...report });
      } else {
        io.stdout(`${describeGc(game, report).join('\n')}\n`);
      }
      state.exitCode = EXIT.ok;
    } catch (error) {
      state.exitCode = reportFailure(io, json, error);
    }
  });
});

/**
 * Why the retention gc ran with is unsafe on a deployed stack, or undefined. 0 is meant for
 * `lup local` (see RetentionConfig): there, nothing publishes while you collect.
 */
export function unsafeRetention(report: Pick<GcReport, 'graceMinutes' | 'minAgeDays'>): string | undefined {
  const problems: string[] = [];
  if (report.graceMinutes < SAFE_GC_GRACE_MINUTES) problems.push(`retention.gcGraceMinutes is ${report.graceMinutes}: a release takes up to ${SAFE_GC_GRACE_MINUTES} min from its content check to its flip, and may lose content gc deletes meanwhile`);
  if (report.minAgeDays < 1) problems.push(`retention.minAgeDays is ${report.minAgeDays}: content of an upload still on its way can be collected`);
  return problems.length > 0 ? `this stack's retention is meant for development only (lup local): ${problems.join('; ')}. Deploy it with gcGraceMinutes of at least ${SAFE_GC_GRACE_MINUTES} (default 60) and minAgeDays of at least 1 (default 7).` : undefined;
}

/** The human report of a gc run. */
function describeGc(game: string, report: GcReport): string[] {
  const where = `content/${game}/ and state/${game}/_verified/`;
  const grace = `${report.graceMinutes} min`;
  const lines: string[] = [];
  const table = (keysToList: readonly string[]) => {
    const size = new Map(report.unreferenced.map((o) => [o.key, o.sizeBytes]));
    return formatTable([['KEY', 'SIZE'], ...keysToList.map((k) => [k, size.has(k) ? formatBytes(size.get(k)!) : 'unknown'])], '    ');
  };
  if (report.unreferenced.length === 0 && report.deleted.length === 0) {
    lines.push(`Garbage collection of game ${game}${report.applied ? '' : ' (dry run)'}: nothing to collect; every object under ${where} is referenced by a retained release or younger than the retention age.`);
  } else if (!report.applied) {
    lines.push(`Garbage collection of game ${game} (dry run): ${report.unreferenced.length} unreferenced object(s), ${formatBytes(report.reclaimableBytes)}`);
    lines.push(...table(report.unreferenced.map((o) => o.key)));
  } else {
    lines.push(`Garbage collection of game ${game}: deleted ${report.deleted.length} object(s), marked ${report.marked.length}`);
    if (report.deleted.length > 0) lines.push(`  deleted (marked at least ${grace} ago and still unreferenced):`, ...table(report.deleted));
    if (report.marked.length > 0) lines.push(`  marked (deleted by a run after ${grace} if still unreferenced):`, ...table(report.marked));
  }
  lines.push(`  scanned ${report.scanned} object(s) under ${where}; ${report.referenced} key(s) referenced by the retained releases: ${report.retainedReleases.length > 0 ? [...report.retainedReleases].sort().join(', ') : 'none'}`);
  if (!report.applied && report.unreferenced.length > 0) lines.push(`Run again with --apply to mark them; a run with --apply after ${grace} deletes what is still unreferenced.`);
  return lines;
}
