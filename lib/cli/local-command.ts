/**
 * `lup local`: run the embedded local stack (S3 with conditional writes, the pipeline, the local
 * CDN) until Ctrl-C. Data persists in the data folder.
 */
import { isValidId } from '../core/keys';
import type { LogEvent } from '../core/pipeline/context';
import { DEVELOPMENT_AUTO_RELEASE_CHANNEL } from '../core/pipeline/game-policy';
import { DEFAULT_CDN_PORT, DEFAULT_DATA_DIR, DEFAULT_S3_PORT, LOCAL_BUCKET } from '../local/defaults';
import { LOCAL_OPERATOR_CREDENTIALS, LOCAL_PUBLISHER_CREDENTIALS } from '../local/request-auth';
import { UsageError } from './io';
import { loadStudioConfig } from './load-config';
import { registerCommand } from './program';
import { resolvePath } from './target';

interface LocalOptions {
  readonly dataDir: string;
  readonly s3Port: string;
  readonly cdnPort: string;
  readonly host: string;
  readonly config?: string;
  readonly editorChannel?: string;
  readonly json?: boolean;
  readonly quiet?: boolean;
}

function port(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`${flag} "${value}" is not a port number (0-65535; 0 picks a free one).`);
  return n;
}

/** Which flag's port is taken, and the way out. */
function portInUseMessage(error: { port?: number }, options: LocalOptions): string {
  const flag = error.port === Number(options.cdnPort) ? '--cdn-port' : '--s3-port';
  return `port ${error.port ?? '?'} (${flag}) is in use on 127.0.0.1; is another \`lup local\` running? Pass another ${flag}, or ${flag} 0 for a free one.`;
}

