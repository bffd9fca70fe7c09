/**
 * Benchmark: verification throughput of the pipeline's code against raw hashing of the same bytes,
 * in this process, one core (no server).
 *
 *   npx tsx bench/verify-throughput.ts [--runs 3] [--resources 5000] [--target-mb 150] [--seed 1]
 *
 * Pairs (ratio = raw time / our time, i.e. our throughput as a fraction of raw hashing; target >= 0.9):
 * - zip, stored entries: `verifyArchive(bytesSource(zip))` vs SHA-1 of every resource payload;
 * - zip, deflated entries (as bob writes them): `verifyArchive` vs inflate + SHA-1 of every entry;
 * - the archive step's work (`verifyArchive` through a `hashingSource`, the SHA-256 of the whole zip
 *   taken from the bytes verification reads, as `onArchiveArrived` does) vs inflate + SHA-1 of every
 *   entry and SHA-256 of the zip;
 * - resources: `ResourceDigester` (the resource step's digest path) vs SHA-1 of each payload;
 * - the whole resource step (`onResourceArrived` on the in-memory store: read, digest, header
 *   check, write to the private verified area, delete) vs SHA-1 of each payload.
 */
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { MemoryObjectStore } from '../lib/adapters/memory-store';
import { RecordingInvalidator } from '../lib/adapters/cdn';
import { bytesSource } from '../lib/core/format/byte-source';
import { keys } from '../lib/core/keys';
import { onResourceArrived } from '../lib/core/pipeline/steps';
import { RESOURCE_HEADER_BYTES, ResourceDigester } from '../lib/core/format/resource-header';
import { verifyArchive } from '../lib/core/format/verify-archive';
import { hashingSource } from '../lib/core/format/hashing-source';
import { createContent } from '../lib/factory/content-factory';
import { zipContent } from '../lib/factory/write-content';
import { benchSpecs, flags, isMain, mb, median, table, writeResult } from './support';

async function timed(runs: number, fn: () => Promise<unknown> | unknown): Promise<number> {
  await fn(); // warm-up: JIT and first-touch of the buffers
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await fn();
    samples.push(performance.now() - started);
  }
  return median(samples);
}

export async function benchVerifyThroughput(options: { runs: number; resources: number; targetMb: number; seed: number }) {
  const { specs } = benchSpecs({ resources: options.resources, targetBytes: options.targetMb * 1e6, seed: options.seed });
  const content = createContent({ seed: options.seed, resources: specs, projectTitle: 'Bench Game' });
  const files = content.resources.map((r) => Buffer.from(r.bytes));
  const totalBytes = files.reduce((n, f) => n + f.length, 0);
  const stored = await zipContent(content, { compress: false });
  const deflated = await zipContent(content, { compress: true });
  const compressedEntries = files.map((f) => deflateRawSync(f));
  const manifestDeflated = deflateRawSync(Buffer.from(content.manifestBytes));
  const runs = options.runs;
  const check = async (zip: Buffer): Promise<void> => {
    const report = await verifyArchive(bytesSource(zip), { policy: {} });
    if (!report.valid) throw new Error(`verifyArchive found errors: ${report.errors.map((e) => e.code).join(', ')}`);
  };
  const sha1Payloads = (): void => { for (const f of files) createHash('sha1').update(f.subarray(RESOURCE_HEADER_BYTES)).digest(); };
  const inflateSha1 = (): void => {
    inflateRawSync(manifestDeflated);
    for (const c of compressedEntries) createHash('sha1').update(inflateRawSync(c).subarray(RESOURCE_HEADER_BYTES)).digest();
  };
  const sha256 = (b: Buffer) => (): void => { createHash('sha256').update(b).digest(); };

  const raw = {
    sha1PayloadsMs: await timed(runs, sha1Payloads),
    inflateSha1Ms: await timed(runs, inflateSha1),
    sha256StoredZipMs: await timed(runs, sha256(stored)),
    sha256DeflatedZipMs: await timed(runs, sha256(deflated)),
  };
  const ours = {
    verifyStoredMs: await timed(runs, () => check(stored)),
    verifyDeflatedMs: await timed(runs, () => check(deflated)),
    // As onArchiveArrived does it: one pass, the SHA-256 taken from the bytes verification reads.
    archiveStepDeflatedMs: await timed(runs, async () => {
      const source = hashingSource(bytesSource(deflated), 'sha256');
      const report = await verifyArchive(source, { policy: {} });
      if (!report.valid) throw new Error('verifyArchive found errors');
      await source.digest();
    }),
    digesterMs: await timed(runs, () => {
      for (const [i, f] of files.entries()) {
        const d = new ResourceDigester('sha1');
        d.update(f);
        if (d.finish().digest !== content.resources[i].name) throw new Error('digest mismatch');
      }
    }),
    resourceStepMs: NaN,
  };
  // The whole resource step on the in-memory store: stage every file, then run the step on each.
  const stepSamples: number[] = [];
  for (let r = 0; r <= runs; r++) {
    const store = new MemoryObjectStore();
    const context = { store, cdn: new RecordingInvalidator(), clock: { now: () => new Date() }, cdnBaseUrl: 'https://cdn.test/' };
    for (const [i, f] of files.entries()) await store.put(keys.staged('g', 'u', content.resources[i].name), f);
    const started = performance.now();
    for (const r0 of content.resources) await onResourceArrived(context, keys.staged('g', 'u', r0.name));
    if (r > 0) stepSamples.push(performance.now() - started);
    // Verified resources wait in the game's private area until a release copies them to content/.
    if (store.keys().filter((k) => k.startsWith(keys.verifiedResourcesPrefix('g'))).length !== files.length) throw new Error('the resource step did not verify every resource');
  }
  ours.resourceStepMs = median(stepSamples);
  const archiveRawMs = raw.inflateSha1Ms + raw.sha256DeflatedZipMs;
  const ratios = {
    verifyStored: raw.sha1PayloadsMs / ours.verifyStoredMs,
    verifyDeflated: raw.inflateSha1Ms / ours.verifyDeflatedMs,
    archiveStepDeflated: archiveRawMs / ours.archiveStepDeflatedMs,
    digester: raw.sha1PayloadsMs / ours.digesterMs,
    resourceStep: raw.sha1PayloadsMs / ours.resourceStepMs,
  };
  return {
    resources: files.length, totalBytes, storedZipBytes: stored.length, deflatedZipBytes: deflated.length,
    raw, ours, ratios,
    throughputMBps: Object.fromEntries(Object.entries({ ...raw, ...ours }).map(([k, v]) => [k, totalBytes / 1e6 / (v / 1000)])),
  };
}

