/**
 * Benchmark: publish throughput against `lup local`, side by side with `rclone copy` (16
 * transfers) and `aws s3 cp --recursive` of the same folder / zip to the same server.
 *
 *   npx tsx bench/publish.ts [--runs 3] [--modes loose,zip] [--tools lup,rclone,aws]
 *                            [--resources 5000] [--target-mb 150] [--seed 1]
 *
 * - lup: `node dist/bin/lup.js publish <path> --game <fresh> --channel stable --endpoint <s3> --json`,
 *   a fresh game id per run so nothing is skipped. "upload done" is the wall time minus the wait
 *   for the verdict (`timings.liveMs - timings.uploadedMs`); "live" is the whole wall time
 *   (process start to exit: planning and the local check, uploads, pipeline verification and the
 *   flip).
 * - peers upload to `staging/peer-<tool>-<run>/u1/`, a staging prefix, so the server runs the same
 *   pipeline steps on their objects as on lup's (a peer upload is never released: it has no
 *   release request). After each upload the script waits until the pipeline drained the prefix,
 *   so every measurement starts on an idle server; that drain time is reported too.
 * The order of the tools rotates from run to run. The ratio is lup's median over the faster
 * peer's median (target: at most 0.8).
 */
import { performance } from 'node:perf_hooks';
import { AWS_CLI, awsEnv, benchContent, benchServer, flags, isMain, lupPublish, mb, median, ms, rcloneEnv, run, table, waitDrained, writeResult, type BenchContent, type BenchServer } from './support';

type Tool = 'lup' | 'rclone' | 'aws';
type Mode = 'loose' | 'zip';

interface Sample {
  readonly tool: Tool;
  readonly mode: Mode;
  readonly run: number;
  /** Process start to exit. */
  readonly wallMs: number;
  /** Process start to "everything sent" (lup: wall minus the wait for the verdict; peers: wall). */
  readonly uploadDoneMs: number;
  /** After the tool exited, until the pipeline had no staged object left under its prefix. */
  readonly drainMs: number;
  readonly timings?: unknown;
}

async function once(server: BenchServer, content: BenchContent, tool: Tool, mode: Mode, runIndex: number, stamp: string): Promise<Sample> {
  const path = mode === 'loose' ? content.looseDir : content.zipPath;
  if (tool === 'lup') {
    const game = `bench-lup-${mode}-${stamp}-${runIndex}`;
    const { run: r, result } = await lupPublish(server, [path], game);
    const t = result.timings;
    if (!t) throw new Error('lup publish --json has no timings');
    const drainMs = await waitDrained(server, `staging/${game}/`);
    return { tool, mode, run: runIndex, wallMs: r.wallMs, uploadDoneMs: r.wallMs - (t.liveMs - t.uploadedMs), drainMs, timings: t };
  }
  const prefix = `staging/peer-${tool}-${mode}-${stamp}-${runIndex}/u1/`;
  let r;
  if (tool === 'rclone') {
    r = await run('rclone', ['copy', path, `lup:${server.bucket}/${prefix}`, '--transfers', '16'], { env: rcloneEnv(server) });
  } else {
    const args = mode === 'loose'
      ? ['s3', 'cp', path, `s3://${server.bucket}/${prefix}`, '--recursive', '--endpoint-url', server.s3, '--only-show-errors']
      : ['s3', 'cp', path, `s3://${server.bucket}/${prefix}game.zip`, '--endpoint-url', server.s3, '--only-show-errors'];
    r = await run(AWS_CLI, args, { env: await awsEnv() });
  }
  if (r.code !== 0) throw new Error(`${tool} failed (${r.code}): ${r.stderr.slice(0, 2000)}`);
  const drainMs = await waitDrained(server, prefix);
  return { tool, mode, run: runIndex, wallMs: r.wallMs, uploadDoneMs: r.wallMs, drainMs };
}

