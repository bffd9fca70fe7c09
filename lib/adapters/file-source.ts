/**
 * Local-file {@link ByteSource}: random access into a file on disk through one open
 * `FileHandle`, so a zip can be read without loading it into memory.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { isLupError, lupError, type LupError } from '../core/errors';
import { checkRange } from '../core/format/byte-source';
import type { ByteSource } from '../core/ports';

/**
 * Bytes read per `FileHandle.read` call; also the largest chunk a read yields. Each call is a
 * thread-pool round trip: at 64 KiB, checking a 150 MB archive made some 2,300 of them and spent
 * most of its time waiting (BENCHMARKS.md, issue 12).
 */
const CHUNK_BYTES = 1024 * 1024;

/** Open-file errors that mean "the input you named is not there or not readable by you". */
const INPUT_ERRNO_CODES = new Set(['ENOENT', 'ENOTDIR', 'EACCES', 'EPERM', 'EISDIR', 'ELOOP', 'ENAMETOOLONG']);

/** A {@link ByteSource} over an open local file; call `close()` when done with it. */
export interface FileByteSource extends ByteSource {
  /** The path the source was opened with, for error locations. */
  readonly path: string;
  /** Closes the file. Safe to call more than once; reads after closing fail. */
  close(): Promise<void>;
}

/**
 * Opens `path` for random-access reads. The size is taken once, at open: a file that shrinks
 * afterwards makes reads fail rather than return short data.
 *
 * Fails with a `LupError`: `INPUT_NOT_FOUND` when the file is missing, unreadable or not a
 * regular file; `INTERNAL` (with the `fs` error as `cause`) for other I/O failures.
 *
 * @example
 * const source = await fileByteSource('build/liveupdate/resources.zip');
 * try { await forEachArchiveEntry(source, visit, { location: { file: source.path } }); }
 * finally { await source.close(); }
 */
export async function fileByteSource(path: string): Promise<FileByteSource> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw fsError(error, path, 'cannot be opened for reading');
  }
  let sizeBytes: number;
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) {
      throw lupError({
        code: 'INPUT_NOT_FOUND',
        message: `${path} is not a regular file; pass the path of a zip archive.`,
        location: { file: path },
      });
    }
    sizeBytes = stats.size;
  } catch (error) {
    await handle.close().catch(() => undefined);
    throw fsError(error, path, 'cannot be inspected');
  }

  let closed: Promise<void> | undefined;
  return {
    path,
    sizeBytes,
    read(start: number, end: number): AsyncIterable<Uint8Array> {
      checkRange(start, end, sizeBytes);
      return readRange(handle, path, start, end);
    },
    close(): Promise<void> {
      closed ??= handle.close().catch((error: unknown) => {
        throw fsError(error, path, 'could not be closed');
      });
      return closed;
    },
  };
}

async function* readRange(handle: FileHandle, path: string, start: number, end: number): AsyncGenerator<Uint8Array> {
  let position = start;
  while (position < end) {
    // A fresh buffer per chunk: the consumer may keep a chunk after asking for the next one.
    const buffer = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, end - position));
    let bytesRead: number;
    try {
      ({ bytesRead } = await handle.read(buffer, 0, buffer.length, position));
    } catch (error) {
      throw fsError(error, path, 'could not be read', position);
    }
    if (bytesRead === 0) {
      throw lupError({
        code: 'INTERNAL',
        message: `${path} ended early; was it modified while being read?`,
        location: { file: path, offset: position },
        expected: `${end} bytes`,
        actual: `${position} bytes`,
      });
    }
    position += bytesRead;
    yield bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead);
  }
}

function fsError(error: unknown, path: string, what: string, offset?: number): LupError {
  if (isLupError(error)) return error;
  const errno = (error as NodeJS.ErrnoException | undefined)?.code;
  const isInputProblem = errno !== undefined && INPUT_ERRNO_CODES.has(errno);
  return lupError(
    {
      code: isInputProblem ? 'INPUT_NOT_FOUND' : 'INTERNAL',
      message: `${path} ${what}${errno ? ` (${errno})` : ''}; check the path and its permissions.`,
      location: offset === undefined ? { file: path } : { file: path, offset },
      actual: error instanceof Error ? error.message : String(error),
    },
    error,
  );
}
