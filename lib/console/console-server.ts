/**
 * The web server of `lup console`: a single-page app and its JSON API, on loopback only.
 *
 * Any web page the user opens can send requests to 127.0.0.1, so every request must carry the
 * random token printed in the console's URL (query on the first load, then a `SameSite=Strict`
 * cookie, and a header on API calls; state-changing calls accept only the header, which a
 * cross-site form cannot set). The `Host` header must name the address the server was asked to
 * serve, so a page whose DNS name rebinds to 127.0.0.1 is refused too, as the local S3 gate does
 * (lib/local/request-auth.ts). Tokens are compared in constant time.
 *
 * Polling is cheap: `GET …/channels` and `GET …/uploads` answer with an ETag derived from one LIST
 * of the pointers (or status objects); a matching `If-None-Match` gets `304` with no GET at all.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { formatError, isLupError, type LupErrorData } from '../core/errors';
import { isValidId } from '../core/keys';
import type { ObjectStore } from '../core/ports';
import type { ControlRequest, ControlResponse } from '../core/pipeline/control';
import { isAccessDenied } from '../cli/operator-support';
import { listen } from '../local/listen';
import { CONSOLE_ACTIONS, describeOutcome, findAction, type ActionParams } from './console-actions';
import {
  listGames, listingTag, listPointers, listStatuses, readChannelHistory, readChannels, readReleaseRecord, readUploads,
} from './console-data';

/** The default port of `lup console`. */
export const DEFAULT_CONSOLE_PORT = 4580;
/** Name of the cookie that keeps the token after the first load. */
export const TOKEN_COOKIE = 'lup_console_token';
/** Header the page sends the token in. */
export const TOKEN_HEADER = 'x-lup-console-token';
/** How often the page polls the pointers and uploads. */
export const DEFAULT_POLL_INTERVAL_MS = 2000;

/** What the console reads and acts through: the CLI's target. */
export interface ConsoleBackend {
  readonly store: ObjectStore;
  /** A human description of where it acts, e.g. "http://127.0.0.1:4569 bucket lup-local". */
  readonly description: string;
  control(request: ControlRequest): Promise<ControlResponse>;
}

/** Options of {@link startConsoleServer}. */
export interface ConsoleServerOptions {
  readonly backend: ConsoleBackend;
  /** Port to listen on; 0 picks a free one. @default 4580 */
  readonly port?: number;
  /** Loopback address to listen on. @default '127.0.0.1' */
  readonly host?: string;
  /**
   * Why actions are not offered (e.g. publisher credentials, or no control function on AWS).
   * @default - actions are offered, unless the credentials cannot read the channel pointers
   */
  readonly readOnlyReason?: string;
  /** The token; tests pass a fixed one. @default - 24 random bytes, base64url */
  readonly token?: string;
  /** Folder of the page's files. @default - `static/` beside this module */
  readonly staticDir?: string;
  /** How often the page polls. @default 2000 */
  readonly pollIntervalMs?: number;
}

/** A running console. */
export interface ConsoleServer {
  /** The URL to open, token included. */
  readonly url: string;
  /** `http://host:port`, without the token. */
  readonly origin: string;
  readonly token: string;
  readonly port: number;
  /** What the credentials may do, as the page's banner says it. */
  readonly access: ConsoleAccess;
  close(): Promise<void>;
}

/** What the console can do with the credentials it has. */
export interface ConsoleAccess {
  readonly channels: boolean;
  readonly actions: boolean;
  /** Why something is not available; shown as the read-only banner. */
  readonly reason?: string;
}

/** The files the page is made of: a fixed list, so no request path ever reaches the file system. */
const STATIC_FILES: Readonly<Record<string, string>> = {
  '/static/app.js': 'text/javascript; charset=utf-8',
  '/static/app.css': 'text/css; charset=utf-8',
};

/** Everything is served from this server only; no inline script, no frames. */
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'cache-control': 'no-store',
} as const;

function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** What the credentials can do: one LIST of `channels/` tells whether they are an operator's. */
async function probeAccess(backend: ConsoleBackend, readOnlyReason: string | undefined): Promise<ConsoleAccess> {
  try {
    await backend.store.list('channels/', { limit: 1 });
  } catch (error) {
    if (!isAccessDenied(error)) throw error;
    return { channels: false, actions: false, reason: 'These credentials may not read channel pointers (publisher credentials): the console shows uploads only and offers no actions. Use the operator credentials to see channels and roll back.' };
  }
  return readOnlyReason ? { channels: true, actions: false, reason: readOnlyReason } : { channels: true, actions: true };
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function cookieToken(header: string | undefined): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === TOKEN_COOKIE) return value.join('=');
  }
  return undefined;
}

/** An error the API answers with: a `LupError`'s data, or one of the console's own refusals (`CONSOLE_…`). */
export type ConsoleErrorData = Omit<LupErrorData, 'code'> & { readonly code: string };

class HttpError extends Error {
  constructor(readonly status: number, readonly data: ConsoleErrorData) {
    super(data.message);
  }
}