/** Run the publish benchmark; returns the samples and the summary. */
export async function benchPublish(server: BenchServer, options: { runs: number; modes: Mode[]; tools: Tool[]; resources: number; targetMb: number; seed: number }) {
  const content = await benchContent({ resources: options.resources, targetBytes: options.targetMb * 1e6, seed: options.seed });
  console.log(`content: ${content.resources} resources, ${mb(content.resourceBytes)} loose (median ${content.sizes.medianBytes} B, p99 ${content.sizes.p99Bytes} B, max ${content.sizes.maxBytes} B) + manifest ${mb(content.manifestBytes)}; zip ${mb(content.zipBytes)}`);
  const stamp = Date.now().toString(36);
  const samples: Sample[] = [];
  for (const mode of options.modes) {
    for (let r = 0; r < options.runs; r++) {
      const order = options.tools.map((_, i) => options.tools[(i + r) % options.tools.length]);
      for (const tool of order) {
        const started = performance.now();
        const s = await once(server, content, tool, mode, r, stamp);
        samples.push(s);
        console.log(`  ${mode} run ${r + 1}/${options.runs} ${tool.padEnd(6)} upload done ${ms(s.uploadDoneMs)}, exit ${ms(s.wallMs)}, drained ${ms(s.drainMs)} later (${ms(performance.now() - started)} in all)`);
      }
    }
  }
  const summary = options.modes.map((mode) => {
    const of = (tool: Tool, f: (s: Sample) => number): number => median(samples.filter((s) => s.mode === mode && s.tool === tool).map(f));
    const peers = options.tools.filter((t) => t !== 'lup');
    const fastest = peers.length ? Math.min(...peers.map((t) => of(t, (s) => s.wallMs))) : NaN;
    const fastestPeer = peers.find((t) => of(t, (s) => s.wallMs) === fastest);
    const fastestPeerDrained = fastestPeer ? of(fastestPeer, (s) => s.wallMs + s.drainMs) : NaN;
    return {
      mode,
      medians: Object.fromEntries(options.tools.map((t) => [t, { uploadDoneMs: of(t, (s) => s.uploadDoneMs), wallMs: of(t, (s) => s.wallMs), drainMs: of(t, (s) => s.drainMs) }])),
      fastestPeer,
      ratioUploadDone: of('lup', (s) => s.uploadDoneMs) / fastest,
      ratioLive: of('lup', (s) => s.wallMs) / fastest,
      /** lup live against the peer's upload plus the pipeline's verification of it. */
      ratioLiveVsPeerVerified: of('lup', (s) => s.wallMs) / fastestPeerDrained,
    };
  });
  return { content, samples, summary };
}

async function main(): Promise<void> {
  const f = flags({ runs: '3', modes: 'loose,zip', tools: 'lup,rclone,aws', resources: '5000', 'target-mb': '150', seed: '1' });
  const server = await benchServer();
  try {
    const out = await benchPublish(server, {
      runs: Number(f.runs), modes: f.modes.split(',') as Mode[], tools: f.tools.split(',') as Tool[],
      resources: Number(f.resources), targetMb: Number(f['target-mb']), seed: Number(f.seed),
    });
    const rows: (string | number)[][] = [['mode', 'tool', 'upload done (median)', 'exit / live (median)', 'pipeline drain after exit', 'runs']];
    for (const s of out.summary) {
      for (const [tool, m] of Object.entries(s.medians)) rows.push([s.mode, tool, ms(m.uploadDoneMs), ms(m.wallMs), ms(m.drainMs), String(f.runs)]);
      rows.push([s.mode, `ratio lup / ${s.fastestPeer}`, s.ratioUploadDone.toFixed(2), s.ratioLive.toFixed(2), `live vs peer+drain ${s.ratioLiveVsPeerVerified.toFixed(2)}`, 'target <= 0.8']);
    }
    table(rows);
    console.log(`wrote ${await writeResult('publish', { flags: f, ...out })}`);
  } finally {
    await server.stop();
  }
}

if (isMain(module)) main().catch((error) => { console.error(error); process.exitCode = 1; });
