/**
 * `lup publish`: publish zips or a loose folder through the verifying pipeline and wait for the verdict.
 */
import { performance } from 'node:perf_hooks';
import { formatError, lupError, type LupError } from '../core/errors';
import type { PublishPlan } from '../publisher/plan';
import { isValidId } from '../core/keys';
import { EXIT, UsageError } from './io';
import { parsePositiveInteger } from './operator-support';
import { registerCommand } from './program';
import { readPublicKeyOption } from './validate-command';
import { addTargetOptions, openTarget, resolvePath, targetConfig, type Target, type TargetOptions } from './target';

interface PublishOptions extends TargetOptions {
  readonly game: string;
  readonly channel: string;
  readonly concurrency: string;
  readonly timeout: string;
  readonly note?: string;
  readonly publicKey?: string;
  readonly check: boolean;
  readonly json?: boolean;
}

/**
 * Ctrl-C (SIGINT) during a publish: say what was sent and that re-running resumes, then exit 130
 * as a shell expects. Returns the function that stops listening.
 */
function onInterrupt(report: () => void): () => void {
  const handler = (): void => {
    report();
    process.exit(130);
  };
  process.once('SIGINT', handler);
  return () => process.off('SIGINT', handler);
}

/** Development mode: the pipeline's own pin rule on every manifest the plan would publish. */
async function checkDevelopmentPin(target: Target, game: string, plan: PublishPlan): Promise<LupError[]> {
  const pin = await target.developmentPin?.(game);
  if (!pin) return [];
  const [{ readPlannedManifests }, { checkPin }] = await Promise.all([import('../publisher/plan'), import('../core/pipeline/game-policy')]);
  return (await readPlannedManifests(plan)).flatMap(({ file, manifest }) =>
    checkPin({ game, pin, policy: {} }, manifest).map((e) => lupError({ ...e.toJSON(), location: { ...e.location, file } })));
}