function httpError(status: number, code: string, message: string, location?: LupErrorData['location']): HttpError {
  return new HttpError(status, { code, message, ...(location ? { location } : {}) });
}

function pathId(value: string | undefined, what: string): string {
  const decoded = value === undefined ? '' : decodeURIComponent(value);
  if (!isValidId(decoded)) throw httpError(400, 'USAGE_INVALID', `The ${what} "${decoded}" in the path is not a valid id.`, { field: what });
  return decoded;
}

const MAX_BODY_BYTES = 16 * 1024;

async function readJsonBody(request: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw httpError(413, 'USAGE_INVALID', `The request body is larger than ${MAX_BODY_BYTES} bytes.`);
    chunks.push(chunk as Buffer);
  }
  try {
    const value = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // Reported below, with the rest of the malformed bodies.
  }
  throw httpError(400, 'USAGE_INVALID', 'The request body is not a JSON object.');
}

function actionParams(body: Record<string, unknown>): ActionParams {
  const params: Record<string, string> = {};
  for (const [k, v] of Object.entries(body)) if (typeof v === 'string') params[k] = v;
  if (!params.game || !isValidId(params.game)) throw httpError(400, 'USAGE_INVALID', 'The request names no valid game.', { field: 'game' });
  return params as ActionParams;
}

