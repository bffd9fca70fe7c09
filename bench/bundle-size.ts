/**
 * Benchmark: size of each Lambda handler bundle (cold start), built with esbuild as the CDK
 * stack builds them (lib/constructs/handler-bundling.ts: minified, ES-module main fields first), platform node, CJS. Two ways: with the AWS SDK bundled,
 * and with `@aws-sdk/*` external (the SDK of the Lambda runtime). Target: at most 1 MB.
 *
 *   npx tsx bench/bundle-size.ts [--target node22]
 */
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { HANDLER_BUNDLING } from '../lib/constructs/handler-bundling';
import { FUNCTION_HANDLER_FILES } from '../lib/constructs/pipeline-functions';
import { ROOT, flags, isMain, table, writeResult } from './support';

interface BundleSize {
  readonly bytes: number;
  readonly gzipBytes: number;
  readonly buildMs: number;
}

export async function benchBundleSize(target: string) {
  const rows: { name: string; file: string; sdkBundled: BundleSize; sdkExternal: BundleSize }[] = [];
  for (const [name, file] of Object.entries(FUNCTION_HANDLER_FILES)) {
    const sizes: Record<string, BundleSize> = {};
    for (const [variant, external] of [['sdkBundled', []], ['sdkExternal', ['@aws-sdk/*']]] as const) {
      const started = Date.now();
      const result = await build({
        // The stack's own options (lib/constructs/handler-bundling.ts): minified, and the SDK's ES
        // module builds preferred so that esbuild can drop what a handler does not use.
        entryPoints: [join(ROOT, 'lambda', file)], bundle: true, minify: HANDLER_BUNDLING.minify, platform: 'node', target, format: 'cjs',
        mainFields: [...HANDLER_BUNDLING.mainFields],
        external: [...external], write: false, logLevel: 'silent',
      });
      const code = result.outputFiles[0].contents;
      sizes[variant] = { bytes: code.length, gzipBytes: gzipSync(code).length, buildMs: Date.now() - started };
    }
    rows.push({ name, file, sdkBundled: sizes.sdkBundled, sdkExternal: sizes.sdkExternal });
  }
  return rows;
}

async function main(): Promise<void> {
  const f = flags({ target: 'node22' });
  const rows = await benchBundleSize(f.target);
  const kb = (b: number): string => `${(b / 1024).toFixed(0)} KiB`;
  table([
    ['function', 'SDK bundled', 'gzip', 'SDK external', 'gzip', 'target'],
    ...rows.map((r) => [r.name, kb(r.sdkBundled.bytes), kb(r.sdkBundled.gzipBytes), kb(r.sdkExternal.bytes), kb(r.sdkExternal.gzipBytes), '<= 1 MB']),
  ]);
  console.log(`wrote ${await writeResult('bundle-size', { flags: f, rows })}`);
}

if (isMain(module)) main().catch((error) => { console.error(error); process.exitCode = 1; });
