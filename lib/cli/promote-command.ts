/**
 * `lup promote`: point a channel at the release another channel serves, through the same
 * compare-and-swap flip as a release.
 */
import { keys } from '../core/keys';
import { EXIT, UsageError } from './io';
import { forced, newRequestId, printJson, reportFailure, requireId, withTarget } from './operator-support';
import { registerCommand } from './program';
import { addTargetOptions, type TargetOptions } from './target';

interface PromoteOptions extends TargetOptions {
  readonly game: string;
  readonly from: string;
  readonly to: string;
  readonly requestId?: string;
  readonly force?: string;
  readonly createChannel?: boolean;
  readonly json?: boolean;
}

const HELP = `
The release --from serves now becomes live on --to: one PUT of the --to pointer, made conditional on
the pointer read (a concurrent release or rollback on --to is never lost; one of them retries on
fresh state). The --to sequence grows by one. Nothing is uploaded or verified again: the content is
already verified and immutable.

The target release is checked against the game's rules as they are now (public key, engine versions,
project): a release from before a key rotation or an engine narrowing is refused, naming the rule,
unless --force "<reason>" is given; the reason is kept in the channel's history.

In development mode (no studio configuration) every channel name is valid, so a mistyped --to
would become a new channel: --to must already have a release, unless --create-channel is given.
A --from or --to that does not exist is refused with CHANNEL_UNKNOWN naming the closest existing
channel (--from is checked first). With a configuration, the configured channels exist.

Exit codes: 0 promoted; 1 refused (a rule of the game's current configuration, e.g. MANIFEST_ENGINE_UNSUPPORTED; CHANNEL_EMPTY: --from exists (configured) but has no release yet;
RELEASE_INCOMPLETE: garbage collection removed the content of the release --from serves; CHANNEL_UNKNOWN; GAME_UNKNOWN);
2 bad usage.

Examples:
  $ lup promote --game space-game --from beta --to stable
      on the embedded local stack (.lup)
  $ lup promote --game space-game --from beta --to stable --endpoint https://s3.eu-west-1.amazonaws.com \\
      --bucket studio-content-1a2b --control-function studio-control-9z8y
      on a deployed stack, through its control function, with the operator role's credentials
  $ lup promote --game space-game --from beta --to stable --request-id ci-4711 --json
      retry-safe: running it again with the same --request-id does not flip twice`;

registerCommand((program, io, state) => {
  const command = program
    .command('promote')
    .description('Make the release one channel serves live on another channel (e.g. beta to stable).')
    .requiredOption('--game <id>', 'game id (e.g. space-game)')
    .requiredOption('--from <channel>', 'channel whose current release is promoted (e.g. beta)')
    .requiredOption('--to <channel>', 'channel that will serve it (e.g. stable)')
    .option('--force <reason>', "serve the release even though the game's current rules refuse it (key, engine versions, project); the reason is kept in the channel history")
    .option('--create-channel', 'development mode: let --to be a channel that has no release yet (it is created by this promote). Default: refuse it, naming the closest existing channel')
    .option('--request-id <id>', 'identifies this operation, so that a retry with the same id is applied once. Default: a fresh id')
    .option('--json', 'print the new pointer state as JSON on stdout');
  addTargetOptions(command, { control: true });
  command.addHelpText('after', HELP);
  command.action(async (options: PromoteOptions) => {
    const game = requireId('--game', options.game, 'space-game');
    const from = requireId('--from', options.from, 'beta');
    const to = requireId('--to', options.to, 'stable');
    if (from === to) throw new UsageError(`--from and --to are both "${from}": name two different channels, for example --from beta --to stable.`);
    const requestId = options.requestId ?? newRequestId();
    const json = options.json === true;
    try {
      const response = await withTarget(options, io, (target) => target.control({ action: 'promote', game, from, to, requestId, ...forced(options.force), ...(options.createChannel ? { createChannel: true } : {}) }));
      if (response.action === 'gc') throw new Error('the control entry answered a promote with a gc report');
      const { pointer, applied } = response.flip;
      const previous = pointer.history.find((h) => h.sequence < pointer.sequence)?.releaseId;
      if (json) {
        printJson(io, {
          ok: true, action: 'promote', game, from, to, releaseId: pointer.releaseId, sequence: pointer.sequence,
          previousReleaseId: previous ?? null, applied, requestId, pointerPath: keys.pointer(game, to),
        });
      } else {
        io.stdout(`${applied ? 'Promoted' : 'Already promoted (same --request-id)'}: release ${pointer.releaseId} of game ${game} from ${from} to ${to}; ${to} is at sequence ${pointer.sequence}${previous ? ` (was ${previous})` : ''}.\n`);
      }
      state.exitCode = EXIT.ok;
    } catch (error) {
      state.exitCode = reportFailure(io, json, error);
    }
  });
});
