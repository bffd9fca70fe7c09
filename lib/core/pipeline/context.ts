/**
 * What every pipeline step is given: the ports, the studio configuration and where players download.
 */
import type { StudioConfig } from '../config';
import type { CdnInvalidator, Clock, ObjectStore } from '../ports';

/** A structured log line; handlers print them as JSON (CloudWatch) or to the local console. */
export interface LogEvent {
  readonly level: 'info' | 'warn' | 'error';
  readonly step: string;
  readonly message: string;
  readonly game?: string;
  readonly upload?: string;
  readonly key?: string;
  readonly code?: string;
}

/** The ports and settings of one pipeline deployment. */
export interface PipelineContext {
  /**
   * Development mode (no `config`): the channel Defold editor uploads are released to.
   * @default "stable" (DEVELOPMENT_AUTO_RELEASE_CHANNEL)
   */
  readonly developmentEditorChannel?: string;
  readonly store: ObjectStore;
  readonly cdn: CdnInvalidator;
  readonly clock: Clock;
  /**
   * The studio configuration. @default - development mode: any game id is accepted, and a game's
   * first release pins its project identifier (and public key, if one was given)
   */
  readonly config?: StudioConfig;
  /** Absolute base URL of the CDN, ending in `/`, used for the `url` fields of pointers. */
  readonly cdnBaseUrl: string;
  /** How long an incomplete release may wait before the sweeper fails it. @default 60 minutes */
  readonly releaseTimeoutMs?: number;
  readonly log?: (event: LogEvent) => void;
  /**
   * How a staging step asks for a release attempt once it has verified its object. The staging
   * steps do not hold the grants a flip needs (channels/, releases/, content/, invalidation): on
   * AWS this is an asynchronous invoke of the release function, locally a queued call of the release
   * handler. @default - the attempt runs in this context (the simulator and unit tests)
   */
  readonly requestRelease?: (request: ReleaseAttemptRequest) => Promise<void>;
}

/** The payload of a release attempt a staging step asks for. */
export interface ReleaseAttemptRequest {
  readonly kind: 'release-attempt';
  readonly game: string;
  readonly upload: string;
}

/** Whether a value is a {@link ReleaseAttemptRequest} (the release function receives these and S3 events). */
export function isReleaseAttemptRequest(value: unknown): value is ReleaseAttemptRequest {
  const v = value as Partial<ReleaseAttemptRequest> | null;
  return typeof v === 'object' && v !== null && v.kind === 'release-attempt' && typeof v.game === 'string' && typeof v.upload === 'string';
}

/** Absolute URL of a path on the CDN. */
export function cdnUrl(context: PipelineContext, path: string): string {
  const base = context.cdnBaseUrl.endsWith('/') ? context.cdnBaseUrl : `${context.cdnBaseUrl}/`;
  return `${base}${path}`;
}

export function log(context: PipelineContext, event: LogEvent): void {
  context.log?.(event);
}
