/**
 * The data folder's advisory lock: one local stack per data folder. Two stacks over the same
 * folder would each run their own conditional-write gate, so two compare-and-swap flips of one
 * pointer could both succeed and one release would be lost (issue 11, item 2). The holder's pid
 * and endpoints are written into `<dataDir>/lup.lock`, so a refusal can name it; a lock left by a
 * process that no longer exists is taken over.
 */
import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lupError } from '../core/errors';

/** File name of the lock inside the data folder. */
export const DATA_DIR_LOCK_FILE = 'lup.lock';

/** What the lock file records about its holder. */
export interface DataDirLockHolder {
  readonly pid: number;
  /** `lup local`, or the in-process stack of a command such as `lup publish`. */
  readonly command: string;
  readonly startedAt: string;
  /** S3 endpoint (the gate), once the stack listens. */
  readonly s3Endpoint?: string;
  /** Local CDN base URL, once the stack listens. */
  readonly cdnBaseUrl?: string;
}

/** A held lock. Record the endpoints once known; release it when the stack stops. */
export interface DataDirLock {
  readonly file: string;
  update(endpoints: { s3Endpoint: string; cdnBaseUrl: string }): void;
  release(): void;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readHolder(file: string): DataDirLockHolder | undefined {
  try {
    const holder = JSON.parse(readFileSync(file, 'utf8')) as DataDirLockHolder;
    return Number.isInteger(holder.pid) ? holder : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Take the data folder's lock, or throw `DATA_DIR_IN_USE` naming the holder (pid, command,
 * endpoints) and the way out. A lock whose pid is gone, or that cannot be read, is stale and taken over.
 */
export function lockDataDir(request: { dataDir: string; command: string }): DataDirLock {
  mkdirSync(request.dataDir, { recursive: true });
  const file = join(request.dataDir, DATA_DIR_LOCK_FILE);
  let holder: DataDirLockHolder = { pid: process.pid, command: request.command, startedAt: new Date().toISOString() };
  for (let attempt = 0; ; attempt += 1) {
    try {
      writeFileSync(file, JSON.stringify(holder), { flag: 'wx' });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 3) throw error;
    }
    const current = readHolder(file);
    if (current && isAlive(current.pid)) {
      const where = current.s3Endpoint ? `S3 ${current.s3Endpoint}, CDN ${current.cdnBaseUrl}` : 'still starting';
      const useIt = current.s3Endpoint ? `pass --endpoint ${current.s3Endpoint} to use that stack` : 'wait for it to start and pass its --endpoint';
      throw lupError({
        code: 'DATA_DIR_IN_USE',
        location: { file },
        expected: 'no other local stack on this data folder',
        actual: `${current.command}, pid ${current.pid} (${where}), since ${current.startedAt}`,
        message: `The data folder ${request.dataDir} is in use by ${current.command} (pid ${current.pid}; ${where}): ${useIt}, stop it, or choose another --data-dir.`,
      });
    }
    // Stale (its process is gone) or unreadable: take it over.
    try {
      unlinkSync(file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  let released = false;
  const onExit = (): void => release();
  function release(): void {
    if (released) return;
    released = true;
    process.off('exit', onExit);
    // Only our own lock is removed: never one a later holder took over.
    if (readHolder(file)?.pid === process.pid && readHolder(file)?.startedAt === holder.startedAt) unlinkSync(file);
  }
  process.on('exit', onExit);
  return {
    file,
    update(endpoints) {
      holder = { ...holder, ...endpoints };
      writeFileSync(file, JSON.stringify(holder));
    },
    release,
  };
}
