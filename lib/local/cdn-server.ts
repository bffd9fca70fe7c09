/**
 * The local CDN: what players download from when the pipeline runs on the embedded stack. It
 * serves `content/` and `channels/` and nothing else, with the cache and CORS headers of the one
 * policy (`lib/http-policy.ts`) that the CloudFront distribution also uses, so a header seen
 * locally is the header served in production.
 *
 * | request | answer |
 * |---|---|
 * | GET/HEAD of a key under `content/` or `channels/` | 200 (or 206 for one `Range`, 304 for a matching `If-None-Match`) |
 * | the same, object missing | 404 |
 * | any other prefix (`staging/`, `releases/`, `quarantine/`, `status/`, `state/`, …) or a key with `.`/`..`/empty segments | 403 |
 * | OPTIONS preflight from an allowed origin for GET/HEAD | 204 with the policy's CORS headers; otherwise 403 |
 * | any other method | 405 |
 *
 * It reads through the {@link ObjectStore} port and streams bodies, so large archives are not
 * held in memory. It caches nothing, so it needs no invalidation.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { cacheRuleFor, contentTypeFor, corsHeaders, corsPolicy, type CacheRule, type CorsPolicy } from '../http-policy';
import type { ObjectInfo, ObjectStore } from '../core/ports';
import { listen } from './listen';

/** Options of {@link startCdnServer}. */
export interface StartCdnServerRequest {
  /** Where objects are read from (the local stack's store, through the gate). */
  readonly store: ObjectStore;
  /**
   * Origins allowed to fetch cross-origin, as in the studio configuration.
   * @default ["*"]
   */
  readonly corsOrigins?: readonly string[];
  /** Where origin failures are reported (their text never goes to the client). Default: stderr. */
  readonly onOriginError?: (error: unknown, path: string) => void;
  /**
   * Port to listen on; 0 picks a free one.
   * @default 0
   */
  readonly port?: number;
  /**
   * Interface to listen on.
   * @default "127.0.0.1"
   */
  readonly host?: string;
}

/** A running local CDN. */
export interface CdnServerHandle {
  readonly host: string;
  readonly port: number;
  /** Base URL ending in `/`: `baseUrl + key` is the URL of a served key. */
  readonly baseUrl: string;
  /** Stop listening and drop connections. */
  close(): Promise<void>;
}

type Served = { readonly key: string; readonly rule: CacheRule } | { readonly status: 400 | 403 };

/** Map a request path to a served key, or the status refusing it. */
function resolveKey(rawUrl: string | undefined): Served {
  const path = (rawUrl ?? '/').split('?')[0];
  let key: string;
  try {
    key = decodeURIComponent(path.slice(1));
  } catch {
    return { status: 400 };
  }
  // Dot segments could walk out of content/ on a file-backed server; CloudFront would normalise
  // them away, so no real player URL has one.
  const segments = key.split('/');
  if (segments.some((s) => s === '' || s === '.' || s === '..') || key.includes('\\')) return { status: 403 };
  const rule = cacheRuleFor(key);
  return rule ? { key, rule } : { status: 403 };
}

/** A single `bytes=` range resolved against `size`, `'unsatisfiable'`, or `undefined` to serve the whole object. */
function parseRange(header: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  if (!header) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  // Several ranges or another unit: serving the whole object is a valid answer (RFC 9110 §14.2).
  if (!match || (match[1] === '' && match[2] === '')) return undefined;
  let start: number;
  let end: number;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0) return 'unsatisfiable';
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(match[1]);
    end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
    if (start >= size || end < start) return 'unsatisfiable';
  }
  return { start, end };
}

