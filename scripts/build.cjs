#!/usr/bin/env node
// `npm run build`, also run by `prepare` (npm ci, npm pack, and the first `npx lup` of a checkout,
// which installs the checkout into npm's npx cache) and by cdk.json's app before every synth.
// Builds dist/ (tsc, the Lambda handler bundles, the console's static files) only when a source
// is newer than the last build, so a synth or an `npx lup` after `npm ci` costs nothing; when it
// does build, it says so on stderr first, because it takes about a minute (issue 11).
// `--force` builds regardless. .npmrc sets foreground-scripts so npx shows that line.
const { execFileSync } = require('node:child_process');
const { existsSync, readdirSync, statSync, writeFileSync } = require('node:fs');
const path = require('node:path');

/** What a build reads: a change to any of these makes dist/ stale. */
const SOURCES = ['bin', 'lib', 'lambda', 'scripts/build.cjs', 'scripts/build-handlers.cjs', 'scripts/copy-static.cjs', 'package.json', 'tsconfig.json', 'tsconfig.build.json'];
/** Written last by a successful build; its time is the build's. */
const STAMP = path.join('dist', '.build-stamp');

function files(root, relative) {
  const full = path.join(root, relative);
  if (!existsSync(full)) return [];
  if (!statSync(full).isDirectory()) return [relative];
  return readdirSync(full).flatMap((name) => files(root, path.join(relative, name)));
}

/** The sources newer than the last build under `root`, or `undefined` when there was none. */
function staleSources(root) {
  const stamp = path.join(root, STAMP);
  if (!existsSync(stamp)) return undefined;
  const built = statSync(stamp).mtimeMs;
  return SOURCES.flatMap((s) => files(root, s)).filter((f) => statSync(path.join(root, f)).mtimeMs > built);
}

/** The one line printed before a build, or `undefined` when dist/ is up to date. */
function buildNotice(stale, force) {
  if (stale === undefined) return 'building lup (first run): compiling TypeScript and bundling the Lambda handlers into dist/, about a minute…';
  if (force) return 'building lup (--force): compiling TypeScript and bundling the Lambda handlers into dist/…';
  if (stale.length === 0) return undefined;
  return `building lup: ${stale.length} source file(s) changed since the last build (${stale[0]}${stale.length > 1 ? ', …' : ''}); about a minute…`;
}

function build(root) {
  const notice = buildNotice(staleSources(root), process.argv.includes('--force'));
  if (notice === undefined) return;
  process.stderr.write(`${notice}\n`);
  const node = (args) => execFileSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  node([require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json']);
  node([path.join(root, 'scripts', 'build-handlers.cjs')]);
  node([path.join(root, 'scripts', 'copy-static.cjs')]);
  writeFileSync(path.join(root, STAMP), `${new Date().toISOString()}\n`);
}

module.exports = { SOURCES, STAMP, staleSources, buildNotice };
if (require.main === module) build(path.join(__dirname, '..'));
