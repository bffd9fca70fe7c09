/**
 * Invalidation of our own CloudFront distribution, plus a recording stand-in for the local stack
 * and tests. Both implement the core's {@link CdnInvalidator}; both fail loudly.
 */
import { CreateInvalidationCommand, type CloudFrontClient } from '@aws-sdk/client-cloudfront';
import { lupError } from '../core/errors';
import { systemClock, type CdnInvalidator, type Clock } from '../core/ports';

/** Options of {@link CloudFrontInvalidator}. */
export interface CloudFrontInvalidatorProps {
  /** The client to send `CreateInvalidation` with; built by the caller. */
  readonly client: CloudFrontClient;
  /** The distribution to invalidate: only our own (its id comes from the stack). */
  readonly distributionId: string;
  /**
   * Attempts in all, the first included, for failures worth retrying (throttling,
   * `TooManyInvalidationsInProgress`, 5xx, network). The SDK retries throttling and 5xx a few
   * times on its own first; this outer loop also covers `TooManyInvalidationsInProgress`, which
   * CloudFront answers with a 400 the SDK does not retry. The `callerReference` makes a repeated
   * request idempotent: CloudFront returns the invalidation it already created.
   * @default 5
   */
  readonly maxAttempts?: number;
  /**
   * Delay before the second attempt, in milliseconds; doubled each time, with full jitter.
   * @default 500
   */
  readonly baseDelayMs?: number;
  /**
   * Upper bound of one delay, in milliseconds. With the defaults the worst case waits
   * about 0.5 + 1 + 2 + 4 = 7.5 s before giving up.
   * @default 8000
   */
  readonly maxDelayMs?: number;
  /**
   * How to wait; injected so tests need not sleep.
   * @default - a timer
   */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** Most paths CloudFront accepts in one invalidation batch. */
export const MAX_INVALIDATION_PATHS = 3000;

const RETRYABLE_NAMES = new Set([
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'TooManyInvalidationsInProgress',
  'ServiceUnavailable',
  'InternalError',
  'TimeoutError',
  'RequestTimeout',
]);

const RETRYABLE_NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']);

function isRetryable(error: unknown): boolean {
  const e = error as { name?: string; code?: string; $metadata?: { httpStatusCode?: number } } | undefined;
  const status = e?.$metadata?.httpStatusCode;
  if (status !== undefined && (status >= 500 || status === 429)) return true;
  if (e?.name && RETRYABLE_NAMES.has(e.name)) return true;
  return e?.code !== undefined && RETRYABLE_NETWORK_CODES.has(e.code);
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Invalidates paths on one CloudFront distribution with `CreateInvalidation`, retrying transient
 * failures (bounded, see {@link CloudFrontInvalidatorProps.maxAttempts}) and otherwise throwing a
 * `CDN_INVALIDATION_FAILED` error carrying the SDK error as `cause`. Never swallows a failure.
 * @see https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_CreateInvalidation.html
 */
export class CloudFrontInvalidator implements CdnInvalidator {
  /** The distribution this invalidator targets. */
  readonly distributionId: string;
  private readonly client: CloudFrontClient;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(props: CloudFrontInvalidatorProps) {
    const problems: string[] = [];
    if (!props.client) problems.push('client is required');
    if (typeof props.distributionId !== 'string' || !/^[A-Z0-9]+$/.test(props.distributionId)) {
      problems.push(`distributionId must be a CloudFront distribution id (uppercase letters and digits), got ${JSON.stringify(props.distributionId)}`);
    }
    const maxAttempts = props.maxAttempts ?? 5;
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1) problems.push(`maxAttempts must be a whole number of at least 1, got ${maxAttempts}`);
    const baseDelayMs = props.baseDelayMs ?? 500;
    const maxDelayMs = props.maxDelayMs ?? 8000;
    if (!(baseDelayMs >= 0) || !(maxDelayMs >= baseDelayMs)) problems.push('baseDelayMs must be >= 0 and maxDelayMs >= baseDelayMs');
    if (problems.length > 0) {
      throw lupError({ code: 'CONFIG_INVALID', location: { field: 'CloudFrontInvalidatorProps' }, message: `CloudFrontInvalidator: ${problems.join('; ')}.` });
    }
    this.client = props.client;
    this.distributionId = props.distributionId;
    this.maxAttempts = maxAttempts;
    this.baseDelayMs = baseDelayMs;
    this.maxDelayMs = maxDelayMs;
    this.sleep = props.sleep ?? defaultSleep;
  }

  async invalidate(paths: readonly string[], callerReference: string): Promise<void> {
    checkInvalidation(paths, callerReference);
    const command = new CreateInvalidationCommand({
      DistributionId: this.distributionId,
      InvalidationBatch: { CallerReference: callerReference, Paths: { Quantity: paths.length, Items: [...paths] } },
    });
    let lastError: unknown;
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      try {
        await this.client.send(command);
        return;
      } catch (error) {
        lastError = error;
        if (!isRetryable(error) || attempt === this.maxAttempts) break;
        const ceiling = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1));
        await this.sleep(Math.round(Math.random() * ceiling));
      }
    }
    const name = (lastError as { name?: string } | undefined)?.name ?? 'Error';
    const detail = lastError instanceof Error ? lastError.message : String(lastError);
    throw lupError(
      {
        code: 'CDN_INVALIDATION_FAILED',
        location: { field: `distribution ${this.distributionId}` },
        expected: `an invalidation of ${paths.length} path(s) (${paths.slice(0, 3).join(', ')}${paths.length > 3 ? ', …' : ''})`,
        actual: `${name}: ${detail}`,
        message: `CloudFront refused to invalidate ${paths.join(', ')} on distribution ${this.distributionId} (${name}); players may see the old pointer until its cache lifetime ends. Retry the release's invalidation.`,
      },
      lastError,
    );
  }
}