registerCommand((program, io) => {
  program
    .command('local')
    .description('Run the embedded local stack: an S3 endpoint with real conditional writes, the verifying pipeline on every upload, and a local CDN serving content/ and channels/ with the production headers. Stops with Ctrl-C; data persists.')
    .option('--data-dir <dir>', 'folder for the stack\'s data (S3 objects)', DEFAULT_DATA_DIR)
    .option('--s3-port <port>', 'S3 endpoint port (0 = any free port)', String(DEFAULT_S3_PORT))
    .option('--cdn-port <port>', 'local CDN port (0 = any free port)', String(DEFAULT_CDN_PORT))
    .option('--host <address>', 'interface the S3 endpoint and the CDN listen on; anything but loopback exposes them to your network (the publisher key is public)', '127.0.0.1')
    .option('--config <file>', 'studio configuration (JSON, the same file the CDK stack uses). Default: development mode, any game id, the first release pins the project')
    .option('--editor-channel <name>', `development mode: the channel Defold editor uploads (staging/<game>/editor/) are released to, at once, replacing what it serves (also after a rollback). Default: ${DEVELOPMENT_AUTO_RELEASE_CHANNEL}. With --config, each game's autoReleaseChannel decides instead`)
    .option('--json', 'print one JSON line {"s3": "...", "cdn": "..."} when ready, and log events as JSON lines')
    .option('--quiet', 'print no pipeline events')
    .addHelpText('after', `
Examples:
  $ lup local
  $ lup local --editor-channel dev            # editor builds go to "dev"; "stable" moves only by publish/promote/rollback
  $ lup local --config examples/studio.json --data-dir /tmp/lup-data --s3-port 0 --cdn-port 0 --json

Then, from another terminal:
  $ lup publish examples/sample-game/v1/sample.zip --game sample --channel stable --endpoint http://127.0.0.1:${DEFAULT_S3_PORT}
  $ curl http://127.0.0.1:${DEFAULT_CDN_PORT}/channels/sample/stable.json
Every request must be signed (SigV4), path-style. Credentials for other S3 tools (aws-cli, rclone, the Defold editor):
  publisher (stage under staging/<game>/, read status/, list content/ and status/): ${LOCAL_PUBLISHER_CREDENTIALS.accessKeyId} / ${LOCAL_PUBLISHER_CREDENTIALS.secretAccessKey}
  operator (everything; what lup status/promote/rollback/gc use): ${LOCAL_OPERATOR_CREDENTIALS.accessKeyId} / ${LOCAL_OPERATOR_CREDENTIALS.secretAccessKey}
Defold editor builds (its Amazon publisher's requests, signed with the publisher key): bucket ${LOCAL_BUCKET}, prefix
staging/<game>/editor; each build is released to the editor channel once its manifest and resources are verified.`)
    .action(async (options: LocalOptions) => {
      if (options.editorChannel !== undefined) {
        if (options.config) throw new UsageError(`--editor-channel "${options.editorChannel}" cannot be combined with --config: with a studio configuration, editor uploads go to each game's autoReleaseChannel. Set it there, or drop --config.`);
        if (!isValidId(options.editorChannel)) throw new UsageError(`--editor-channel "${options.editorChannel}" is not a channel name (lowercase letters, digits, "-", "_" or ".", at most 63 characters), e.g. --editor-channel dev.`);
      }
      const config = options.config ? loadStudioConfig(resolvePath(io, options.config)) : undefined;
      if (!/^(127\.\d+\.\d+\.\d+|::1|localhost)$/.test(options.host)) {
        io.stderr(`warning: --host ${options.host} exposes the local S3 endpoint and CDN beyond this machine; the publisher key is public, so anyone who can reach port ${options.s3Port} can stage content.\n`);
      }
      const log = (event: LogEvent): void => {
        if (options.quiet) return;
        if (options.json) io.stderr(`${JSON.stringify({ ...event, time: new Date().toISOString() })}\n`);
        else io.stderr(`[${event.step}] ${event.level === 'info' ? '' : `${event.level.toUpperCase()} `}${event.game ? `${event.game}${event.upload ? `/${event.upload}` : ''}: ` : ''}${event.code ? `${event.code} ` : ''}${event.message}\n`);
      };
      const { startPipelineStack } = await import('../local/pipeline-stack');
      let stack;
      try {
        stack = await startPipelineStack({
          dataDir: resolvePath(io, options.dataDir),
          s3Port: port('--s3-port', options.s3Port),
          cdnPort: port('--cdn-port', options.cdnPort),
          host: options.host,
          config,
          editorChannel: options.editorChannel,
          command: 'lup local',
          log,
          onDeadLetter: (d) => log({ level: 'error', step: d.step, key: d.key, message: `gave up after ${d.attempts} attempts: ${d.message}` }),
        });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new UsageError(portInUseMessage(error as { port?: number }, options));
        throw error;
      }
      if (options.json) io.stdout(`${JSON.stringify({ s3: stack.s3Endpoint, cdn: stack.cdnBaseUrl, bucket: stack.bucket })}\n`);
      else {
        io.stdout(`Local stack ready (${config ? `studio "${config.studio}"` : 'development mode'}; data in ${resolvePath(io, options.dataDir)})\n`);
        io.stdout(`  S3 endpoint: ${stack.s3Endpoint}  bucket ${stack.bucket}  (signed requests only, path-style)\n`);
        io.stdout(`    publisher key ${LOCAL_PUBLISHER_CREDENTIALS.accessKeyId} / ${LOCAL_PUBLISHER_CREDENTIALS.secretAccessKey}   operator key ${LOCAL_OPERATOR_CREDENTIALS.accessKeyId} / ${LOCAL_OPERATOR_CREDENTIALS.secretAccessKey}\n`);
        io.stdout(`  CDN:         ${stack.cdnBaseUrl}\n  Ctrl-C stops it.\n`);
        // Said loudly: an editor build silently undoing a deliberate rollback surprised a user (issue 11).
        if (!config) {
          const channel = options.editorChannel ?? DEVELOPMENT_AUTO_RELEASE_CHANNEL;
          io.stdout(`  Note: development mode. Editor uploads (staging/<game>/editor/) release to the channel "${channel}" at once, replacing what it serves, also after a \`lup rollback\`. ${options.editorChannel ? '' : 'Pass --editor-channel <name> to release them elsewhere, or --config to use each game\'s autoReleaseChannel.'}\n`);
        }
      }
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          resolve();
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      if (!options.json) io.stderr('Stopping: finishing events in flight...\n');
      await stack.stop();
      if (!options.json) io.stderr('Stopped; data kept.\n');
    });
});