function matchesEtag(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  const bare = (s: string) => s.trim().replace(/^W\//, '').replace(/^"|"$/g, '');
  return header.split(',').some((candidate) => candidate.trim() === '*' || bare(candidate) === bare(etag));
}

/**
 * Start the local CDN on `host:port`, serving `content/` and `channels/` from `store`.
 *
 * @example
 * const cdn = await startCdnServer({ store, corsOrigins: ['https://games.example.com'] });
 * await fetch(`${cdn.baseUrl}channels/g1/stable.json`);
 */
export async function startCdnServer(request: StartCdnServerRequest): Promise<CdnServerHandle> {
  const host = request.host ?? '127.0.0.1';
  const policy: CorsPolicy = corsPolicy(request.corsOrigins);
  const store = request.store;

  function end(res: ServerResponse, status: number, headers: Record<string, string | number> = {}, body = ''): void {
    res.writeHead(status, { ...headers, 'Content-Length': Buffer.byteLength(body), ...(body ? { 'Content-Type': 'text/plain; charset=utf-8' } : {}) });
    res.end(body);
  }

  function preflight(req: IncomingMessage, res: ServerResponse): void {
    const origin = req.headers.origin;
    const method = req.headers['access-control-request-method'];
    const served = resolveKey(req.url);
    const allowOrigin = origin ? corsHeaders(policy, origin)['Access-Control-Allow-Origin'] : undefined;
    const requested = (req.headers['access-control-request-headers'] ?? '')
      .split(',')
      .map((h) => h.trim())
      .filter((h) => h.length > 0);
    const allowedLower = policy.allowHeaders.map((h) => h.toLowerCase());
    const headersOk = requested.every((h) => allowedLower.includes(h.toLowerCase()));
    const methodOk = typeof method === 'string' && (policy.allowMethods as readonly string[]).includes(method);
    if (!('key' in served) || !allowOrigin || !methodOk || !headersOk) {
      end(res, 403, {}, 'CORS preflight refused: origin, method, headers or path not allowed.\n');
      return;
    }
    end(res, 204, {
      'Access-Control-Allow-Origin': allowOrigin,
      'Access-Control-Allow-Methods': policy.allowMethods.join(', '),
      'Access-Control-Allow-Headers': policy.allowHeaders.join(', '),
      'Access-Control-Max-Age': policy.maxAgeSeconds,
      Vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers',
    });
  }

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const served = resolveKey(req.url);
    const cors = corsHeaders(policy, req.headers.origin);
    if (!('key' in served)) {
      end(res, served.status, cors, served.status === 403 ? 'Forbidden: only content/ and channels/ are served.\n' : 'Bad request path.\n');
      return;
    }
    const { key, rule } = served;
    const info: ObjectInfo | undefined = await store.head(key);
    if (!info) {
      end(res, 404, cors, 'Not found.\n');
      return;
    }
    const headers: Record<string, string | number> = {
      ...cors,
      'Cache-Control': rule.cacheControl,
      'Content-Type': contentTypeFor(key),
      ETag: info.etag,
      'Accept-Ranges': 'bytes',
    };
    if (info.lastModified) headers['Last-Modified'] = info.lastModified.toUTCString();
    if (matchesEtag(req.headers['if-none-match'], info.etag)) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    const range = parseRange(req.headers.range, info.sizeBytes);
    if (range === 'unsatisfiable') {
      end(res, 416, { ...cors, 'Content-Range': `bytes */${info.sizeBytes}` });
      return;
    }
    if (req.method === 'HEAD') {
      res.writeHead(200, { ...headers, 'Content-Length': info.sizeBytes });
      res.end();
      return;
    }
    if (range) {
      const opened = await store.openRange(key);
      if (!opened || opened.info.etag !== info.etag) {
        end(res, 404, cors, 'Not found.\n');
        return;
      }
      res.writeHead(206, {
        ...headers,
        'Content-Range': `bytes ${range.start}-${range.end}/${info.sizeBytes}`,
        'Content-Length': range.end - range.start + 1,
      });
      await pipeline(Readable.from(opened.source.read(range.start, range.end + 1)), res);
      return;
    }
    const streamed = await store.getStream(key);
    if (!streamed) {
      end(res, 404, cors, 'Not found.\n');
      return;
    }
    res.writeHead(200, { ...headers, ETag: streamed.info.etag, 'Content-Length': streamed.info.sizeBytes });
    await pipeline(Readable.from(streamed.body), res);
  }

  const server = createServer((req, res) => {
    const method = req.method ?? 'GET';
    if (method === 'OPTIONS') {
      preflight(req, res);
      return;
    }
    if (method !== 'GET' && method !== 'HEAD') {
      end(res, 405, { Allow: 'GET, HEAD, OPTIONS' }, 'Method not allowed.\n');
      return;
    }
    serve(req, res).catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy(error instanceof Error ? error : new Error(String(error)));
        return;
      }
      // The store failed (STORE_UNAVAILABLE): a CDN answers 502 when its origin does, with a generic
      // body (the store's error text names keys and paths a player has no business seeing).
      (request.onOriginError ?? ((e, path) => process.stderr.write(`lup local CDN: origin error for ${path}: ${e instanceof Error ? e.message : String(e)}\n`)))(error, req.url ?? '');
      end(res, 502, {}, 'Bad gateway: the origin did not answer.\n');
    });
  });

  const port = await listen(server, request.port ?? 0, host);
  return {
    host,
    port,
    baseUrl: `http://${host}:${port}/`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
