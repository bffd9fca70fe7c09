#!/usr/bin/env node
// The `lup` command: loads the TypeScript entry through tsx so that it runs right after `npm ci`.
require('tsx/cjs');
require('./lup.ts');
