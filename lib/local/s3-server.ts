/**
 * The local S3 server: s3rver, silent, on 127.0.0.1, its data in a folder that survives restarts.
 * It sits behind the conditional-write gate; nobody but the gate should talk to it directly,
 * because s3rver ignores `If-Match` / `If-None-Match` on writes, serves unsigned requests, never
 * verifies SigV4 signatures and joins keys into file paths (the gate checks all of that).
 *
 * s3rver runs in a worker thread of its own: the gate, the event router and the pipeline's
 * handlers keep the main thread, and a two-core machine uses both cores (on a loose publish the
 * server's request handling, file I/O set-up and MD5 hashing were about a third of the one
 * thread; BENCHMARKS.md, issue 12). Events cross to the main thread as messages, and a write's
 * response is held until the main thread has queued its event, so a client that sees its PUT
 * succeed can rely on the pipeline knowing about it, as with s3rver in-process.
 */
import { mkdir } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';

/** An S3-style event record as s3rver emits it (subset we read). Keys are NOT URL-encoded. */
export interface S3EventRecordLike {
  readonly eventName: string;
  readonly s3: {
    readonly bucket: { readonly name: string };
    readonly object: { readonly key: string; readonly size?: number; readonly eTag?: string };
  };
}

/** An S3-style event as s3rver emits it. */
export interface S3EventLike {
  readonly Records: readonly S3EventRecordLike[];
}

/** Options of {@link startS3Server}. */
export interface StartS3ServerRequest {
  /** Folder holding the buckets; created if missing and kept across restarts. */
  readonly directory: string;
  /** Bucket to create when it does not exist yet. */
  readonly bucket: string;
  /**
   * Port to listen on; 0 picks a free one.
   * @default 0
   */
  readonly port?: number;
  /**
   * Interface to listen on. Loopback only: the local server has no access control.
   * @default "127.0.0.1"
   */
  readonly host?: string;
}

/** A running local S3 server. */
export interface S3ServerHandle {
  readonly host: string;
  readonly port: number;
  /** `http://host:port`. */
  readonly endpoint: string;
  /** Subscribe to s3rver's S3-style event records (ObjectCreated:Put/Post/Copy, ObjectRemoved:Delete). */
  onEvent(listener: (event: S3EventLike) => void): () => void;
  /** Stop listening and drop open connections. */
  close(): Promise<void>;
}

/** Start s3rver on `host:port` with its data under `directory`, creating `bucket` if missing. */
export async function startS3Server(request: StartS3ServerRequest): Promise<S3ServerHandle> {
  const host = request.host ?? '127.0.0.1';
  await mkdir(request.directory, { recursive: true });
  const worker = new Worker(S3_WORKER_SOURCE, {
    eval: true,
    workerData: {
      s3rverPath: require.resolve('s3rver'),
      options: {
        address: host,
        port: request.port ?? 0,
        silent: true,
        directory: request.directory,
        // Path-style only: the gate forwards the client's Host header unchanged, and a host name that
        // is not an IP must not be mistaken for a virtual-hosted bucket.
        vhostBuckets: false,
        resetOnClose: false,
        configureBuckets: [{ name: request.bucket }],
      },
    },
  });
  const listeners = new Set<(event: S3EventLike) => void>();
  let closing = false;
  const port = await new Promise<number>((resolve, reject) => {
    const failed = (error: unknown): void => reject(error instanceof Error ? error : new Error(String(error)));
    worker.once('error', failed);
    worker.once('exit', (code) => failed(new Error(`The local S3 server's worker exited (code ${code}) before it was listening.`)));
    worker.on('message', function ready(message: WorkerMessage) {
      if (message.type === 'ready') {
        worker.off('message', ready);
        worker.removeAllListeners('error').removeAllListeners('exit');
        resolve(message.port);
      } else if (message.type === 'failed') {
        failed(Object.assign(new Error(message.message), { code: message.code }));
      }
    });
  }).catch(async (error: unknown) => {
    await worker.terminate();
    throw error;
  });
  worker.on('message', (message: WorkerMessage) => {
    if (message.type !== 'event') return;
    try {
      for (const listener of listeners) listener(message.event);
    } finally {
      worker.postMessage({ type: 'ack', id: message.id });
    }
  });
  worker.on('error', (error) => {
    // The stack cannot work without its S3 server: fail loudly rather than serve errors.
    process.nextTick(() => { throw new Error(`The local S3 server failed: ${error.message}`, { cause: error }); });
  });
  worker.on('exit', (code) => {
    if (!closing) process.nextTick(() => { throw new Error(`The local S3 server stopped unexpectedly (worker exit code ${code}).`); });
  });
  return {
    host,
    port,
    endpoint: `http://${host}:${port}`,
    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      if (closing) return;
      closing = true;
      listeners.clear();
      const closed = new Promise<void>((resolve) => {
        worker.on('message', (message: WorkerMessage) => { if (message.type === 'closed') resolve(); });
        worker.once('exit', () => resolve());
      });
      worker.postMessage({ type: 'close' });
      await closed;
      await worker.terminate();
    },
  };
}

