/**
 * `lup rollout start|set|halt|complete|abort`: staged rollouts. Each is one flip of the channel
 * pointer through the same compare-and-swap as a release, with its own sequence and history entry
 * (cause `rollout-<op>`); the players' side needs nothing but the pointer (docs/design.md, "Staged
 * rollouts").
 */
import type { Command } from 'commander';
import { keys } from '../core/keys';
import type { ControlRequest, RolloutOp } from '../core/pipeline/control';
import { EXIT, UsageError } from './io';
import { forced, newRequestId, printJson, reportFailure, requireId, withTarget } from './operator-support';
import { registerCommand } from './program';
import { addTargetOptions, type TargetOptions } from './target';

interface RolloutOptions extends TargetOptions {
  readonly game: string;
  readonly channel: string;
  readonly release?: string;
  readonly percent?: string;
  readonly requestId?: string;
  readonly force?: string;
  readonly json?: boolean;
}

/** `--percent` (0.01 to 100, at most two decimals) in basis points, or a usage error naming the flag. */
export function parsePercent(value: string | undefined): number {
  if (value === undefined) throw new UsageError('--percent is required, for example --percent 1 (or 0.5, or 100).');
  const match = /^(\d{1,3})(?:\.(\d{1,2}))?$/.exec(value.trim());
  const basisPoints = match ? Number(match[1]) * 100 + Number((match[2] ?? '').padEnd(2, '0')) : NaN;
  if (!match || basisPoints < 1 || basisPoints > 10_000) {
    throw new UsageError(`--percent "${value}" is not a share of installs from 0.01 to 100 with at most two decimals, for example --percent 1 or --percent 12.5.`);
  }
  return basisPoints;
}

const COMMON_HELP = `
Every operation is one conditional PUT of the channel pointer (a concurrent release, promotion or
rollout operation is never lost; one of them retries on fresh state). The sequence grows by one and
the channel history records the operation (cause rollout-<op>) with the candidate and the share.
Games with the client kit take the candidate when the rollout is active and their install's bucket,
FNV-1a-32(salt ":" installId) mod 10000, is below the share in basis points; one rollout per channel.

Exit codes: 0 done; 1 refused (ROLLOUT_REFUSED: a rollout already runs, none runs, or the share does
not widen; a rule of the game's current configuration, e.g. MANIFEST_ENGINE_UNSUPPORTED;
RELEASE_NOT_FOUND; RELEASE_INCOMPLETE: garbage collection removed the candidate's content; CHANNEL_EMPTY; CHANNEL_UNKNOWN; GAME_UNKNOWN); 2 bad usage.`;

const HELP: Record<RolloutOp, { description: string; text: string }> = {
  start: {
    description: 'Start serving a release to a share of installs on a channel, beside the release it serves.',
    text: `
The channel keeps serving its release to everyone else; --release (published to any channel of the
game, see \`lup releases\`) goes to --percent of installs, drawn anew for this rollout (a new salt).
Its content is taken back from garbage collection and checked against the game's rules as they are
now (public key, engine versions, project) like a promotion: refused naming the rule unless
--force "<reason>" is given; the reason is kept in the channel's history.
${COMMON_HELP}

Examples:
  $ lup rollout start --game space-game --channel stable --release build-1041 --percent 1
      1 % of installs take build-1041 (embedded local stack in .lup)
  $ lup rollout start --game space-game --channel stable --release build-1041 --percent 0.5 \\
      --endpoint https://s3.eu-west-1.amazonaws.com --bucket studio-content-1a2b --control-function studio-control-9z8y --json`,
  },
  set: {
    description: 'Widen a rollout to a larger share of installs (or resume a halted one).',
    text: `
A rollout only widens: installs that took the candidate keep it, more installs join. A share at or
below the current one is refused (halt stops new installs joining; abort takes the candidate back
from everyone). On a halted rollout, set resumes it at a share of at least the halted one.
${COMMON_HELP}

Examples:
  $ lup rollout set --game space-game --channel stable --percent 10
  $ lup rollout set --game space-game --channel stable --percent 50 --request-id ci-4712 --json`,
  },
  halt: {
    description: 'Stop a rollout reaching more installs; installs that have the candidate keep it.',
    text: `
Use it at the first crash report: no install takes the candidate any more, those that have it keep it
(they do not change release under the player) until you complete or abort the rollout.
${COMMON_HELP}

Examples:
  $ lup rollout halt --game space-game --channel stable
  $ lup rollout halt --game space-game --channel stable --json`,
  },
  complete: {
    description: "Make a rollout's candidate the channel's release for everyone.",
    text: `
The candidate becomes the release of the channel (as a promotion would make it) and the rollout ends.
The candidate is checked against the game's rules as they are now; --force "<reason>" overrides.
${COMMON_HELP}

Examples:
  $ lup rollout complete --game space-game --channel stable
  $ lup rollout complete --game space-game --channel stable --json`,
  },
  abort: {
    description: 'End a rollout: every install goes back to the release the channel serves.',
    text: `
The rollout block leaves the pointer; installs that had the candidate return to the channel's release
at their next check (at the new, higher sequence: clients never go to a lower one).
${COMMON_HELP}

Examples:
  $ lup rollout abort --game space-game --channel stable
  $ lup rollout abort --game space-game --channel stable --json`,
  },
};

