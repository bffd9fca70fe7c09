#!/usr/bin/env bash
# CI step: synthesise the studio stack the way `cdk deploy` does — with real esbuild bundling of
# every handler (the unit tests in test/constructs skip bundling) and the cdk-nag AwsSolutions
# checks (synthesis fails on any unacknowledged finding) — then check the bundles and the
# configuration gate:
#   1. `cdk synth` succeeds offline, with zero cdk-nag findings in validation-report.json;
#   2. one bundle per handler, none of which pulls in aws-cdk-lib or lib/constructs
#      (read from each bundle's source map);
#   3. a broken configuration stops the app before synthesis, exit code non-zero, naming the field.
#
# Usage: scripts/synth-check.sh [path/to/studio.json]     (default: examples/studio.json)
set -euo pipefail
cd "$(dirname "$0")/.."

config="${1:-examples/studio.json}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

start=$(date +%s)
npx cdk synth --quiet --output "$out/assembly" -c config="$config"
echo "synth-check: cdk synth with bundling took $(( $(date +%s) - start )) s"

node - "$out/assembly" <<'EOF'
const fs = require('node:fs');
const path = require('node:path');
const dir = process.argv[2];
const fail = (msg) => { console.error(`synth-check: ${msg}`); process.exit(1); };

const report = JSON.parse(fs.readFileSync(path.join(dir, 'validation-report.json'), 'utf8'));
const findings = (report.pluginReports ?? []).flatMap((p) => p.violations ?? []);
if (findings.length > 0) fail(`validation report lists ${findings.length} finding(s): ${findings.map((v) => v.ruleName).join(', ')}`);

const bundles = fs.readdirSync(dir).filter((d) => d.startsWith('asset.') && fs.existsSync(path.join(dir, d, 'index.js')));
const EXPECTED = 6; // resource, archive, manifest, release, control, sweeper
if (bundles.length !== EXPECTED) fail(`expected ${EXPECTED} handler bundles, found ${bundles.length}`);
for (const b of bundles) {
  const map = JSON.parse(fs.readFileSync(path.join(dir, b, 'index.js.map'), 'utf8'));
  const bad = map.sources.filter((s) => /node_modules\/aws-cdk-lib\/|node_modules\/constructs\/|lib\/constructs\//.test(s));
  if (bad.length > 0) fail(`${b} bundles CDK code: ${bad.slice(0, 3).join(', ')}`);
  const entry = map.sources.find((s) => /lambda\/[a-z-]+\.ts$/.test(s)) ?? '?';
  const size = fs.statSync(path.join(dir, b, 'index.js')).size;
  if (size > 1_000_000) fail(`${b} (${entry}) is ${size} bytes, over the 1 MB bundle budget`);
  // The bundle must load as Lambda loads it (the handler's context is built lazily, at the first event).
  const handler = require(path.join(dir, b, 'index.js')).handler;
  if (typeof handler !== 'function') fail(`${b} (${entry}) exports no handler function`);
  console.log(`synth-check: ${path.basename(entry).padEnd(22)} ${String(size).padStart(9)} bytes, loads`);
}
console.log('synth-check: zero cdk-nag findings; no bundle imports aws-cdk-lib');
EOF

if npx cdk synth --quiet --output "$out/bad" -c studioConfig='{"games":[{"id":"g1","projectTitle":""}]}' 2>"$out/bad.err"; then
  echo "synth-check: a configuration with an empty projectTitle was synthesised" >&2
  exit 1
fi
grep -q 'at field games\[0\].projectTitle' "$out/bad.err" || { cat "$out/bad.err" >&2; echo "synth-check: the error does not name games[0].projectTitle" >&2; exit 1; }
echo "synth-check: a broken configuration is refused before synthesis, naming the field"
