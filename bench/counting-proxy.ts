/**
 * A counting HTTP proxy for the benchmarks: put it between `lup publish` and the S3 endpoint to
 * count exactly what the publisher sends (requests by method, request bytes with headers).
 */
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What went through the proxy. */
export interface ProxyCounts {
  requests: number;
  byMethod: Record<string, number>;
  /** Request bodies plus request lines and headers. */
  bytesSent: number;
  bodyBytesSent: number;
  bytesReceived: number;
}

/** A running proxy. */
export interface CountingProxy {
  readonly endpoint: string;
  readonly counts: ProxyCounts;
  reset(): void;
  close(): Promise<void>;
}

function headerBytes(req: IncomingMessage): number {
  let n = `${req.method} ${req.url} HTTP/1.1\r\n`.length + 2;
  for (let i = 0; i < req.rawHeaders.length; i += 2) n += req.rawHeaders[i].length + 2 + req.rawHeaders[i + 1].length + 2;
  return n;
}

/** Start a proxy to `upstream` (an `http://host:port` URL) on a free local port. */
export async function startCountingProxy(upstream: string): Promise<CountingProxy> {
  const target = new URL(upstream);
  const fresh = (): ProxyCounts => ({ requests: 0, byMethod: {}, bytesSent: 0, bodyBytesSent: 0, bytesReceived: 0 });
  let counts = fresh();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    counts.requests += 1;
    counts.byMethod[req.method ?? '?'] = (counts.byMethod[req.method ?? '?'] ?? 0) + 1;
    counts.bytesSent += headerBytes(req);
    const up = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      upRes.on('data', (d: Buffer) => { counts.bytesReceived += d.length; });
      upRes.pipe(res);
    });
    up.on('error', (error) => { res.writeHead(502); res.end(String(error)); });
    req.on('data', (d: Buffer) => { counts.bytesSent += d.length; counts.bodyBytesSent += d.length; });
    req.pipe(up);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    get counts() { return counts; },
    reset: () => { counts = fresh(); },
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