const VERBS: Record<RolloutOp, string> = { start: 'Rollout started', set: 'Rollout widened', halt: 'Rollout halted', complete: 'Rollout completed', abort: 'Rollout aborted' };

function addRolloutCommand(parent: Command, op: RolloutOp, io: Parameters<Parameters<typeof registerCommand>[0]>[1], state: { exitCode: number }): void {
  const command = parent.command(op).description(HELP[op].description)
    .requiredOption('--game <id>', 'game id (e.g. space-game)')
    .requiredOption('--channel <name>', 'channel of the rollout (e.g. stable)');
  if (op === 'start') command.requiredOption('--release <id>', 'release to roll out (e.g. build-1041; see lup releases)');
  if (op === 'start' || op === 'set') command.requiredOption('--percent <share>', 'share of installs that take the release, 0.01 to 100 (e.g. 1, 12.5)');
  if (op === 'start' || op === 'set' || op === 'complete') {
    command.option('--force <reason>', "serve the release even though the game's current rules refuse it (key, engine versions, project); the reason is kept in the channel history");
  }
  command
    .option('--request-id <id>', 'identifies this operation, so that a retry with the same id is applied once. Default: a fresh id')
    .option('--json', 'print the new channel state as JSON on stdout');
  addTargetOptions(command, { control: true });
  command.addHelpText('after', HELP[op].text);
  command.exitOverride().configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  command.action(async (options: RolloutOptions) => {
    const game = requireId('--game', options.game, 'space-game');
    const channel = requireId('--channel', options.channel, 'stable');
    const release = op === 'start' ? requireId('--release', options.release, 'build-1041') : undefined;
    const share = op === 'start' || op === 'set' ? parsePercent(options.percent) : undefined;
    const requestId = options.requestId ?? newRequestId();
    const json = options.json === true;
    const request: ControlRequest = {
      action: 'rollout', op, game, channel, requestId,
      ...(release ? { release } : {}), ...(share !== undefined ? { share } : {}), ...(op === 'start' || op === 'set' || op === 'complete' ? forced(options.force) : {}),
    };
    try {
      const response = await withTarget(options, io, (target) => target.control(request));
      if (response.action !== 'rollout') throw new Error(`the control entry answered a rollout ${op} with a ${response.action} response`);
      const { pointer, applied, sequence } = response.flip;
      const entry = pointer.history.find((h) => h.sequence === sequence);
      const rollout = pointer.rollout;
      const candidate = entry?.candidate ?? rollout?.releaseId ?? null;
      if (json) {
        printJson(io, {
          ok: true, action: 'rollout', op, game, channel, sequence, applied, requestId,
          releaseId: entry?.releaseId ?? pointer.releaseId, candidateReleaseId: candidate,
          rollout: rollout ? { releaseId: rollout.releaseId, share: rollout.share, percent: rollout.share / 100, state: rollout.state, startedSequence: rollout.startedSequence } : null,
          ...(entry?.reason ? { reason: entry.reason } : {}), pointerPath: keys.pointer(game, channel),
        });
      } else {
        const what = applied ? VERBS[op] : `${VERBS[op]} already (same --request-id)`;
        const now = rollout
          ? `release ${rollout.releaseId} to ${rollout.share / 100} % of installs (${rollout.state}), release ${pointer.releaseId} to the others`
          : `release ${pointer.releaseId} to every install, no rollout`;
        io.stdout(`${what}: channel ${channel} of game ${game} serves ${now}; sequence ${sequence}.\n`);
      }
      state.exitCode = EXIT.ok;
    } catch (error) {
      state.exitCode = reportFailure(io, json, error);
    }
  });
}

registerCommand((program, io, state) => {
  const rollout = program
    .command('rollout')
    .description('Staged rollouts: serve a release to a share of installs, widen, halt, complete or abort.')
    .addHelpText('after', `
Examples:
  $ lup rollout start --game space-game --channel stable --release build-1041 --percent 1
  $ lup rollout set --game space-game --channel stable --percent 10
  $ lup rollout halt --game space-game --channel stable
  $ lup rollout complete --game space-game --channel stable
  $ lup rollout abort --game space-game --channel stable
Run "lup rollout <start|set|halt|complete|abort> --help" for each operation's options.`);
  for (const op of ['start', 'set', 'halt', 'complete', 'abort'] as const) addRolloutCommand(rollout, op, io, state);
});
