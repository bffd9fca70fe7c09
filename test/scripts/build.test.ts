/**
 * scripts/build.cjs: `npm run build`, run by `prepare` (so by the first `npx lup` of a checkout)
 * and by cdk.json before every synth. It builds only when a source changed since the last build
 * (a fingerprint of every source's path, size and mtime, taken when that build started), and says
 * so on stderr first (issue 11: the first `npx lup` used to build for a minute in silence).
 */
import { mkdtempSync, mkdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

type Fingerprint = Record<string, [number, number]>;
const { STAMP, fingerprint, staleSources, buildNotice } = require('../../scripts/build.cjs') as {
  STAMP: string;
  fingerprint(root: string): Fingerprint;
  staleSources(root: string, now?: Fingerprint): string[] | undefined;
  buildNotice(stale: string[] | undefined, force: boolean): string | undefined;
};

const EARLIER = new Date('2026-01-01T00:00:00Z');
const LATER = new Date('2026-01-02T00:00:00Z');

/** A checkout-shaped folder: one source in lib/ and a package-lock.json. */
function checkout(): string {
  const root = mkdtempSync(join(tmpdir(), 'lup-build-'));
  mkdirSync(join(root, 'lib'));
  writeFileSync(join(root, 'lib', 'a.ts'), 'export {};\n');
  writeFileSync(join(root, 'package-lock.json'), '{}\n');
  for (const f of ['lib/a.ts', 'package-lock.json']) utimesSync(join(root, f), EARLIER, EARLIER);
  return root;
}

/** Record a build of `root` as it is now (what build.cjs writes when it finishes). */
function stamp(root: string, sources = fingerprint(root)): void {
  mkdirSync(join(root, 'dist'), { recursive: true });
  writeFileSync(join(root, STAMP), `${JSON.stringify({ builtAt: LATER.toISOString(), sources })}\n`);
}

describe('scripts/build.cjs', () => {
  test('a checkout never built announces the first-run build on one line', () => {
    const stale = staleSources(checkout());
    expect(stale).toBeUndefined();
    expect(buildNotice(stale, false)).toBe('building lup (first run): compiling TypeScript and bundling the Lambda handlers into dist/, about a minute…');
  });

  test('nothing changed since the last build: nothing to build, nothing printed', () => {
    const root = checkout();
    stamp(root);
    const stale = staleSources(root);
    expect(stale).toEqual([]);
    expect(buildNotice(stale, false)).toBeUndefined();
    expect(buildNotice(stale, true)).toMatch(/^building lup \(--force\)/);
  });

  test('a source changed after the last build is named', () => {
    const root = checkout();
    stamp(root);
    writeFileSync(join(root, 'lib', 'a.ts'), 'export const a = 1;\n');
    const stale = staleSources(root);
    expect(stale).toEqual(['lib/a.ts']);
    expect(buildNotice(stale, false)).toBe('building lup: 1 source file(s) changed since the last build (lib/a.ts); about a minute…');
  });

  test('a source saved while a build ran is rebuilt next time, even though it is older than the stamp', () => {
    const root = checkout();
    const atStart = fingerprint(root); // the build fingerprints its sources when it starts
    writeFileSync(join(root, 'lib', 'a.ts'), 'export const edited = true;\n'); // saved mid-build
    utimesSync(join(root, 'lib', 'a.ts'), EARLIER, LATER);
    stamp(root, atStart);
    expect(staleSources(root)).toEqual(['lib/a.ts']);
  });

  test('a dependency update (package-lock.json) and a deleted source make dist/ stale', () => {
    const root = checkout();
    stamp(root);
    utimesSync(join(root, 'package-lock.json'), LATER, LATER);
    expect(staleSources(root)).toEqual(['package-lock.json']);
    stamp(root);
    rmSync(join(root, 'lib', 'a.ts'));
    expect(staleSources(root)).toEqual(['lib/a.ts']);
  });

  test('a stamp from the older format (a date only) counts as no build', () => {
    const root = checkout();
    mkdirSync(join(root, 'dist'));
    writeFileSync(join(root, STAMP), '2026-01-02T00:00:00.000Z\n');
    expect(staleSources(root)).toBeUndefined();
  });
});
