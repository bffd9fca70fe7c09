/**
 * Where a command acts: a running S3 endpoint (`--endpoint`: `lup local`, or AWS), or, with no
 * endpoint, the embedded local stack started in-process over the project-local data folder.
 */
import type { Command } from 'commander';
import type { StudioConfig } from '../core/config';
import type { LupErrorData } from '../core/errors';
import type { ObjectStore } from '../core/ports';
import type { PipelineContext } from '../core/pipeline/context';
import type { GamePin } from '../core/pipeline/game-policy';
import type { ControlRequest, ControlResponse } from '../core/pipeline/control';
import { DEFAULT_CDN_PORT, DEFAULT_DATA_DIR, DEFAULT_S3_PORT, LOCAL_BUCKET } from '../local/defaults';
import type { PipelineStack } from '../local/pipeline-stack';
import type { S3Client } from '@aws-sdk/client-s3';
import { isAbsolute, join } from 'node:path';
import { UsageError, type CliIo } from './io';
import { loadStudioConfig } from './load-config';

/** The `--endpoint` value that means Amazon S3 itself. */
export const AWS_ENDPOINT = 'aws';

/** The target flags every bucket-facing command shares. */
export interface TargetOptions {
  readonly endpoint?: string;
  readonly bucket?: string;
  readonly region?: string;
  readonly dataDir?: string;
  readonly config?: string;
  readonly cdn?: string;
  readonly controlFunction?: string;
}

/** Add the target flags to a command. */
export function addTargetOptions(command: Command, options: { control?: boolean } = {}): Command {
  command
    .option('--endpoint <url>', 'S3 endpoint to act on: a running `lup local` (http://127.0.0.1:4569), "aws" for Amazon S3 (a deployed stack; credentials from the environment or profile), or another S3-compatible URL. Default: the embedded local stack, in-process')
    .option('--bucket <name>', `bucket of the studio stack (output BucketName of the CDK stack). Default: ${LOCAL_BUCKET} for local stacks`)
    .option('--region <region>', 'AWS region of the bucket. Default: AWS_REGION or your profile')
    .option('--data-dir <dir>', `data folder of the embedded local stack. Default: ${DEFAULT_DATA_DIR} in the current folder`)
    .option('--config <file>', 'studio configuration (JSON): the games\' rules for the local check, the embedded stack and operator commands against a lup local started with one. Default: development mode')
    .option('--cdn <url>', 'CDN base URL players download from (CDK output CdnBaseUrl). Default: the local CDN');
  if (options.control) {
    command.option('--control-function <name>', 'control Lambda of a deployed stack (output ControlFunctionName); operators invoke it with the operator role. Default: apply the operation directly through the S3 endpoint');
  }
  return command;
}

/** An open target. Close it when done (stops the embedded stack). */
export interface Target {
  readonly store: ObjectStore;
  readonly client: S3Client;
  readonly bucket: string;
  /** CDN base URL, ending in `/`, when known. */
  readonly cdnBaseUrl?: string;
  /** The embedded stack, when running in-process. */
  readonly embedded?: PipelineStack;
  /** A human description, e.g. "embedded local stack (.lup)". */
  readonly description: string;
  /** True for the embedded stack and a loopback endpoint (`lup local`); false for AWS and other endpoints. */
  readonly local: boolean;
  /**
   * Development mode only (a local stack without a studio configuration, the one place games are
   * pinned): read a game's pin, whatever role the command acts as. Undefined elsewhere.
   */
  readonly developmentPin?: (game: string) => Promise<GamePin | undefined>;
  control(request: ControlRequest): Promise<ControlResponse>;
  close(): Promise<void>;
}

function isLoopback(endpoint: string): boolean {
  try {
    const host = new URL(endpoint).hostname;
    return host === 'localhost' || host === '::1' || host === '[::1]' || host.startsWith('127.');
  } catch {
    return false;
  }
}

function withSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}

/** The studio configuration `--config` names, if any. */
export function targetConfig(options: TargetOptions, io: CliIo): StudioConfig | undefined {
  return options.config ? loadStudioConfig(resolvePath(io, options.config)) : undefined;
}

/**
 * Who the command acts as on a loopback endpoint (`lup local`): `publisher` signs with the local
 * publisher key (staging only, as the publisher user on AWS), `operator` with the local operator key.
 */
