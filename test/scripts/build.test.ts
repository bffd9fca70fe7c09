/**
 * scripts/build.cjs: `npm run build`, run by `prepare` (so by the first `npx lup` of a checkout)
 * and by cdk.json before every synth. It builds only when a source is newer than the last build,
 * and says so on stderr first (issue 11: the first `npx lup` used to build for a minute in silence).
 */
import { mkdtempSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const { STAMP, staleSources, buildNotice } = require('../../scripts/build.cjs') as {
  STAMP: string;
  staleSources(root: string): string[] | undefined;
  buildNotice(stale: string[] | undefined, force: boolean): string | undefined;
};

/** A checkout-shaped folder: one source in lib/, and optionally a build stamp. */
function checkout(options: { stampAt?: Date; sourceAt: Date }): string {
  const root = mkdtempSync(join(tmpdir(), 'lup-build-'));
  mkdirSync(join(root, 'lib'));
  writeFileSync(join(root, 'lib', 'a.ts'), 'export {};\n');
  utimesSync(join(root, 'lib', 'a.ts'), options.sourceAt, options.sourceAt);
  if (options.stampAt) {
    mkdirSync(join(root, 'dist'));
    writeFileSync(join(root, STAMP), 'x\n');
    utimesSync(join(root, STAMP), options.stampAt, options.stampAt);
  }
  return root;
}

const EARLIER = new Date('2026-01-01T00:00:00Z');
const LATER = new Date('2026-01-02T00:00:00Z');

describe('scripts/build.cjs', () => {
  test('a checkout never built announces the first-run build on one line', () => {
    const stale = staleSources(checkout({ sourceAt: EARLIER }));
    expect(stale).toBeUndefined();
    expect(buildNotice(stale, false)).toBe('building lup (first run): compiling TypeScript and bundling the Lambda handlers into dist/, about a minute…');
  });

  test('dist/ newer than every source: nothing to build, nothing printed', () => {
    const stale = staleSources(checkout({ sourceAt: EARLIER, stampAt: LATER }));
    expect(stale).toEqual([]);
    expect(buildNotice(stale, false)).toBeUndefined();
    expect(buildNotice(stale, true)).toMatch(/^building lup \(--force\)/);
  });

  test('a source changed after the last build is named', () => {
    const stale = staleSources(checkout({ sourceAt: LATER, stampAt: EARLIER }));
    expect(stale).toEqual([join('lib', 'a.ts')]);
    expect(buildNotice(stale, false)).toBe(`building lup: 1 source file(s) changed since the last build (${join('lib', 'a.ts')}); about a minute…`);
  });
});
