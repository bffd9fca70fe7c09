/**
 * Where a command acts: a running S3 endpoint (`--endpoint`: `lup local`, or AWS), or, with no
 * endpoint, the embedded local stack started in-process over the project-local data folder.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import type { Command } from 'commander';
import { RecordingInvalidator } from '../adapters/cdn';
import { createS3Client } from '../adapters/s3-client';
import { S3ObjectStore } from '../adapters/s3-store';
import type { StudioConfig } from '../core/config';
import { errorFromJSON, type LupErrorData } from '../core/errors';
import { systemClock, type ObjectStore } from '../core/ports';
import type { PipelineContext } from '../core/pipeline/context';
import { runControl, type ControlRequest, type ControlResponse } from '../core/pipeline/control';
import { LOCAL_BUCKET, LOCAL_OPERATOR_CREDENTIALS, LOCAL_PUBLISHER_CREDENTIALS } from '../local/local-stack';
import { DEFAULT_CDN_PORT, DEFAULT_DATA_DIR, DEFAULT_S3_PORT, startPipelineStack, type PipelineStack } from '../local/pipeline-stack';
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
    .option('--config <file>', 'studio configuration (JSON) for the embedded local stack. Default: development mode')
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
    let stack: PipelineStack;
    try {
      stack = await startPipelineStack({ dataDir, config, s3Port: DEFAULT_S3_PORT, cdnPort: DEFAULT_CDN_PORT, sweepIntervalMs: 0 });
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
      description: `embedded local stack (${dataDir})`,
      control: (request) => runControl(stack.context, request),
      close: () => stack.stop(),
    };
  }
  // `--endpoint aws`: Amazon S3 itself (the SDK's endpoint for the region, virtual-hosted style).
  const aws = options.endpoint === AWS_ENDPOINT;
  let endpoint: URL | undefined;
  if (!aws) {
    try {
      endpoint = new URL(options.endpoint);
    } catch {
      throw new UsageError(`--endpoint "${options.endpoint}" is not a URL or "aws"; for example --endpoint http://127.0.0.1:${DEFAULT_S3_PORT}, or --endpoint aws for a deployed stack`);
    }
  }
  const loopback = !aws && isLoopback(options.endpoint);
  const bucket = options.bucket ?? (loopback ? LOCAL_BUCKET : undefined);
  if (!bucket) throw new UsageError('--bucket is required with a non-local --endpoint (the CDK stack output BucketName).');
  const client = createS3Client({ endpoint: endpoint?.toString(), region: options.region, credentials: loopback ? (role === 'publisher' ? LOCAL_PUBLISHER_CREDENTIALS : LOCAL_OPERATOR_CREDENTIALS) : undefined });
  const store = new S3ObjectStore({ client, bucket });
  const cdnBaseUrl = options.cdn ? withSlash(options.cdn) : loopback ? `http://127.0.0.1:${DEFAULT_CDN_PORT}/` : undefined;
  const context: PipelineContext = { store, cdn: new RecordingInvalidator(), clock: systemClock, config, cdnBaseUrl: cdnBaseUrl ?? '' };
  const lambda = options.controlFunction ? new LambdaClient({ region: options.region }) : undefined;
  return {
    store,
    client,
    bucket,
    cdnBaseUrl,
    description: `${endpoint ? endpoint.origin : 'Amazon S3'} bucket ${bucket}`,
    control: async (request) => {
      if (!lambda) {
        // Against a deployed stack only the control function may flip: it invalidates the CDN and
        // writes absolute URLs; from here the pointer would keep a stale CDN copy for its lifetime.
        if (!loopback) {
          throw new UsageError(`--control-function is required for ${request.action} against ${endpoint ? endpoint.origin : 'Amazon S3'} (the CDK stack output ControlFunctionName): the control function holds the grants, invalidates the CDN and writes the CDN's absolute URLs. For example: --control-function studio-control-9z8y`);
        }
        return runControl(context, request);
      }
      const response = await lambda.send(new InvokeCommand({ FunctionName: options.controlFunction, Payload: Buffer.from(JSON.stringify(request)) }));
      const payload = JSON.parse(Buffer.from(response.Payload ?? []).toString('utf8') || '{}') as ControlResponse | { error: LupErrorData };
      if (response.FunctionError) throw new Error(`control function failed: ${JSON.stringify(payload)}`);
      if ('error' in payload) throw errorFromJSON(payload.error);
      return payload;
    },
    close: async () => {
      client.destroy();
      lambda?.destroy();
    },
  };
}

/** A path relative to the command's working directory. */
export function resolvePath(io: CliIo, path: string): string {
  return isAbsolute(path) ? path : join(io.cwd, path);
}