registerCommand((program, io, state) => {
  const command = program
    .command('publish')
    .description('Publish LiveUpdate content: upload zip archives (engine 1.5+) or a loose folder (manifest + hex-named resources) to staging, let the pipeline verify every byte, and make it live on a channel.')
    .argument('<path...>', 'zip archive(s) in mount order (first = highest priority), or one folder with its manifest (liveupdate.game.dmanifest, or one other *.dmanifest) and its resources')
    .requiredOption('--game <id>', 'game id, as in the studio configuration (lowercase)')
    .requiredOption('--channel <name>', 'channel to release to, e.g. stable or beta')
    .option('--concurrency <n>', 'uploads in flight at once', '32')
    .option('--timeout <seconds>', 'how long to wait for the pipeline to release', '300')
    .option('--note <text>', 'note kept in the release history, e.g. the CI build number')
    .option('--public-key <file>', 'development mode only: the game.public.der (or PEM) to pin at the game\'s first release')
    .option('--no-check', 'skip the local check of the content (format, digests and, with a studio configuration, the game\'s project, key and engines; it reads every byte: a loose folder before uploading, an archive while it uploads, its last bytes held until it passes). The pipeline still verifies everything, and in development mode the development-mode pin is still checked (it reads one small document and refuses another project before a byte is sent)')
    .option('--json', 'print one JSON document instead of text; no progress bar');
  addTargetOptions(command);
  command.addHelpText('after', `
Examples:
  # Publish the bundled sample through the embedded local stack (no setup needed)
  $ lup publish examples/sample-game/v1/sample.zip --game sample --channel stable

  # Publish to a deployed studio stack (credentials from the environment / profile)
  $ lup publish build/liveupdate_output/resources.zip --game space-game --channel beta \\
      --endpoint https://s3.eu-west-1.amazonaws.com --bucket <BucketName> --cdn https://<CdnBaseUrl>/

  # A loose folder (engines <= 1.4, or a 1.5+ folder mount)
  $ lup publish build/liveupdate_output/ --game space-game --channel stable --endpoint http://127.0.0.1:4569

In development mode (a lup local without --config, or the embedded stack), a game's first release
pins its Defold project (and --public-key); later publishes read the pin first and refuse content
from another project before sending a byte (PINNED_PROJECT_MISMATCH), with or without --no-check:
the pipeline would refuse that content anyway, after the whole upload.

Exit codes: 0 live, 1 refused or not released in time (each error listed), 2 bad usage.`);
  command.action(async (paths: string[], options: PublishOptions) => {
    for (const [flag, value] of [['--game', options.game], ['--channel', options.channel]] as const) {
      if (!isValidId(value)) throw new UsageError(`${flag} "${value}" must be a lowercase id (letters, digits, "-", "_", "."), e.g. ${flag === '--game' ? 'space-game' : 'stable'}.`);
    }
    const concurrency = parsePositiveInteger('--concurrency', options.concurrency, 256);
    const timeoutMs = parsePositiveInteger('--timeout', options.timeout, 86_400) * 1000;
    const publicKey = options.publicKey
      ? (await readPublicKeyOption(options.publicKey, io.cwd)).export({ format: 'der', type: 'spki' }).toString('base64')
      : undefined;
    const planStarted = performance.now();
    // With a studio configuration, the local check applies the game's own rules (project, key, engines).
    const config = targetConfig(options, io);
    const game = config?.games.find((g) => g.id === options.game);
    if (config && !game) throw new UsageError(`--game "${options.game}" is not in ${options.config}; its games: ${config.games.map((g) => g.id).join(', ')}.`);
    if (game && !game.publisherChannels.includes(options.channel)) {
      throw new UsageError(`--channel "${options.channel}" is not a publisher channel of ${game.id} (${game.publisherChannels.join(', ')}); publish there and \`lup promote\` with the operator role, or add it to publisherChannels in ${options.config}.`);
    }
    // Loaded on use: `lup --help` loads neither the manifest codec nor the AWS SDK.
    const [{ planPublish, readPlannedArchives }, { policyForGame }, { publishPlan, newUploadId, LocalCheckRefused }, { byteProgress }] = await Promise.all([
      import('../publisher/plan'), import('../core/format/policy'), import('../publisher/publish'), import('./progress'),
    ]);
    const policy = game ? policyForGame(game) : undefined;
    // Archives are read (hashed and checked) while they upload, their last bytes waiting for the
    // verdict; a loose folder is checked here, as its files are read for their digests anyway.
    const plan = await planPublish(paths.map((p) => resolvePath(io, p)), { precheck: options.check, policy, readArchivesLater: true });
    const plannedMs = Math.round(performance.now() - planStarted);
    const refuseLocally = (errors: readonly LupError[], headline: string): void => {
      state.exitCode = EXIT.invalid;
      if (options.json) io.stdout(`${JSON.stringify({ state: 'refused', phase: 'local-check', errors: errors.map((e) => e.toJSON()) }, null, 2)}\n`);
      else io.stderr(`✖ ${headline}\n${errors.map((e) => formatError(e.toJSON())).join('\n')}\n`);
    };
    if (plan.errors.length > 0) {
      refuseLocally(plan.errors, `refused before upload: ${plan.errors.length} problem(s) found by the local check (nothing was sent)`);
      return;
    }
    const archiveReading = plan.kind === 'archives' ? readPlannedArchives(plan, options.check ? policy ?? {} : undefined) : undefined;
    // Awaited by the publish; a publish stopped earlier (the pin check) must not leave it unhandled.
    archiveReading?.catch(() => undefined);
    if (!options.json && plan.customFiles.length > 0) io.stderr(`note: not published (not LiveUpdate resources): ${plan.customFiles.join(', ')}\n`);
    const target = await openTarget(options, io, 'publisher');
    const progress = byteProgress(io, !options.json);
    const upload = newUploadId();
    const sentSoFar = { objects: 0, objectsTotal: 0, bytes: 0, waiting: false };
    const stopListening = onInterrupt(() => {
      progress.stop();
      io.stderr(sentSoFar.waiting
        ? `\n✖ interrupted while waiting: everything was sent (upload ${upload}); the pipeline goes on and releases it if it verifies.\n  See: lup status --game ${options.game} --upload ${upload}\n`
        : `\n✖ interrupted: ${sentSoFar.objects} of ${sentSoFar.objectsTotal} object(s) (${(sentSoFar.bytes / 1_048_576).toFixed(1)} MB) were sent to staging/${options.game}/${upload}/; nothing was released and the channel is unchanged.\n  Run the same command again to resume: content the pipeline has already verified is not sent again.\n`);
    });
    try {
      // Development mode: the pipeline refuses content from another project than the game's pin
      // only once everything arrived; read the pin first and refuse before sending a byte.
      const pinErrors = await checkDevelopmentPin(target, options.game, plan);
      if (pinErrors.length > 0) {
        state.exitCode = EXIT.invalid;
        if (options.json) io.stdout(`${JSON.stringify({ state: 'refused', phase: 'pin-check', errors: pinErrors.map((e) => e.toJSON()) }, null, 2)}\n`);
        else io.stderr(`✖ refused before upload: game ${options.game} is pinned to another project by its first release (nothing was sent)\n${pinErrors.map((e) => formatError(e.toJSON())).join('\n')}\n`);
        return;
      }
      if (!options.json) io.stderr(`Publishing ${plan.kind === 'archives' ? `${plan.archives.length} archive(s)` : `${plan.resources.length} resource(s) and a manifest`} to ${options.game}/${options.channel} via ${target.description}\n`);
      let result: Awaited<ReturnType<typeof publishPlan>>;
      try {
        result = await publishPlan({
          target, plan, upload, game: options.game, channel: options.channel, concurrency, timeoutMs, note: options.note, publicKey, archiveReading,
          onProgress: (p) => {
            Object.assign(sentSoFar, { objects: p.objectsDone, objectsTotal: p.objectsTotal, bytes: p.loadedBytes, waiting: p.phase === 'waiting' });
            progress.update(p.loadedBytes, p.totalBytes, p.phase === 'uploading' ? `upload ${p.objectsDone}/${p.objectsTotal}` : 'verifying');
          },
        });
      } catch (error) {
        if (!(error instanceof LocalCheckRefused)) throw error;
        progress.stop();
        refuseLocally(error.errors, `refused: ${error.errors.length} problem(s) found by the local check while uploading (the upload was stopped before its last bytes: nothing was stored)`);
        return;
      }
      progress.stop();
      state.exitCode = result.state === 'live' ? EXIT.ok : result.state === 'verified' ? EXIT.ok : EXIT.invalid;
      if (options.json) {
        io.stdout(`${JSON.stringify({ ...result, timings: { plannedMs, ...result.timings } }, null, 2)}\n`);
        return;
      }
      const sent = `${result.uploaded.objects} object(s), ${(result.uploaded.bytes / 1_048_576).toFixed(1)} MB sent; ${result.skipped.objects} already published`;
      if (result.state === 'live') {
        io.stdout(`✔ live: release ${result.releaseId} on ${result.game}/${result.channel} (sequence ${result.sequence})\n  pointer: ${result.pointerUrl ?? result.pointerPath}\n  ${sent}\n`);
        if (target.embedded) io.stdout(`  serve it: npx lup local   (then fetch ${result.pointerUrl})\n`);
      } else if (result.state === 'timeout' || result.state === 'pending') {
        io.stderr(`✖ not released ${result.state === 'timeout' ? `within ${timeoutMs / 1000} s` : '(the pipeline is waiting)'}: upload ${result.upload}${result.missing?.length ? `, missing ${result.missing.join(', ')}` : ''}\n  see: lup status --game ${result.game} --upload ${result.upload}\n`);
      } else {
        io.stderr(`✖ ${result.state}: upload ${result.upload} was not released; the channel is unchanged\n${result.errors.map((e) => formatError(e)).join('\n')}\n`);
      }
    } finally {
      stopListening();
      progress.stop();
      await target.close();
    }
  });
});