/** Start the console's server. */
export async function startConsoleServer(options: ConsoleServerOptions): Promise<ConsoleServer> {
  const host = options.host ?? '127.0.0.1';
  if (!isLoopbackHost(host)) throw new Error(`the console listens on loopback only; "${host}" is not a loopback address (127.0.0.1, ::1 or localhost)`);
  const backend = options.backend;
  const token = options.token ?? randomBytes(24).toString('base64url');
  const tokenDigest = digest(token);
  const staticDir = options.staticDir ?? join(__dirname, 'static');
  const files = new Map(Object.entries(STATIC_FILES).map(([path, type]) => [path, { type, body: readFileSync(join(staticDir, path.slice('/static/'.length))) }]));
  const indexHtml = readFileSync(join(staticDir, 'index.html'), 'utf8');
  const access = await probeAccess(backend, options.readOnlyReason);
  const pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
  let allowedHosts = new Set<string>();

  const tokenMatches = (candidate: string | undefined): boolean => candidate !== undefined && timingSafeEqual(digest(candidate), tokenDigest);

  function send(response: ServerResponse, status: number, body: string | Buffer, type: string, headers: Record<string, string> = {}): void {
    response.writeHead(status, { ...SECURITY_HEADERS, 'content-type': type, 'content-length': String(Buffer.byteLength(body)), ...headers });
    response.end(body);
  }

  function sendJson(response: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
    send(response, status, `${JSON.stringify(value)}\n`, 'application/json; charset=utf-8', headers);
  }

  /** Answer 304 when the page already has this version, else send it with its tag. */
  async function sendTagged(request: IncomingMessage, response: ServerResponse, tag: string, read: () => Promise<unknown>): Promise<void> {
    if (request.headers['if-none-match'] === tag) {
      response.writeHead(304, { ...SECURITY_HEADERS, etag: tag });
      response.end();
      return;
    }
    sendJson(response, 200, await read(), { etag: tag });
  }

  function refuse(request: IncomingMessage, url: URL): HttpError | undefined {
    if (!allowedHosts.has((request.headers.host ?? '').toLowerCase())) {
      return httpError(403, 'CONSOLE_HOST_REFUSED', `The console answers only requests to ${[...allowedHosts][0]}; Host "${request.headers.host ?? ''}" was refused (DNS rebinding protection).`);
    }
    const origin = request.headers.origin;
    if (origin !== undefined && origin !== `http://${request.headers.host}`) {
      return httpError(403, 'CONSOLE_ORIGIN_REFUSED', `The console answers only its own page; Origin "${origin}" was refused.`);
    }
    const header = request.headers[TOKEN_HEADER];
    const fromHeader = typeof header === 'string' ? header : undefined;
    // State changes need the header: a cross-site form can send the cookie (were SameSite ignored) but never a custom header.
    const ok = request.method === 'GET'
      ? tokenMatches(fromHeader) || tokenMatches(cookieToken(request.headers.cookie)) || (url.pathname === '/' && tokenMatches(url.searchParams.get('token') ?? undefined))
      : tokenMatches(fromHeader);
    return ok ? undefined : httpError(403, 'CONSOLE_TOKEN_REQUIRED', 'The console needs the token from the URL `lup console` printed; open that URL.');
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://console.invalid');
    const refusal = refuse(request, url);
    if (refusal) throw refusal;
    const method = request.method ?? 'GET';
    const path = url.pathname;
    if (method === 'GET' && path === '/') {
      const html = indexHtml.replace('%TOKEN%', token);
      send(response, 200, html, 'text/html; charset=utf-8', { 'set-cookie': `${TOKEN_COOKIE}=${token}; Path=/; HttpOnly; SameSite=Strict` });
      return;
    }
    const file = method === 'GET' ? files.get(path) : undefined;
    if (file) {
      send(response, 200, file.body, file.type);
      return;
    }
    const parts = path.split('/').slice(1);
    if (parts[0] !== 'api') throw httpError(404, 'CONSOLE_NOT_FOUND', `Nothing at ${path}.`);
    if (method === 'GET') {
      // /api/meta, /api/games, /api/games/<g>/channels|uploads, …/channels/<c>/history, …/releases/<r>
      if (parts.length === 2 && parts[1] === 'meta') {
        sendJson(response, 200, { target: backend.description, access, pollIntervalMs, actions: access.actions ? CONSOLE_ACTIONS.map((a) => ({ name: a.name, label: a.label, fields: a.fields })) : [] });
        return;
      }
      if (parts.length === 2 && parts[1] === 'games') {
        sendJson(response, 200, { games: await listGames(backend.store, { channels: access.channels }) });
        return;
      }
      if (parts[1] === 'games' && parts.length >= 4) {
        const game = pathId(parts[2], 'game');
        if (parts.length === 4 && parts[3] === 'channels') {
          if (!access.channels) {
            sendJson(response, 200, { game, channels: [], unavailable: access.reason });
            return;
          }
          const tag = listingTag(await listPointers(backend.store, game));
          await sendTagged(request, response, tag, async () => ({ game, channels: await readChannels(backend.store, game) }));
          return;
        }
        if (parts.length === 4 && parts[3] === 'uploads') {
          const tag = listingTag(await listStatuses(backend.store, game));
          await sendTagged(request, response, tag, async () => ({ game, uploads: await readUploads(backend.store, game) }));
          return;
        }
        if (parts.length === 6 && parts[3] === 'channels' && parts[5] === 'history') {
          const channel = pathId(parts[4], 'channel');
          const flips = await readChannelHistory(backend.store, game, channel);
          if (!flips) throw httpError(404, 'CHANNEL_EMPTY', `Channel "${channel}" of game "${game}" has no release.`);
          sendJson(response, 200, { game, channel, flips });
          return;
        }
        if (parts.length === 5 && parts[3] === 'releases') {
          const releaseId = pathId(parts[4], 'release');
          const record = await readReleaseRecord(backend.store, game, releaseId);
          if (!record) throw httpError(404, 'RELEASE_NOT_FOUND', `Release "${releaseId}" of game "${game}" has no record.`);
          sendJson(response, 200, record);
          return;
        }
      }
    }
    if (method === 'POST' && parts[1] === 'actions' && parts.length === 4 && (parts[3] === 'preview' || parts[3] === 'run')) {
      const action = findAction(decodeURIComponent(parts[2]));
      const params = actionParams(await readJsonBody(request));
      if (!access.actions) throw httpError(403, 'CONSOLE_READ_ONLY', `The console is read-only: ${access.reason ?? 'actions are not available'}`);
      if (parts[3] === 'preview') {
        sendJson(response, 200, { action: action.name, summary: await action.describe(backend.store, params) });
        return;
      }
      const requestId = typeof params.requestId === 'string' && params.requestId.length <= 200 ? params.requestId : `console-${Date.now()}-${randomBytes(4).toString('hex')}`;
      const controlRequest = action.request(params, requestId);
      sendJson(response, 200, describeOutcome(action, params, requestId, await backend.control(controlRequest)));
      return;
    }
    throw httpError(404, 'CONSOLE_NOT_FOUND', `Nothing at ${method} ${path}.`);
  }

  function fail(response: ServerResponse, error: unknown): void {
    let status = 500;
    let data: ConsoleErrorData;
    if (error instanceof HttpError) {
      status = error.status;
      data = error.data;
    } else if (isLupError(error)) {
      data = error.toJSON();
      status = isAccessDenied(error) ? 403 : data.code === 'USAGE_INVALID' ? 400 : data.code === 'STORE_UNAVAILABLE' ? 502 : 409;
    } else if (error instanceof Error && error.name === 'UsageError') {
      // The target's own refusals (e.g. no --control-function against AWS): the credentials cannot do it from here.
      status = 403;
      data = { code: 'CONSOLE_ACTION_REFUSED', message: error.message };
    } else {
      status = isAccessDenied(error) ? 403 : 500;
      data = { code: status === 403 ? 'CONSOLE_ACTION_REFUSED' : 'INTERNAL', message: error instanceof Error ? error.message : String(error) };
    }
    if (!response.headersSent) sendJson(response, status, { error: { ...data, text: formatError(data as LupErrorData) } });
    else response.destroy();
  }

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => fail(response, error));
  });
  const port = await listen(server, options.port ?? DEFAULT_CONSOLE_PORT, host);
  const authority = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  allowedHosts = new Set([authority, `localhost:${port}`]);
  const origin = `http://${authority}`;
  return {
    url: `${origin}/?token=${token}`,
    origin,
    token,
    port,
    access,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
