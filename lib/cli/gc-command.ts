/**
 * `lup gc`: garbage collection of a game's content: what no retained release references and what
 * is older than the retention age. A dry run unless `--apply`.
 */
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
Kept: everything the last retention.releasesPerChannel releases of each channel reference (the
current ones included), every release younger than retention.minAgeDays, and every object younger
than retention.minAgeDays (an upload may still be on its way). Development mode (no --config) keeps
10 releases per channel and 7 days. Garbage collection refuses to delete anything when a reference
cannot be read (GC_INCOMPLETE_VIEW): a missed reference would delete content a live game downloads.

Exit codes: 0 done (or nothing to do); 1 refused (GC_INCOMPLETE_VIEW, GAME_UNKNOWN); 2 bad usage.

Examples:
  $ lup gc --game space-game
      dry run: list what would be deleted, with sizes (embedded local stack in .lup)
  $ lup gc --game space-game --apply
      delete it
  $ lup gc --game space-game --apply --endpoint https://s3.eu-west-1.amazonaws.com --bucket studio-content-1a2b \\
      --control-function studio-control-9z8y --json`;

registerCommand((program, io, state) => {
  const command = program
    .command('gc')
    .description("Delete a game's content that no retained release references (a dry run unless --apply).")
    .requiredOption('--game <id>', 'game id (e.g. space-game)')
    .option('--apply', 'delete what the dry run lists. Default: only list it')
    .option('--json', 'print the report as JSON on stdout');
  addTargetOptions(command, { control: true });
  command.addHelpText('after', HELP);
  command.action(async (options: GcOptions) => {
    const game = requireId('--game', options.game, 'space-game');
    const apply = options.apply === true;
    const json = options.json === true;
    try {
      const response = await withTarget(options, io, (target) => target.control({ action: 'gc', game, apply }));
      if (response.action !== 'gc') throw new Error(`the control entry answered a gc with a ${response.action}`);
      const report = response.report;
      if (json) {
        printJson(io, { ok: true, ...report });
      } else {
        const lines: string[] = [];
        const mode = report.applied ? '' : ' (dry run)';
        if (report.unreferenced.length === 0) {
          lines.push(`Garbage collection of game ${game}${mode}: nothing to delete; every object under content/${game}/ is referenced by a retained release or younger than the retention age.`);
        } else {
          lines.push(`Garbage collection of game ${game}${mode}: ${report.applied ? 'deleted' : 'would delete'} ${report.unreferenced.length} object(s), ${formatBytes(report.reclaimableBytes)}`);
          lines.push(...formatTable([['KEY', 'SIZE'], ...report.unreferenced.map((o) => [o.key, formatBytes(o.sizeBytes)])], '  '));
        }
        lines.push(`  scanned ${report.scanned} object(s) under content/${game}/; ${report.referenced} key(s) referenced by the retained releases: ${report.retainedReleases.length > 0 ? [...report.retainedReleases].sort().join(', ') : 'none'}`);
        if (!report.applied && report.unreferenced.length > 0) lines.push(`Run again with --apply to delete them.`);
        io.stdout(`${lines.join('\n')}\n`);
      }
      state.exitCode = EXIT.ok;
    } catch (error) {
      state.exitCode = reportFailure(io, json, error);
    }
  });
});
