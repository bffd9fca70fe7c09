/**
 * The one cache and CORS policy for what players download. The CloudFront distribution and the
 * local CDN both read it, so a header served locally is the header served in production.
 */
import { PREFIX } from './core/keys';

/** How a class of served paths is cached. */
export interface CacheRule {
  /** Path prefix inside the bucket (and on the CDN), e.g. `content/`. */
  readonly prefix: string;
  /** `Cache-Control` sent to players. */
  readonly cacheControl: string;
  /** How long the CDN keeps it by default, in seconds. */
  readonly cdnDefaultTtlSeconds: number;
  /** The CDN's upper bound, in seconds. */
  readonly cdnMaxTtlSeconds: number;
  /** The CDN's lower bound, in seconds. */
  readonly cdnMinTtlSeconds: number;
}

const ONE_YEAR_SECONDS = 31_536_000;

/** Content is immutable and content-addressed: cache it for a year everywhere. */
export const CONTENT_CACHE: CacheRule = {
  prefix: PREFIX.content,
  cacheControl: `public, max-age=${ONE_YEAR_SECONDS}, immutable`,
  cdnDefaultTtlSeconds: ONE_YEAR_SECONDS,
  cdnMaxTtlSeconds: ONE_YEAR_SECONDS,
  cdnMinTtlSeconds: ONE_YEAR_SECONDS,
};

/**
 * The pointer changes on every release: players revalidate after a few seconds, the CDN keeps it
 * a little longer and is invalidated on every flip.
 */
export const CHANNEL_CACHE: CacheRule = {
  prefix: PREFIX.channels,
  cacheControl: 'public, max-age=5, must-revalidate',
  cdnDefaultTtlSeconds: 30,
  cdnMaxTtlSeconds: 60,
  cdnMinTtlSeconds: 0,
};

/** The only prefixes served to players; everything else is never reachable through the CDN. */
export const SERVED_RULES: readonly CacheRule[] = [CONTENT_CACHE, CHANNEL_CACHE];

/** The cache rule for a bucket key, or `undefined` when the key must not be served. */
export function cacheRuleFor(key: string): CacheRule | undefined {
  return SERVED_RULES.find((r) => key.startsWith(r.prefix));
}

/** CORS for HTML5 games, which fetch cross-origin. */
export interface CorsPolicy {
  readonly allowOrigins: readonly string[];
  readonly allowMethods: readonly ('GET' | 'HEAD')[];
  readonly allowHeaders: readonly string[];
  readonly exposeHeaders: readonly string[];
  readonly maxAgeSeconds: number;
}

/** Default origins: any, as HTML5 games are hosted anywhere (itch.io, portals, the studio's site). */
export const DEFAULT_CORS_ORIGINS: readonly string[] = ['*'];

/** The CORS policy for the given origins. @default origins: any (`*`). */
export function corsPolicy(allowOrigins: readonly string[] = DEFAULT_CORS_ORIGINS): CorsPolicy {
  return {
    allowOrigins,
    allowMethods: ['GET', 'HEAD'],
    allowHeaders: ['Range', 'If-None-Match', 'If-Modified-Since'],
    exposeHeaders: ['ETag', 'Content-Length', 'Content-Range'],
    maxAgeSeconds: 86_400,
  };
}

/** Content-Type served for a key, by what it is. */
export function contentTypeFor(key: string): string {
  if (key.endsWith('.json')) return 'application/json';
  if (key.endsWith('.zip')) return 'application/zip';
  return 'application/octet-stream';
}

/** The CORS response headers for a request from `origin` (none when the origin is not allowed). */
export function corsHeaders(policy: CorsPolicy, origin: string | undefined): Record<string, string> {
  if (!origin) return policy.allowOrigins.includes('*') ? { 'Access-Control-Allow-Origin': '*' } : {};
  const allowed = policy.allowOrigins.includes('*') ? '*' : policy.allowOrigins.includes(origin) ? origin : undefined;
  if (!allowed) return {};
  const headers: Record<string, string> = {
    'Access-Control-Allow-Origin': allowed,
    'Access-Control-Expose-Headers': policy.exposeHeaders.join(', '),
  };
  if (allowed !== '*') headers['Vary'] = 'Origin';
  return headers;
}
