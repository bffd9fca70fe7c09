/**
 * `lup verify`: download a live channel through the CDN as a game does and check every byte.
 */
import type { SingleBar as SingleBarType } from 'cli-progress';
import { formatError } from '../core/errors';
import type { VerifyChannelResponse, VerifyProgress } from '../client/verify-channel';
import { DEFAULT_VERIFY_CONCURRENCY } from '../client/verify-defaults';
import { CHANNEL_CACHE, CONTENT_CACHE } from '../http-policy';
import { EXIT, UsageError, type CliIo } from './io';
import { errorsToJson, formatBytes, parsePositiveInteger, printJson, requireId, withTarget } from './operator-support';
import { registerCommand } from './program';
import { addTargetOptions, type TargetOptions } from './target';

interface VerifyOptions extends TargetOptions {
  readonly game: string;
  readonly channel: string;
  readonly concurrency: string;
  readonly json?: boolean;
}

const HELP = `
What is checked, exactly as a player's download would see it (plain HTTP GETs, no S3 access):
  - the pointer channels/<game>/<channel>.json: its shape, and Cache-Control "${CHANNEL_CACHE.cacheControl}"
  - the manifest: SHA-256 and size as the pointer says; it decodes and passes the format rules
  - the stable manifest beside the pointer (engines <= 1.4 fetch it): the same bytes as the manifest
  - each archive: SHA-256 and size; every entry named by its digest; the manifest inside is the pointer's
  - during a staged rollout, the candidate release's manifest and archives the same way
  - loose releases: every EXCLUDED resource at <resourcesBase><hexdigest>, named by the digest of its payload
  - content is served with Cache-Control "${CONTENT_CACHE.cacheControl}"
Paths are resolved against --cdn, not against the pointer's url fields.

Exit codes: 0 everything matches; 1 something is missing or differs (each mismatch names the URL,
the expected and the actual value); 2 bad usage.

Examples:
  $ lup verify --game space-game --channel stable
      verify the embedded local stack's CDN (data in .lup)
  $ lup verify --game space-game --channel beta --cdn https://d111abcdef8.cloudfront.net/
      verify what players of a deployed stack download
  $ lup verify --game space-game --channel stable --endpoint http://127.0.0.1:4569 --json
      verify a running \`lup local\`, as JSON for CI`;

