#!/usr/bin/env node
// Package-time step of `npm run build`: bundle every Lambda handler once, with the stack's own
// esbuild options (lib/constructs/handler-bundling.ts), into dist/handlers/<function>/index.js.
// The stack uses these prebuilt bundles when they exist (as CDK ships its own handlers prebuilt),
// so a studio's `cdk synth` needs no bundler and prints no esbuild output. Run after tsc.
const path = require('node:path');
const { buildSync } = require('esbuild');

const root = path.join(__dirname, '..');
const { HANDLER_BUNDLING, HANDLER_NODE_MAJOR } = require(path.join(root, 'dist', 'lib', 'constructs', 'handler-bundling.js'));
const { STEP_HANDLER_FILES } = require(path.join(root, 'dist', 'lib', 'routes.js'));
// Kept in step with FUNCTION_HANDLER_FILES in lib/constructs/pipeline-functions.ts (not required
// here: that module loads aws-cdk-lib); test/lambda/prebuilt-handlers.test.ts compares the two.
const files = { ...STEP_HANDLER_FILES, control: 'control.ts', sweeper: 'sweeper.ts' };

for (const [name, file] of Object.entries(files)) {
  buildSync({
    entryPoints: [path.join(root, 'lambda', file)],
    outfile: path.join(root, 'dist', 'handlers', name, 'index.js'),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: `node${HANDLER_NODE_MAJOR}`,
    minify: HANDLER_BUNDLING.minify,
    sourcemap: HANDLER_BUNDLING.sourceMap,
    mainFields: [...HANDLER_BUNDLING.mainFields],
    logLevel: 'warning',
  });
}