/** Messages from the worker. */
type WorkerMessage =
  | { type: 'ready'; port: number }
  | { type: 'failed'; message: string; code?: string }
  | { type: 'event'; id: number; event: S3EventLike }
  | { type: 'closed' };

/**
 * The worker: s3rver (CommonJS, no types, so plain JavaScript here), a middleware in front of
 * s3rver's own that holds each response until the main thread acknowledged the events the request
 * emitted, and the MD5 reuse for copies below. Messages in: `ack`, `close`; out: see
 * {@link WorkerMessage}.
 *
 * What it changes in s3rver's filesystem store, each explained where it is done: whole writes
 * (bodies and copies go to a temporary file renamed into place), copies that reuse the source's
 * MD5 (s3rver 3.7 read every copy again to hash it: 150 MB per copy of an archive), and deletes
 * that do not read the whole parent folder.
 */
const S3_WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { AsyncLocalStorage } = require('node:async_hooks');
const fs = require('node:fs/promises');
const path = require('node:path');
// Listings walk the bucket folder (readdirSync, then statSync of each name). The pipeline's direct
// store deletes objects from the main thread meanwhile, and a name gone between the two calls made
// the whole listing fail with 500 InternalError (a peer's upload listed while the pipeline drained
// it). A name that vanished is skipped, as S3 leaves a deleted key out. Installed before s3rver's
// filesystem store loads, which takes \`walk\` from its utilities when it is first required.
const s3rverUtils = require(path.join(path.dirname(workerData.s3rverPath), 'utils.js'));
const fsSync = require('node:fs');
const vanished = (error) => error && (error.code === 'ENOENT' || error.code === 'ENOTDIR');
s3rverUtils.walk = function* walk(dir, recurseFilter) {
  let names;
  try { names = fsSync.readdirSync(dir); } catch (error) { if (vanished(error)) return; throw error; }
  for (const name of names) {
    const filePath = path.posix.join(dir, name);
    let stats;
    try { stats = fsSync.statSync(filePath); } catch (error) { if (vanished(error)) continue; throw error; }
    if (!stats.isDirectory()) yield filePath;
    else if (!recurseFilter || recurseFilter(filePath)) yield* walk(filePath, recurseFilter);
  }
};
const S3rver = require(workerData.s3rverPath);

const server = new S3rver(workerData.options);
const pendingAcks = new AsyncLocalStorage();
const waiting = new Map();
let nextEventId = 0;

server.middleware.unshift(async (ctx, next) => {
  const request = { ctx, acks: [] };
  await pendingAcks.run(request, next);
  await Promise.all(request.acks);
});
server.on('event', (event) => {
  const id = ++nextEventId;
  const request = pendingAcks.getStore();
  if (request) request.acks.push(new Promise((resolve) => waiting.set(id, resolve)));
  parentPort.postMessage({ type: 'event', id, event: JSON.parse(JSON.stringify(event)) });
});

const store = server.store;

// AbortMultipartUpload: s3rver 3.7 has no route for it (405), so an abandoned upload's parts stayed
// in its data folder for good: every multipart upload a client gave up (lib-storage aborts on a
// failed part, or when lup publish's local check refuses the archive). Here the upload's folder is
// removed when the upload exists and belongs to the URL's key (the gate checked the upload id's form).
server.middleware.splice(1, 0, async (ctx, next) => {
  if (ctx.method !== 'DELETE' || typeof ctx.query.uploadId !== 'string') return next();
  const answer = (status, code, message) => {
    ctx.status = status;
    if (code) {
      ctx.type = 'application/xml';
      ctx.body = '<?xml version="1.0" encoding="UTF-8"?>\\n<Error><Code>' + code + '</Code><Message>' + message + '</Message></Error>';
    }
  };
  const uploadId = ctx.query.uploadId;
  const parts = ctx.path.split('/').slice(1).map(decodeURIComponent);
  const bucket = parts[0];
  const key = parts.slice(1).join('/');
  if (!/^[0-9a-f]{32}$/.test(uploadId) || !bucket || !key) return answer(400, 'InvalidArgument', 'Invalid upload id or key.');
  const uploadDir = path.join(store.getResourcePath(bucket, undefined, 'uploads'), uploadId);
  const owner = await fs.readFile(path.join(uploadDir, 'key'), 'utf8').catch(() => undefined);
  if (owner !== key) return answer(404, 'NoSuchUpload', 'The specified upload does not exist.');
  await fs.rm(uploadDir, { recursive: true, force: true });
  return answer(204);
});

