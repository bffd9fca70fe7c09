/**
 * The pipeline context of a deployed Lambda, built once per container from the environment the
 * CDK stack sets (see `lambda/environment.ts`). Clients are reused across invocations.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { CloudFrontClient } from '@aws-sdk/client-cloudfront';
import { CloudFrontInvalidator } from '../lib/adapters/cdn';
import { createS3Client } from '../lib/adapters/s3-client';
import { S3ObjectStore } from '../lib/adapters/s3-store';
import { validateStudioConfig } from '../lib/core/config';
import { formatError } from '../lib/core/errors';
import { systemClock } from '../lib/core/ports';
import type { LogEvent, PipelineContext } from '../lib/core/pipeline/context';
import { requestReleaseAttempt } from '../lib/core/pipeline/steps';
import { LAMBDA_ENDPOINT_OVERRIDES, LAMBDA_ENV } from './environment';

let cached: PipelineContext | undefined;

/** Forget the cached context (tests that change the environment). */
export function resetPipelineContext(): void {
  cached = undefined;
}

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`Environment variable ${name} is not set; the stack sets it (lambda/environment.ts).`);
  return value;
}

/** One JSON line per event, so CloudWatch Logs Insights can query by code, game and upload. */
export function logJson(event: LogEvent): void {
  const line = JSON.stringify({ ...event, time: new Date().toISOString() });
  if (event.level === 'error') console.error(line);
  else console.log(line);
}

/** Largest configuration file read (about 2,000 games with keys). */
const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

/** The studio configuration from the layer, once per container, checked against the deployed digest. */
function readStudioConfig(): unknown {
  const file = required(LAMBDA_ENV.studioConfigFile);
  const size = statSync(file).size;
  if (size > MAX_CONFIG_BYTES) throw new Error(`${file} is ${size} bytes; at most ${MAX_CONFIG_BYTES} are read.`);
  const bytes = readFileSync(file);
  const actual = createHash('sha256').update(bytes).digest('hex');
  const expected = required(LAMBDA_ENV.studioConfigSha256);
  if (actual !== expected) {
    throw new Error(`${file} has SHA-256 ${actual}, but this function was deployed with ${expected} (${LAMBDA_ENV.studioConfigSha256}): the configuration layer does not belong to this deployment.`);
  }
  return JSON.parse(bytes.toString('utf8'));
}

/** The context for this container. */
export function pipelineContext(): PipelineContext {
  if (cached) return cached;
  const result = validateStudioConfig(readStudioConfig());
  if (!result.ok) throw new Error(`Invalid studio configuration:\n${result.errors.map((e) => formatError(e.toJSON())).join('\n')}`);
  const store = new S3ObjectStore({ client: createS3Client({ endpoint: process.env[LAMBDA_ENDPOINT_OVERRIDES.s3Endpoint] || undefined }), bucket: required(LAMBDA_ENV.bucketName) });
  cached = {
    store,
    // Staging steps hold no flip grants: they ask the release function through a routed object.
    requestRelease: (request) => requestReleaseAttempt(store, request),
    cdn: new CloudFrontInvalidator({ client: new CloudFrontClient({ endpoint: process.env[LAMBDA_ENDPOINT_OVERRIDES.cloudFrontEndpoint] || undefined }), distributionId: required(LAMBDA_ENV.distributionId) }),
    clock: systemClock,
    config: result.config,
    cdnBaseUrl: required(LAMBDA_ENV.cdnBaseUrl),
    log: logJson,
  };
  return cached;
}
