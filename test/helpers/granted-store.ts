/**
 * An {@link ObjectStore} that refuses, as S3 would with AccessDenied, every call the given IAM grants
 * do not allow: the handlers' scenarios run through it under each function's synthesized policy
 * (and the publisher's), so a grant narrower than the code fails a test, not a release on AWS.
 * Grants are `action pattern` pairs as `test/constructs/helpers.ts` `allowedPairs` renders them.
 */
import type { CopyOptions, ObjectStore, PutOptions } from '../../lib/core/ports';
import { patternMatches } from '../constructs/helpers';

export class GrantedStore implements ObjectStore {
  /** Every refused call, `action key`. */
  readonly denied: string[] = [];
  /** Every allowed call, `action key` (what the function actually did). */
  readonly used = new Set<string>();

  constructor(private readonly inner: ObjectStore, private readonly grants: ReadonlySet<string>, private readonly who: string) {}

  private check(action: 's3:GetObject' | 's3:PutObject' | 's3:DeleteObject' | 's3:ListBucket', key: string): void {
    const allowed = action === 's3:ListBucket'
      ? this.grants.has('s3:ListBucket <bucket>')
      : [...this.grants].some((g) => g.startsWith(`${action} `) && patternMatches(g.slice(action.length + 1), key));
    if (!allowed) {
      this.denied.push(`${action} ${key}`);
      throw Object.assign(new Error(`AccessDenied: ${this.who} may not ${action} ${key}`), { name: 'AccessDenied' });
    }
    this.used.add(`${action} ${key}`);
  }

  async head(key: string) { this.check('s3:GetObject', key); return this.inner.head(key); }
  async get(key: string) { this.check('s3:GetObject', key); return this.inner.get(key); }
  async readPrefix(key: string, lengthBytes: number) { this.check('s3:GetObject', key); return this.inner.readPrefix(key, lengthBytes); }
  async getStream(key: string) { this.check('s3:GetObject', key); return this.inner.getStream(key); }
  async openRange(key: string) { this.check('s3:GetObject', key); return this.inner.openRange(key); }
  async list(prefix: string, options?: { limit?: number }) { this.check('s3:ListBucket', prefix); return this.inner.list(prefix, options); }
  async put(key: string, body: Uint8Array | string, options?: PutOptions) { this.check('s3:PutObject', key); return this.inner.put(key, body, options); }
  async copy(fromKey: string, toKey: string, options?: CopyOptions) {
    this.check('s3:GetObject', fromKey);
    this.check('s3:PutObject', toKey);
    return this.inner.copy(fromKey, toKey, options);
  }
  async delete(key: string) { this.check('s3:DeleteObject', key); return this.inner.delete(key); }
}
