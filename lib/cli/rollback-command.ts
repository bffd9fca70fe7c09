/**
 * `lup rollback`: point a channel back at an earlier release, through the same compare-and-swap
 * flip as a release. The sequence still grows, so clients and caches see a new pointer.
 */
import { keys } from '../core/keys';
import { EXIT } from './io';
import { forced, newRequestId, printJson, reportFailure, requireId, withTarget } from './operator-support';
import { registerCommand } from './program';
import { addTargetOptions, type TargetOptions } from './target';

interface RollbackOptions extends TargetOptions {
  readonly game: string;
  readonly channel: string;
  readonly to?: string;
  readonly requestId?: string;
  readonly force?: string;
  readonly json?: boolean;
}

const HELP = `
Without --to, the channel goes back to the release it served before the current one (see
\`lup releases\`). The flip is one conditional PUT of the pointer; its sequence grows by one (a
rollback is a new flip, never a rewind), and the CDN paths of the pointer are invalidated.

The target release is checked against the game's rules as they are now (public key, engine versions,
project): a release from before a key rotation or an engine narrowing is refused, naming the rule,
unless --force "<reason>" is given; the reason is kept in the channel's history.

Exit codes: 0 rolled back; 1 refused (a rule of the game's current configuration, e.g. MANIFEST_ENGINE_UNSUPPORTED; RELEASE_NOT_FOUND: no earlier release, or no such --to;
RELEASE_INCOMPLETE: garbage collection removed the release's content, so publish it again or pick another; CHANNEL_EMPTY: the channel has no release;
CHANNEL_UNKNOWN: no such channel, naming the closest existing one); 2 bad usage.

Examples:
  $ lup rollback --game space-game --channel stable
      back to the previous release (embedded local stack in .lup)
  $ lup rollback --game space-game --channel stable --to build-1040
      back to a named release; list them with \`lup releases --game space-game --channel stable\`
  $ lup rollback --game space-game --channel stable --endpoint https://s3.eu-west-1.amazonaws.com \\
      --bucket studio-content-1a2b --control-function studio-control-9z8y --json`;

registerCommand((program, io, state) => {
  const command = program
    .command('rollback')
    .description('Point a channel back at an earlier release (the previous one by default).')
    .requiredOption('--game <id>', 'game id (e.g. space-game)')
    .requiredOption('--channel <name>', 'channel to roll back (e.g. stable)')
    .option('--to <release>', 'release id to go back to. Default: the release the channel served before the current one')
    .option('--force <reason>', "serve the release even though the game's current rules refuse it (key, engine versions, project); the reason is kept in the channel history")
    .option('--request-id <id>', 'identifies this operation, so that a retry with the same id is applied once. Default: a fresh id')
    .option('--json', 'print the new pointer state as JSON on stdout');
  addTargetOptions(command, { control: true });
  command.addHelpText('after', HELP);
  command.action(async (options: RollbackOptions) => {
    const game = requireId('--game', options.game, 'space-game');
    const channel = requireId('--channel', options.channel, 'stable');
    const toRelease = options.to === undefined ? undefined : requireId('--to', options.to, 'build-1040');
    const requestId = options.requestId ?? newRequestId();
    const json = options.json === true;
    try {
      const response = await withTarget(options, io, (target) =>
        target.control({ action: 'rollback', game, channel, requestId, ...(toRelease ? { toRelease } : {}), ...forced(options.force) }));
      if (response.action === 'gc') throw new Error('the control entry answered a rollback with a gc report');
      const { pointer, applied } = response.flip;
      const previous = pointer.history.find((h) => h.sequence < pointer.sequence)?.releaseId;
      if (json) {
        printJson(io, {
          ok: true, action: 'rollback', game, channel, releaseId: pointer.releaseId, sequence: pointer.sequence,
          previousReleaseId: previous ?? null, applied, requestId, pointerPath: keys.pointer(game, channel),
        });
      } else {
        io.stdout(`${applied ? 'Rolled back' : 'Already rolled back (same --request-id)'}: channel ${channel} of game ${game} from ${previous ?? 'nothing'} to release ${pointer.releaseId}; sequence ${pointer.sequence}.\n`);
      }
      state.exitCode = EXIT.ok;
    } catch (error) {
      state.exitCode = reportFailure(io, json, error);
    }
  });
});
