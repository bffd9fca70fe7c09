/**
 * Benchmark: time from the last upload (the release request, which `lup publish` writes last) to
 * the flipped channel pointer, for a loose release of 5 000 resources on `lup local`.
 *
 *   npx tsx bench/flip-latency.ts [--runs 3] [--resources 5000] [--target-mb 150] [--seed 1] [--poll-ms 20]
 *
 * Two figures, each a fresh game per run:
 * - end to end: `publishPlan` (the code of `lup publish`) in this process against the server; the
 *   clock starts when the release request's PUT is acknowledged and stops when a HEAD of the
 *   pointer, polled every `--poll-ms`, first finds it. It includes the pipeline's backlog: the
 *   resources uploaded just before the request and not yet verified.
 * - release step: the resources and the manifest are uploaded first and the script waits until the
 *   pipeline has verified all of them (the upload folder is empty), then PUTs the release request;
 *   the clock runs from that PUT's acknowledgement to the pointer. This is the release work alone:
 *   completeness check of 5 000 digests, release record, CAS flip.
 * Target: at most 1 s.
 */
import { performance } from 'node:perf_hooks';
import pLimit from 'p-limit';
import { uploadFile } from '../lib/adapters/s3-uploader';
import { keys } from '../lib/core/keys';
import { RELEASE_REQUEST_SCHEMA_VERSION, type ReleaseRequest } from '../lib/core/documents/release-request';
import { encodeDocument } from '../lib/core/documents/release-record';
import { runControl } from '../lib/core/pipeline/control';
import { RecordingInvalidator } from '../lib/adapters/cdn';
import { systemClock } from '../lib/core/ports';
import type { Target } from '../lib/cli/target';
import { planPublish, type PublishPlan } from '../lib/publisher/plan';
import { newUploadId, publishPlan } from '../lib/publisher/publish';
import { benchContent, benchServer, flags, isMain, median, ms, table, waitDrained, writeResult, type BenchServer } from './support';

function targetOf(server: BenchServer): Target {
  const context = { store: server.store, cdn: new RecordingInvalidator(), clock: systemClock, cdnBaseUrl: server.cdn };
  return {
    store: server.store, client: server.client, bucket: server.bucket, cdnBaseUrl: server.cdn, description: 'bench', local: true,
    control: (request) => runControl(context, request), close: async () => undefined,
  };
}

/** Resolve with the time the pointer is first seen, polling from now. */
function watchPointer(server: BenchServer, key: string, pollMs: number): { seen: Promise<number>; stop(): void } {
  let stopped = false;
  const seen = (async () => {
    while (!stopped) {
      if (await server.store.head(key)) return performance.now();
      await new Promise((r) => setTimeout(r, pollMs));
    }
    return NaN;
  })();
  return { seen, stop: () => { stopped = true; } };
}

async function endToEnd(server: BenchServer, plan: PublishPlan, game: string, pollMs: number): Promise<{ latencyMs: number; stagedAtAck: number }> {
  let ackAt = 0;
  let watch: ReturnType<typeof watchPointer> | undefined;
  let stagedAtAck = -1;
  const result = await publishPlan({
    target: targetOf(server), plan, game, channel: 'stable',
    onProgress: (p) => {
      if (p.phase !== 'waiting' || ackAt) return;
      ackAt = performance.now();
      watch = watchPointer(server, keys.pointer(game, 'stable'), pollMs);
      void server.store.list(`staging/${game}/`).then((l) => { stagedAtAck = l.length; });
    },
  });
  if (result.state !== 'live' || !watch) throw new Error(`publish ended ${result.state}`);
  const seenAt = await watch.seen;
  return { latencyMs: seenAt - ackAt, stagedAtAck };
}

async function releaseOnly(server: BenchServer, plan: PublishPlan, game: string, pollMs: number): Promise<{ latencyMs: number; verifyMs: number }> {
  const upload = newUploadId();
  const limit = pLimit(32);
  const started = performance.now();
  const files = [...plan.resources, ...(plan.manifest ? [plan.manifest] : [])];
  await Promise.all(files.map((file) => limit(() => uploadFile({ client: server.client, bucket: server.bucket, key: keys.staged(game, upload, file.name), path: file.path, sizeBytes: file.sizeBytes }))));
  await waitDrained(server, keys.uploadPrefix(game, upload));
  const verifyMs = performance.now() - started;
  const request: ReleaseRequest = {
    schemaVersion: RELEASE_REQUEST_SCHEMA_VERSION, game, upload, channel: 'stable', kind: 'loose', archives: [],
    manifestSha256: plan.manifest?.sha256, requestedAt: new Date().toISOString(),
  };
  await uploadFile({ client: server.client, bucket: server.bucket, key: keys.releaseRequest(game, upload), body: encodeDocument(request), sizeBytes: 0, contentType: 'application/json' });
  const ackAt = performance.now();
  const watch = watchPointer(server, keys.pointer(game, 'stable'), pollMs);
  const timeout = setTimeout(() => watch.stop(), 120_000);
  const seenAt = await watch.seen;
  clearTimeout(timeout);
  if (!Number.isFinite(seenAt)) throw new Error('the pointer never appeared');
  return { latencyMs: seenAt - ackAt, verifyMs };
}

export async function benchFlipLatency(server: BenchServer, options: { runs: number; resources: number; targetMb: number; seed: number; pollMs: number }) {
  const content = await benchContent({ resources: options.resources, targetBytes: options.targetMb * 1e6, seed: options.seed });
  const plan = await planPublish([content.looseDir], { precheck: false });
  const stamp = Date.now().toString(36);
  const e2e = [];
  const release = [];
  for (let r = 0; r < options.runs; r++) {
    const a = await endToEnd(server, plan, `bench-flip-e2e-${stamp}-${r}`, options.pollMs);
    e2e.push(a);
    console.log(`  run ${r + 1}/${options.runs} end to end: ${ms(a.latencyMs)} (staged objects still waiting at the request's ack: ${a.stagedAtAck})`);
    const b = await releaseOnly(server, plan, `bench-flip-rel-${stamp}-${r}`, options.pollMs);
    release.push(b);
    console.log(`  run ${r + 1}/${options.runs} release step: ${ms(b.latencyMs)} (uploads + verification before it: ${ms(b.verifyMs)})`);
  }
  return {
    resources: plan.resources.length, e2e, release,
    summary: { endToEndMs: median(e2e.map((s) => s.latencyMs)), releaseStepMs: median(release.map((s) => s.latencyMs)), pollMs: options.pollMs },
  };
}

async function main(): Promise<void> {
  const f = flags({ runs: '3', resources: '5000', 'target-mb': '150', seed: '1', 'poll-ms': '20' });
  const server = await benchServer();
  try {
    const out = await benchFlipLatency(server, { runs: Number(f.runs), resources: Number(f.resources), targetMb: Number(f['target-mb']), seed: Number(f.seed), pollMs: Number(f['poll-ms']) });
    table([
      ['figure', `median of ${f.runs}`, 'target'],
      [`last upload -> pointer, end to end (${out.resources} resources)`, ms(out.summary.endToEndMs), '<= 1 s'],
      ['release request -> pointer, content already verified', ms(out.summary.releaseStepMs), '<= 1 s'],
    ]);
    console.log(`wrote ${await writeResult('flip-latency', { flags: f, ...out })}`);
  } finally {
    await server.stop();
  }
}

if (isMain(module)) main().catch((error) => { console.error(error); process.exitCode = 1; });
