/**
 * Rules of the {@link ObjectStore} port's write options that every adapter applies the same way.
 */
import { lupError } from './errors';
import type { PutOptions } from './ports';

/** S3 refuses a write with both `If-Match` and `If-None-Match`; adapters refuse it before doing anything. */
export function checkOneCondition(operation: string, key: string, options: PutOptions): void {
  if (options.ifMatch !== undefined && options.ifNoneMatch !== undefined) {
    throw lupError({
      code: 'INTERNAL',
      location: { key },
      expected: 'at most one of ifMatch / ifNoneMatch',
      actual: `ifMatch ${options.ifMatch}, ifNoneMatch ${options.ifNoneMatch}`,
      message: `${operation} of ${key} was given both ifMatch and ifNoneMatch; S3 refuses that combination.`,
    });
  }
}
