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
}

/** Absolute URL of a path on the CDN. */
export function cdnUrl(context: PipelineContext, path: string): string {
  const base = context.cdnBaseUrl.endsWith('/') ? context.cdnBaseUrl : `${context.cdnBaseUrl}/`;
  return `${base}${path}`;
}

export function log(context: PipelineContext, event: LogEvent): void {
  context.log?.(event);
}