async function main(): Promise<void> {
  const f = flags({ runs: '3', resources: '5000', 'target-mb': '150', seed: '1' });
  const out = await benchVerifyThroughput({ runs: Number(f.runs), resources: Number(f.resources), targetMb: Number(f['target-mb']), seed: Number(f.seed) });
  const mbps = (v: number): string => `${(out.totalBytes / 1e6 / (v / 1000)).toFixed(0)} MB/s (${(v / 1000).toFixed(2)} s)`;
  console.log(`${out.resources} resources, ${mb(out.totalBytes)}; zip stored ${mb(out.storedZipBytes)}, deflated ${mb(out.deflatedZipBytes)}`);
  table([
    ['ours', 'throughput', 'raw baseline', 'throughput', 'ratio', 'target'],
    ['verifyArchive, stored zip', mbps(out.ours.verifyStoredMs), 'SHA-1 of payloads', mbps(out.raw.sha1PayloadsMs), out.ratios.verifyStored.toFixed(2), '>= 0.9'],
    ['verifyArchive, deflated zip', mbps(out.ours.verifyDeflatedMs), 'inflate + SHA-1', mbps(out.raw.inflateSha1Ms), out.ratios.verifyDeflated.toFixed(2), '>= 0.9'],
    ['archive step (verify + SHA-256 of zip)', mbps(out.ours.archiveStepDeflatedMs), 'inflate + SHA-1 + SHA-256', mbps(out.raw.inflateSha1Ms + out.raw.sha256DeflatedZipMs), out.ratios.archiveStepDeflated.toFixed(2), '>= 0.9'],
    ['ResourceDigester (resource step digest)', mbps(out.ours.digesterMs), 'SHA-1 of payloads', mbps(out.raw.sha1PayloadsMs), out.ratios.digester.toFixed(2), '>= 0.9'],
    ['onResourceArrived on memory store', mbps(out.ours.resourceStepMs), 'SHA-1 of payloads', mbps(out.raw.sha1PayloadsMs), out.ratios.resourceStep.toFixed(2), '>= 0.9'],
  ]);
  console.log(`wrote ${await writeResult('verify-throughput', { flags: f, ...out })}`);
}

if (isMain(module)) main().catch((error) => { console.error(error); process.exitCode = 1; });
