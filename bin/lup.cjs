#!/usr/bin/env node
// The `lup` command: loads the TypeScript entry through tsx so that it runs right after `npm ci`.
// The AWS SDK warns on every run that Node 20 support ends in 2027; lup supports Node 20 until then (README).
if (process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED === undefined) process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
require('tsx/cjs');
require('./lup.ts');