function checkInvalidation(paths: readonly string[], callerReference: string): void {
  const bad = paths.filter((p) => typeof p !== 'string' || !p.startsWith('/'));
  const problems: string[] = [];
  if (paths.length === 0) problems.push('at least one path is required');
  if (paths.length > MAX_INVALIDATION_PATHS) problems.push(`at most ${MAX_INVALIDATION_PATHS} paths per batch, got ${paths.length}`);
  if (bad.length > 0) problems.push(`paths must start with "/": ${bad.slice(0, 3).map((p) => JSON.stringify(p)).join(', ')}`);
  if (typeof callerReference !== 'string' || callerReference.length === 0) problems.push('callerReference must be a non-empty string');
  if (problems.length > 0) {
    throw lupError({ code: 'CDN_INVALIDATION_FAILED', expected: 'paths starting with "/" and a caller reference', actual: problems.join('; '), message: `Invalidation request is invalid: ${problems.join('; ')}.` });
  }
}

/** One call recorded by {@link RecordingInvalidator}. */
export interface InvalidationCall {
  readonly paths: readonly string[];
  readonly callerReference: string;
  /** When the call was made, by the invalidator's clock. */
  readonly at: Date;
  /** True when the call was made to fail by {@link RecordingInvalidator.failNext}. */
  readonly failed: boolean;
}

/** Options of {@link RecordingInvalidator}. */
export interface RecordingInvalidatorProps {
  /**
   * Clock stamping each call.
   * @default - the system clock
   */
  readonly clock?: Clock;
}

/**
 * A CDN invalidator that records every call instead of calling a CDN: the local stack's (its CDN
 * caches nothing) and the tests'. {@link failNext} makes the next calls fail with
 * `CDN_INVALIDATION_FAILED`, so a test can prove the failure surfaces.
 */
export class RecordingInvalidator implements CdnInvalidator {
  private readonly clock: Clock;
  private readonly recorded: InvalidationCall[] = [];
  private failuresLeft = 0;

  constructor(props: RecordingInvalidatorProps = {}) {
    this.clock = props.clock ?? systemClock;
  }

  /** Every call so far, failed ones included, oldest first. */
  get calls(): readonly InvalidationCall[] {
    return this.recorded;
  }

  /** Every path of every successful call, in call order. */
  get invalidatedPaths(): readonly string[] {
    return this.recorded.filter((c) => !c.failed).flatMap((c) => c.paths);
  }

  /** Make the next `count` calls fail (recorded, then thrown). */
  failNext(count = 1): void {
    if (!Number.isInteger(count) || count < 0) throw new RangeError(`count must be a whole number >= 0, got ${count}`);
    this.failuresLeft = count;
  }

  async invalidate(paths: readonly string[], callerReference: string): Promise<void> {
    checkInvalidation(paths, callerReference);
    const failed = this.failuresLeft > 0;
    if (failed) this.failuresLeft -= 1;
    this.recorded.push({ paths: [...paths], callerReference, at: this.clock.now(), failed });
    if (failed) {
      throw lupError({
        code: 'CDN_INVALIDATION_FAILED',
        expected: `an invalidation of ${paths.join(', ')}`,
        actual: 'an injected failure',
        message: `Invalidation ${callerReference} failed (injected by RecordingInvalidator.failNext).`,
      });
    }
  }
}
