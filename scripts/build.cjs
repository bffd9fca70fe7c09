#!/usr/bin/env node
// `npm run build`, also run by `prepare` (npm ci, npm pack, and the first `npx lup` of a checkout,
// which installs the checkout into npm's npx cache) and by cdk.json's app before every synth.
// Builds dist/ (tsc, the Lambda handler bundles, the console's static files) only when a source
// changed since the last build, so a synth or an `npx lup` after `npm ci` costs nothing; when it
// does build, it says so on stderr first, because it takes about a minute (issue 11). "Changed" is
// judged on a fingerprint (every source's path, size and mtime, taken when the build starts), so an
// edit made during a build, a deleted source and a dependency update (package-lock.json) all make
// the next build run; a build starts from an empty dist/, so removed modules do not linger.
// `--force` builds regardless. .npmrc sets foreground-scripts so npx shows that line.
const { execFileSync } = require('node:child_process');
const { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } = require('node:fs');
const path = require('node:path');

/** What a build reads: a change to any of these makes dist/ stale. */
const SOURCES = ['bin', 'lib', 'lambda', 'scripts/build.cjs', 'scripts/build-handlers.cjs', 'scripts/copy-static.cjs', 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json'];
/** Written last by a successful build: the fingerprint of the sources it started from. */
const STAMP = path.join('dist', '.build-stamp');

function files(root, relative) {
  const full = path.join(root, relative);
  if (!existsSync(full)) return [];
  if (!statSync(full).isDirectory()) return [relative];
  return readdirSync(full).flatMap((name) => files(root, path.join(relative, name)));
}

/** Every source's size and mtime, by path. */
function fingerprint(root) {
  const out = {};
  for (const f of SOURCES.flatMap((s) => files(root, s)).sort()) {
    const st = statSync(path.join(root, f));
    out[f.split(path.sep).join('/')] = [st.size, st.mtimeMs];
  }
  return out;
}

/**
 * The sources added, removed or changed since the last build under `root`, or `undefined` when
 * there was none (or its stamp cannot be read).
 */
function staleSources(root, now = fingerprint(root)) {
  let built;
  try {
    built = JSON.parse(readFileSync(path.join(root, STAMP), 'utf8')).sources;
  } catch {
    return undefined;
  }
  if (!built || typeof built !== 'object') return undefined;
  const changed = Object.keys(now).filter((f) => !built[f] || built[f][0] !== now[f][0] || built[f][1] !== now[f][1]);
  const removed = Object.keys(built).filter((f) => !(f in now));
  return [...changed, ...removed];
}

/** The one line printed before a build, or `undefined` when dist/ is up to date. */
function buildNotice(stale, force) {
  if (stale === undefined) return 'building lup (first run): compiling TypeScript and bundling the Lambda handlers into dist/, about a minute…';
  if (force) return 'building lup (--force): compiling TypeScript and bundling the Lambda handlers into dist/…';
  if (stale.length === 0) return undefined;
  return `building lup: ${stale.length} source file(s) changed since the last build (${stale[0]}${stale.length > 1 ? ', …' : ''}); about a minute…`;
}

function build(root) {
  const sources = fingerprint(root);
  const notice = buildNotice(staleSources(root, sources), process.argv.includes('--force'));
  if (notice === undefined) return;
  process.stderr.write(`${notice}\n`);
  rmSync(path.join(root, 'dist'), { recursive: true, force: true });
  const node = (args) => execFileSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  node([require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json']);
  node([path.join(root, 'scripts', 'build-handlers.cjs')]);
  node([path.join(root, 'scripts', 'copy-static.cjs')]);
  writeFileSync(path.join(root, STAMP), `${JSON.stringify({ builtAt: new Date().toISOString(), sources })}\n`);
}

module.exports = { SOURCES, STAMP, fingerprint, staleSources, buildNotice };
if (require.main === module) build(path.join(__dirname, '..'));
