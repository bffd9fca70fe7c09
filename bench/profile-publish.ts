/**
 * Diagnostic (not a figure of BENCHMARKS.md): one loose or zip publish through the embedded
 * pipeline stack in this process, counting the store requests the pipeline makes (by operation,
 * and by how long they took) and the publisher's requests, with the phases timed. Run it under
 * `node --cpu-prof` to see where the CPU goes:
 *
 *   npx tsx bench/profile-publish.ts [--mode loose|zip] [--resources 5000] [--target-mb 150]
 *   node --cpu-prof --cpu-prof-dir bench/out/prof --import tsx bench/profile-publish.ts
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { S3ObjectStore } from '../lib/adapters/s3-store';
import { ServerFilesStore } from '../lib/local/server-files-store';
import { keys } from '../lib/core/keys';
import { runControl } from '../lib/core/pipeline/control';
import { startPipelineStack } from '../lib/local/pipeline-stack';
import { planPublish } from '../lib/publisher/plan';
import { publishPlan } from '../lib/publisher/publish';
import type { Target } from '../lib/cli/target';
import { benchContent, flags, isMain, mb, ms, table, writeResult } from './support';

type Op = 'head' | 'get' | 'getStream' | 'openRange' | 'list' | 'put' | 'copy' | 'delete';
const OPS: Op[] = ['head', 'get', 'getStream', 'openRange', 'list', 'put', 'copy', 'delete'];

/** Count every call of the pipeline's store methods (the local stack's direct store), with their total time. */
function instrument(): { counts: Record<string, { calls: number; ms: number }>; reset(): void } {
  const counts: Record<string, { calls: number; ms: number }> = {};
  const proto = ServerFilesStore.prototype as unknown as Record<Op, (...args: unknown[]) => Promise<unknown>>;
  for (const op of OPS) {
    const original = proto[op];
    proto[op] = async function (this: unknown, ...args: unknown[]) {
      const started = performance.now();
      try {
        return await original.apply(this, args);
      } finally {
        const c = (counts[op] ??= { calls: 0, ms: 0 });
        c.calls += 1;
        c.ms += performance.now() - started;
      }
    };
  }
  return { counts, reset: () => { for (const k of Object.keys(counts)) delete counts[k]; } };
}

async function main(): Promise<void> {
  const f = flags({ mode: 'loose', resources: '5000', 'target-mb': '150', seed: '1', concurrency: '32' });
  const content = await benchContent({ resources: Number(f.resources), targetBytes: Number(f['target-mb']) * 1e6, seed: Number(f.seed) });
  const dataDir = await mkdtemp(join(tmpdir(), 'lup-profile-'));
  const counter = instrument();
  const stack = await startPipelineStack({ dataDir, s3Port: 0, cdnPort: 0, sweepIntervalMs: 0 });
  try {
    // The publisher goes through the gate over HTTP, as `lup publish --endpoint` does.
    const target: Target = {
      store: new S3ObjectStore({ client: stack.client, bucket: stack.bucket }), client: stack.client, bucket: stack.bucket, cdnBaseUrl: stack.cdnBaseUrl,
      description: 'profile', local: true, control: (request) => runControl(stack.context, request), close: async () => undefined,
    };
    const t0 = performance.now();
    const plan = await planPublish([f.mode === 'loose' ? content.looseDir : content.zipPath], { precheck: true });
    const planned = performance.now();
    counter.reset();
    const forwardedBefore = stack.gate.stats.forwarded;
    let uploadsDoneAt = 0;
    const result = await publishPlan({
      target, plan, game: 'prof', channel: 'stable', concurrency: Number(f.concurrency),
      onProgress: (p) => { if (p.phase === 'waiting' && !uploadsDoneAt) uploadsDoneAt = performance.now(); },
    });
    const live = performance.now();
    await stack.router.idle();
    const pointer = await stack.store.head(keys.pointer('prof', 'stable'));
    const rows: (string | number)[][] = [['operation', 'pipeline calls', 'total ms (overlapping)', 'ms per call']];
    for (const [op, c] of Object.entries(counter.counts)) rows.push([op, c.calls, Math.round(c.ms), (c.ms / c.calls).toFixed(1)]);
    console.log(`${f.mode}: ${plan.resources.length || plan.archives.length} object(s), ${mb(plan.totalBytes)}; state ${result.state}, pointer ${pointer ? 'present' : 'missing'}`);
    console.log(`plan ${ms(planned - t0)}, uploads+request ${ms(uploadsDoneAt - planned)}, verdict ${ms(live - uploadsDoneAt)}; timings ${JSON.stringify(result.timings)}`);
    console.log(`requests through the gate: ${stack.gate.stats.forwarded - forwardedBefore} (the publisher's; the pipeline reaches the files directly, counted below)`);
    console.log(`router: ${JSON.stringify(stack.router.stats)}`);
    table(rows);
    await writeResult(`profile-publish-${f.mode}`, { flags: f, timings: result.timings, planMs: planned - t0, counts: counter.counts, router: stack.router.stats, gateForwarded: stack.gate.stats.forwarded - forwardedBefore });
  } finally {
    await stack.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

if (isMain(module)) main().catch((error) => { console.error(error); process.exitCode = 1; });