/** A progress line on stderr while objects are checked (only on a terminal). */
function progressBar(io: CliIo, SingleBar: typeof SingleBarType): { update(event: VerifyProgress): void; stop(): void } {
  const stream = { write: (text: string) => (io.stderr(text), true), isTTY: true, columns: 100 } as unknown as NodeJS.WriteStream;
  const bar = new SingleBar({
    stream,
    format: 'verifying {bar} {value}/{total} objects | {bytes} | {path}',
    hideCursor: true,
    clearOnComplete: true,
    fps: 10,
  });
  let started = false;
  return {
    update(event) {
      const payload = { bytes: formatBytes(event.bytesDownloaded), path: event.path };
      if (!started) {
        bar.start(event.totalObjects, event.checkedObjects, payload);
        started = true;
        return;
      }
      bar.setTotal(event.totalObjects);
      bar.update(event.checkedObjects, payload);
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

function printReport(io: CliIo, cdnBaseUrl: string, report: VerifyChannelResponse): void {
  const lines = [
    `Channel ${report.channel} of game ${report.game}, as served by ${cdnBaseUrl}`,
    `  pointer:  ${report.pointerUrl}`,
  ];
  if (report.releaseId !== undefined) lines.push(`  release:  ${report.releaseId} (sequence ${report.sequence}, ${report.kind})`);
  if (report.rollout) lines.push(`  rollout:  ${report.rollout.releaseId} to ${report.rollout.share / 100} % of installs (${report.rollout.state}); its objects were checked too`);
  lines.push(`  checked:  ${report.objectsChecked} object(s), ${formatBytes(report.bytesDownloaded)} downloaded`);
  if (report.retries > 0) lines.push(`  retried:  ${report.retries} transient failure(s) (HTTP 5xx/429 or a dropped connection), each got past by a retry`);
  if (report.ok) {
    lines.push('OK: every object is served with the digest, size and cache headers the pointer promises.');
    io.stdout(`${lines.join('\n')}\n`);
    return;
  }
  if (report.releaseId === undefined) {
    lines.push(`FAILED: the pointer could not be read (${report.mismatches.length} problem(s)); players of this channel get no release.`);
  } else {
    lines.push(`FAILED: ${report.mismatches.length} mismatch(es); players of this channel may get content the pipeline did not verify.`);
    lines.push(`  Roll back with \`lup rollback --game ${report.game} --channel ${report.channel}\`, or publish the release again.`);
  }
  io.stdout(`${lines.join('\n')}\n`);
  io.stderr(`${report.mismatches.map((m) => formatError(m.toJSON())).join('\n')}\n`);
}

registerCommand((program, io, state) => {
  const command = program
    .command('verify')
    .description("Download a live channel through the CDN as a game does, and check every byte against the pointer and its manifest.")
    .requiredOption('--game <id>', 'game id, as published (e.g. space-game)')
    .requiredOption('--channel <name>', 'channel to verify (e.g. stable)')
    .option('--concurrency <n>', `downloads in flight at once; each holds one 64 KiB chunk in memory, and archives are spooled to temporary files (up to <n> at once)`, String(DEFAULT_VERIFY_CONCURRENCY))
    .option('--json', 'print the report as JSON on stdout (no progress line)');
  addTargetOptions(command);
  command.addHelpText('after', HELP);
  command.action(async (options: VerifyOptions) => {
    const game = requireId('--game', options.game, 'space-game');
    const channel = requireId('--channel', options.channel, 'stable');
    const concurrency = parsePositiveInteger('--concurrency', options.concurrency, 256);
    const json = options.json === true;
    const run = async (cdnBaseUrl: string): Promise<void> => {
      const [{ verifyChannel }, { SingleBar }] = await Promise.all([import('../client/verify-channel'), import('cli-progress')]);
      const progress = io.isTTY && !json ? progressBar(io, SingleBar) : undefined;
      let report: VerifyChannelResponse;
      try {
        report = await verifyChannel({ cdnBaseUrl, game, channel, concurrency, onProgress: progress?.update });
      } finally {
        progress?.stop();
      }
      if (json) {
        printJson(io, {
          ok: report.ok, game, channel, cdnBaseUrl, pointerUrl: report.pointerUrl, releaseId: report.releaseId, sequence: report.sequence, ...(report.rollout ? { rollout: report.rollout } : {}),
          kind: report.kind, objectsChecked: report.objectsChecked, bytesDownloaded: report.bytesDownloaded, retries: report.retries, mismatches: errorsToJson(report.mismatches),
        });
      } else {
        printReport(io, cdnBaseUrl, report);
      }
      state.exitCode = report.ok ? EXIT.ok : EXIT.invalid;
    };
    if (options.cdn) {
      // Only the CDN is needed: no target (and no embedded stack) is opened.
      await run(options.cdn.endsWith('/') ? options.cdn : `${options.cdn}/`);
      return;
    }
    await withTarget(options, io, async (target) => {
      if (!target.cdnBaseUrl) {
        throw new UsageError(options.endpoint === 'aws'
          ? '--cdn is required with --endpoint aws: pass the CDK stack output CdnBaseUrl, for example --cdn https://d111abcdef8.cloudfront.net/.'
          : `--cdn is required: ${options.endpoint} did not say where its CDN is (it is not a running \`lup local\`, which answers /.well-known/lup-local.json). Pass the CDN players download from, for example --cdn http://127.0.0.1:4570/ or the CDK output CdnBaseUrl.`);
      }
      await run(target.cdnBaseUrl);
    });
  });
});
