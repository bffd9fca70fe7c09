/**
 * The staged-rollout cohort rule against the vectors the Lua client kit checks too
 * (client-kit/spec/fixtures/cohort-vectors.json, read by client-kit/spec/cohort_spec.lua). The
 * vectors were computed by an independent Python implementation, itself checked against the
 * published FNV-1a test values (0xe40c292c for "a", 0xbf9cf968 for "foobar").
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cohortBucket, fnv1a32, takesCandidate } from '../../../lib/core/documents/cohort';

interface Vectors {
  readonly hash: { input: string; fnv1a32: number; note: string }[];
  readonly buckets: { salt: string; installId: string; fnv1a32: number; bucket: number }[];
  readonly cohorts: { salt: string; installId: string; state: 'active' | 'halted'; share: number; candidate: boolean; note: string }[];
}

const vectors = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'client-kit', 'spec', 'fixtures', 'cohort-vectors.json'), 'utf8')) as Vectors;

describe('cohort rule', () => {
  it('has vectors, one with multi-byte UTF-8', () => {
    expect(vectors.buckets.length).toBeGreaterThanOrEqual(10);
    expect(vectors.buckets.some((v) => Buffer.byteLength(v.installId) > v.installId.length)).toBe(true);
  });

  it.each(vectors.hash)('FNV-1a 32 of "$input" is $fnv1a32', ({ input, fnv1a32: expected }) => {
    expect(fnv1a32(input)).toBe(expected);
  });

  it.each(vectors.buckets)('$salt:$installId is in bucket $bucket', ({ salt, installId, fnv1a32: hash, bucket }) => {
    expect(fnv1a32(`${salt}:${installId}`)).toBe(hash);
    expect(cohortBucket(salt, installId)).toBe(bucket);
  });

  it.each(vectors.cohorts)('$note', ({ salt, installId, state, share, candidate }) => {
    expect(takesCandidate({ salt, state, share }, installId)).toBe(candidate);
  });

  it('widening only adds installs; a new salt draws another cohort', () => {
    const ids = Array.from({ length: 2000 }, (_, i) => `install-${i}`);
    const cohort = (salt: string, share: number): Set<string> => new Set(ids.filter((id) => takesCandidate({ salt, share, state: 'active' }, id)));
    const at1 = cohort('aa', 100);
    const at10 = cohort('aa', 1000);
    expect([...at1].every((id) => at10.has(id))).toBe(true);
    const other = cohort('bb', 1000);
    const overlap = [...at10].filter((id) => other.has(id)).length;
    // independent draws of 10 % overlap in about 1 % of 2000 installs (20); the same cohort would be ~200
    expect(overlap).toBeLessThan(60);
  });
});
