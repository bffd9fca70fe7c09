/**
 * Per-key readers-writer locks of the local S3 server's objects, shared by everything that touches
 * s3rver's files: the gate (HTTP requests) and the pipeline's direct store (server-files-store.ts).
 * A write holds its key exclusively from the check of its conditions until the object, its MD5 and
 * its metadata are all in place; a read of a small object holds it shared while it reads, so no
 * reader sees bytes and an ETag of two different versions.
 */

/** A per-key readers-writer lock, granted in arrival order. */
export class KeyLocks {
  private readonly entries = new Map<string, { readers: number; writer: boolean; queue: { write: boolean; grant: () => void }[] }>();

  acquire(key: string, write: boolean): Promise<() => void> {
    let entry = this.entries.get(key);
    if (!entry) {
      entry = { readers: 0, writer: false, queue: [] };
      this.entries.set(key, entry);
    }
    const e = entry;
    return new Promise((resolve) => {
      e.queue.push({ write, grant: () => resolve(this.releaser(key, write)) });
      this.pump(key);
    });
  }

  /** Acquire several keys without deadlock: always in sorted order. */
  async acquireAll(wanted: readonly { key: string; write: boolean }[]): Promise<() => void> {
    const merged = new Map<string, boolean>();
    for (const w of wanted) merged.set(w.key, (merged.get(w.key) ?? false) || w.write);
    const releases: (() => void)[] = [];
    for (const key of [...merged.keys()].sort()) releases.push(await this.acquire(key, merged.get(key) ?? true));
    return () => releases.reverse().forEach((release) => release());
  }

  private releaser(key: string, write: boolean): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const entry = this.entries.get(key);
      if (!entry) return;
      if (write) entry.writer = false;
      else entry.readers -= 1;
      this.pump(key);
    };
  }

  private pump(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    while (entry.queue.length > 0) {
      const next = entry.queue[0];
      const free = next.write ? !entry.writer && entry.readers === 0 : !entry.writer;
      if (!free) break;
      entry.queue.shift();
      if (next.write) entry.writer = true;
      else entry.readers += 1;
      next.grant();
    }
    if (!entry.writer && entry.readers === 0 && entry.queue.length === 0) this.entries.delete(key);
  }
}

/** The lock key of an object: bucket and key. */
export function lockKeyOf(bucket: string, key: string): string {
  return `${bucket}/${key}`;
}