// Whole writes: s3rver streams a PUT's body into the object's file in place and writes its MD5 only
// when the body ended. A client that aborts mid-body left the file half-rewritten under the old
// object's MD5 (its ETag), and the request's promise never settled (an open file per abort). Here
// the body goes to a temporary file beside the object, renamed over it only once complete; an
// aborted body removes the temporary file and leaves the object as it was.
const { pipeline } = require('node:stream/promises');
const { Transform } = require('node:stream');
const crypto = require('node:crypto');
const { createReadStream, createWriteStream } = require('node:fs');
let temporaryId = 0;
// The temporary file is opened before any byte of the body is read; its folder may have been removed
// by a DELETE of the folder's last object in between (see deleteObject), so it is made again.
async function openTemporary(temporary) {
  for (let attempt = 0; ; attempt++) {
    await fs.mkdir(path.dirname(temporary), { recursive: true });
    try {
      return await fs.open(temporary, 'w');
    } catch (error) {
      if (error.code !== 'ENOENT' || attempt >= 5) throw error;
    }
  }
}
async function writeWhole(content, finalPath) {
  const temporary = finalPath + '.lup-partial-' + process.pid + '-' + (++temporaryId);
  const md5 = crypto.createHash('md5');
  let size = 0;
  try {
    const file = await openTemporary(temporary);
    if (Buffer.isBuffer(content)) {
      md5.update(content);
      size = content.length;
      try { await file.writeFile(content); } finally { await file.close(); }
    } else {
      await pipeline(content, new Transform({ transform(chunk, _encoding, callback) { md5.update(chunk); size += chunk.length; callback(null, chunk); } }), createWriteStream(null, { fd: file }));
    }
    await fs.rename(temporary, finalPath);
  } catch (error) {
    await fs.unlink(temporary).catch(() => undefined);
    throw error;
  }
  return { size, md5: md5.digest('hex') };
}
store.putObject = async (object) => {
  const objectPath = store.getResourcePath(object.bucket, object.key, 'object');
  await fs.mkdir(path.dirname(objectPath), { recursive: true });
  const { size, md5 } = await writeWhole(object.content, objectPath);
  await store.putMetadata(object.bucket, object.key, object.metadata, md5);
  return { size, md5 };
};
store.putPart = async (bucket, uploadId, partNumber, content) => {
  const partPath = path.join(store.getResourcePath(bucket, undefined, 'uploads'), uploadId, String(partNumber));
  await fs.mkdir(path.dirname(partPath), { recursive: true });
  const { size, md5 } = await writeWhole(content, partPath);
  await fs.writeFile(partPath + '.md5', md5);
  return { size, md5 };
};

// Deletes: s3rver removes the object's files, then reads the whole parent folder synchronously
// (readdirSync) to decide whether to remove it, and the folder of an upload holds three files per
// object: every DELETE of a 5,000-resource upload read up to 15,000 names on the server's thread
// (34 s for 5,000 DELETEs; bench/s3rver-alone.ts). rmdir refuses a folder that is not empty by
// itself, so the empty-folder clean-up needs no listing.
store.deleteObject = async (bucket, key) => {
  await Promise.all(['object', 'object.md5', 'metadata.json'].map((resource) =>
    fs.unlink(store.getResourcePath(bucket, key, resource)).catch((error) => { if (error.code !== 'ENOENT') throw error; })));
  const bucketPath = store.getBucketPath(bucket);
  for (let folder = path.dirname(store.getResourcePath(bucket, key, 'object')); folder.startsWith(bucketPath + path.sep); folder = path.dirname(folder)) {
    try {
      await fs.rmdir(folder);
    } catch (error) {
      if (error.code === 'ENOTEMPTY' || error.code === 'EEXIST' || error.code === 'ENOENT') break;
      throw error;
    }
  }
};