export type TargetRole = 'publisher' | 'operator';

/** Open the target the flags name. */
export async function openTarget(options: TargetOptions, io: CliIo, role: TargetRole = 'operator'): Promise<Target> {
  const config = targetConfig(options, io);
  if (!options.endpoint) {
    const dataDir = resolvePath(io, options.dataDir ?? DEFAULT_DATA_DIR);
    // Loaded here, not at start-up: `lup --help` and `lup validate` need neither s3rver nor the SDK.
    const [{ startPipelineStack }, { runControl }] = await Promise.all([import('../local/pipeline-stack'), import('../core/pipeline/control')]);
    let stack: PipelineStack;
    try {
      stack = await startPipelineStack({ dataDir, config, s3Port: DEFAULT_S3_PORT, cdnPort: DEFAULT_CDN_PORT, sweepIntervalMs: 0, command: 'the in-process stack of a lup command' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
        throw new UsageError(`ports ${DEFAULT_S3_PORT}/${DEFAULT_CDN_PORT} are in use: is \`lup local\` running? Then pass --endpoint http://127.0.0.1:${DEFAULT_S3_PORT} (and --cdn http://127.0.0.1:${DEFAULT_CDN_PORT}/).`);
      }
      throw error;
    }
    return {
      store: stack.store,
      client: stack.client,
      bucket: stack.bucket,
      cdnBaseUrl: options.cdn ? withSlash(options.cdn) : stack.cdnBaseUrl,
      embedded: stack,
      local: true,
      description: `embedded local stack (${dataDir})`,
      developmentPin: config ? undefined : async (game) => (await import('../core/pipeline/game-policy')).readGamePin(stack.store, game),
      control: (request) => runControl(stack.context, request),
      close: () => stack.stop(),
    };
  }
  // `--endpoint aws`: Amazon S3 itself (the SDK's endpoint for the region, virtual-hosted style).
  const aws = options.endpoint === AWS_ENDPOINT;
  const endpoint = aws ? undefined : parseEndpoint(options.endpoint);
  const loopback = !aws && isLoopback(options.endpoint);
  // The CDN of a `lup local` is whatever that stack says, never a default port: a verifier that
  // checked the default stack's CDN could report OK about another stack (issue 11, item 1).
  // Discovery and the S3 client load in parallel; the first byte of a publish waits for both.
  const [{ createS3Client }, { S3ObjectStore }, { LOCAL_OPERATOR_CREDENTIALS, LOCAL_PUBLISHER_CREDENTIALS }, discovered] = await Promise.all([
    import('../adapters/s3-client'), import('../adapters/s3-store'), import('../local/request-auth'),
    endpoint && !(options.cdn && options.bucket) ? import('./discover').then((d) => d.discoverLocalStack(endpoint.origin)) : undefined,
  ]);
  const bucket = options.bucket ?? discovered?.bucket ?? (loopback ? LOCAL_BUCKET : undefined);
  if (!bucket) throw new UsageError(`--bucket is required with --endpoint ${options.endpoint} (the CDK stack output BucketName), for example --bucket my-studio-contentbucket-1a2b3c.`);
  // A `lup local` key in the environment (as a CI job that holds the publisher key has it) is used
  // as is, so a command has locally the reach it will have on AWS; otherwise the command's role picks.
  const environmentKey = [LOCAL_PUBLISHER_CREDENTIALS, LOCAL_OPERATOR_CREDENTIALS].find((c) => c.accessKeyId === io.env.AWS_ACCESS_KEY_ID && c.secretAccessKey === io.env.AWS_SECRET_ACCESS_KEY);
  const client = createS3Client({
    endpoint: endpoint?.toString(), region: options.region, credentials: loopback ? environmentKey ?? (role === 'publisher' ? LOCAL_PUBLISHER_CREDENTIALS : LOCAL_OPERATOR_CREDENTIALS) : undefined,
    // A local server ignores the SDK's body checksums; computing them only delays the upload.
    // Its archive uploads are streamed and stopped on purpose when the local check refuses them.
    ...(loopback ? { requestChecksums: 'when-required' as const, sdkWarnings: 'silent' as const } : {}),
  });
  const store = new S3ObjectStore({ client, bucket });
  const cdnBaseUrl = options.cdn ? withSlash(options.cdn) : discovered?.cdnBaseUrl;
  // Operator commands only: the control path (CloudFront and Lambda clients) loads when used.
  let lambda: { destroy(): void } | undefined;
  const control = async (request: ControlRequest): Promise<ControlResponse> => {
    if (!options.controlFunction) {
      // Against a deployed stack only the control function may flip: it invalidates the CDN and
      // writes absolute URLs; from here the pointer would keep a stale CDN copy for its lifetime.
      if (!loopback) {
        throw new UsageError(`--control-function is required for ${request.action} against ${endpoint ? endpoint.origin : 'Amazon S3'} (the CDK stack output ControlFunctionName): the control function holds the grants, invalidates the CDN and writes the CDN's absolute URLs. For example: --control-function studio-control-9z8y`);
      }
      // A `lup local` started with a studio configuration: its rules (channels, retention) hold only
      // if this command applies the same ones; without --config it would run in development mode.
      if (!config && discovered?.developmentMode === false) {
        throw new UsageError(`The lup local at ${endpoint?.origin ?? options.endpoint} runs with a studio configuration: pass the same --config <file> so ${request.action} applies its games' rules (channels, retention), as the control function does on AWS.`);
      }
      const [{ RecordingInvalidator }, { systemClock }, { runControl }] = await Promise.all([import('../adapters/cdn'), import('../core/ports'), import('../core/pipeline/control')]);
      const context: PipelineContext = { store, cdn: new RecordingInvalidator(), clock: systemClock, config, cdnBaseUrl: cdnBaseUrl ?? '' };
      return runControl(context, request);
    }
    const [{ InvokeCommand, LambdaClient }, { errorFromJSON }] = await Promise.all([import('@aws-sdk/client-lambda'), import('../core/errors')]);
    const client = new LambdaClient({ region: options.region });
    lambda = client;
    const response = await client.send(new InvokeCommand({ FunctionName: options.controlFunction, Payload: Buffer.from(JSON.stringify(request)) }));
    const payload = JSON.parse(Buffer.from(response.Payload ?? []).toString('utf8') || '{}') as ControlResponse | { error: LupErrorData };
    if (response.FunctionError) throw new Error(`control function failed: ${JSON.stringify(payload)}`);
    if ('error' in payload) throw errorFromJSON(payload.error);
    return payload;
  };
  // The pin is pipeline bookkeeping the publisher key may not read (as on AWS, where there is no
  // development mode); `lup local` publishes its operator key, so a publish reads the pin with it.
  const developmentPin = loopback && discovered?.developmentMode === true
    ? async (game: string): Promise<GamePin | undefined> => {
      const { readGamePin } = await import('../core/pipeline/game-policy');
      if (role === 'operator') return readGamePin(store, game);
      const operator = createS3Client({ endpoint: endpoint?.toString(), region: options.region, credentials: LOCAL_OPERATOR_CREDENTIALS });
      try {
        return await readGamePin(new S3ObjectStore({ client: operator, bucket }), game);
      } finally {
        operator.destroy();
      }
    }
    : undefined;
  return {
    store,
    client,
    bucket,
    cdnBaseUrl,
    developmentPin,
    local: loopback,
    description: `${endpoint ? endpoint.origin : 'Amazon S3'} bucket ${bucket}`,
    control,
    close: async () => {
      client.destroy();
      lambda?.destroy();
    },
  };
}

/** The `--endpoint` URL: http(s) with a host, or a usage error showing the fix. */
function parseEndpoint(value: string): URL {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  // `localhost:4569` parses as the scheme "localhost:"; name the missing http:// instead.
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || !url.hostname) {
    const guess = /^[\w.-]+:\d+\/?$/.test(value) ? `; did you mean --endpoint http://${value}?` : `; for example --endpoint http://127.0.0.1:${DEFAULT_S3_PORT}, or --endpoint aws for a deployed stack.`;
    throw new UsageError(`--endpoint "${value}" is not an http:// or https:// URL, nor "aws"${guess}`);
  }
  return url;
}

/** A path relative to the command's working directory. */
export function resolvePath(io: CliIo, path: string): string {
  return isAbsolute(path) ? path : join(io.cwd, path);
}