// Copies to another key are made here: the object copied by the kernel into a temporary file renamed
// into place (a reader never sees half a copy), the source's MD5 reused (the bytes are the source's,
// so is their MD5, the ETag S3 reports for a copy of a single-part object) instead of s3rver reading
// the copy again, and none of fs-extra's extra checks per file. No object file is ever rewritten in
// place (s3rver's own copy wrote into the destination's file): the local stack's direct store makes
// its copies hard links of the source's file, which an in-place write would change under both keys.
// CompleteMultipartUpload: s3rver reads the key from the upload's folder (not the request's: an
// upload started for A and completed at B's URL wrote A, past the gate's lock and conditions on A),
// and joins the listed parts with a stream that has no error handling (a missing part crashed the
// server). Here the upload must belong to the URL's key, every part must exist with the ETag the
// client lists, and the parts are read one after another through one stream that fails cleanly.
const S3Error = require(path.join(path.dirname(workerData.s3rverPath), 'models', 'error.js'));
const { Readable } = require('node:stream');
store.putObjectMultipart = async (bucket, uploadId, parts) => {
  const uploadDir = path.join(store.getResourcePath(bucket, undefined, 'uploads'), uploadId);
  const [key, metadata] = await Promise.all([
    fs.readFile(path.join(uploadDir, 'key'), 'utf8'),
    fs.readFile(path.join(uploadDir, 'metadata'), 'utf8').then(JSON.parse),
  ]).catch((error) => {
    if (error.code === 'ENOENT') throw new S3Error('NoSuchUpload', 'The specified upload does not exist.', { UploadId: uploadId });
    throw error;
  });
  const request = pendingAcks.getStore();
  if (request && request.ctx.params && request.ctx.params.key !== key) {
    throw new S3Error('NoSuchUpload', 'The specified upload does not exist for this key.', { UploadId: uploadId });
  }
  const ordered = [...parts].sort((a, b) => a.number - b.number);
  for (const part of ordered) {
    const partPath = path.join(uploadDir, String(part.number));
    const md5 = await fs.readFile(partPath + '.md5', 'utf8').catch(() => undefined);
    if (md5 === undefined || md5 !== part.etag) {
      throw new S3Error('InvalidPart', 'One or more of the specified parts could not be found or its entity tag does not match.', { UploadId: uploadId, PartNumber: part.number });
    }
  }
  const joined = Readable.from((async function* () {
    for (const part of ordered) yield* createReadStream(path.join(uploadDir, String(part.number)));
  })());
  const result = await store.putObject({ bucket, key, content: joined, metadata });
  await fs.rm(uploadDir, { recursive: true, force: true });
  return result;
};

const copyObject = store.copyObject.bind(store);
store.copyObject = async (srcBucket, srcKey, destBucket, destKey, replacementMetadata) => {
  const source = store.getResourcePath(srcBucket, srcKey, 'object');
  const target = store.getResourcePath(destBucket, destKey, 'object');
  if (source === target) return copyObject(srcBucket, srcKey, destBucket, destKey, replacementMetadata);
  // Without a replacement the source's stored metadata is copied, as s3rver does (but not in place).
  const metadata = replacementMetadata || await fs.readFile(store.getResourcePath(srcBucket, srcKey, 'metadata.json'), 'utf8').then(JSON.parse).catch((error) => {
    if (error.code !== 'ENOENT') throw error;
    return {};
  });
  const md5 = await fs.readFile(source + '.md5', 'utf8').catch((error) => {
    if (error.code !== 'ENOENT') throw error;
    return undefined;
  });
  const temporary = target + '.lup-partial-' + process.pid + '-' + (++temporaryId);
  try {
    const file = await openTemporary(temporary);
    await file.close();
    await fs.copyFile(source, temporary);
    // An older object's .md5 must never describe the new bytes, not even until putMetadata below.
    await fs.unlink(target + '.md5').catch((error) => { if (error.code !== 'ENOENT') throw error; });
    await fs.rename(temporary, target);
  } catch (error) {
    await fs.unlink(temporary).catch(() => undefined);
    throw error;
  }
  await store.putMetadata(destBucket, destKey, metadata, md5);
  return store.getMetadata(destBucket, destKey);
};

parentPort.on('message', async (message) => {
  if (message.type === 'ack') {
    const resolve = waiting.get(message.id);
    waiting.delete(message.id);
    if (resolve) resolve();
  } else if (message.type === 'close') {
    for (const resolve of waiting.values()) resolve();
    waiting.clear();
    const closing = server.close();
    // Keep-alive sockets would hold close() open until they time out.
    if (server.httpServer && server.httpServer.closeAllConnections) server.httpServer.closeAllConnections();
    await closing.catch(() => undefined);
    parentPort.postMessage({ type: 'closed' });
  }
});

server.run().then(
  (address) => parentPort.postMessage({ type: 'ready', port: address.port }),
  (error) => parentPort.postMessage({ type: 'failed', message: String((error && error.message) || error), code: error && error.code }),
);
`;
