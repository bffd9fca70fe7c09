/**
 * Benchmark: re-publish of a loose release where 2 % of the resources changed (factory
 * `reviseResources`, nothing added), against a full publish of the first version.
 *
 *   npx tsx bench/republish.ts [--runs 3] [--resources 5000] [--target-mb 150] [--changed-percent 2] [--seed 1]
 *
 * Each run publishes v1 to a fresh game (the full publish, timed), then v2 to the same game
 * through a counting proxy in this process, which counts every request and byte `lup publish`
 * sends. "Changed bytes" are the bytes of the files whose content differs: the changed resources
 * and the new manifest (it lists the new digests). Targets: time at most 5 % of the full
 * publish's, bytes sent at most 1.1× the changed bytes.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { startCountingProxy } from './counting-proxy';
import { benchContent, benchServer, benchSpecs, flags, isMain, lupPublish, mb, median, ms, reviseSpecs, table, waitDrained, writeResult, type BenchServer } from './support';

function filesOf(dir: string): Map<string, number> {
  return new Map(readdirSync(dir).map((name) => [name, statSync(join(dir, name)).size]));
}

export async function benchRepublish(server: BenchServer, options: { runs: number; resources: number; targetMb: number; changedPercent: number; seed: number }) {
  const base = { resources: options.resources, targetBytes: options.targetMb * 1e6, seed: options.seed };
  const v1 = await benchContent(base);
  const { scale } = benchSpecs(base);
  const changedCount = Math.round((options.resources * options.changedPercent) / 100);
  const v2 = await benchContent(base, reviseSpecs(v1.specs, scale, changedCount, options.seed + 1), `v2-${changedCount}changed`);
  const before = filesOf(v1.looseDir);
  const after = filesOf(v2.looseDir);
  const changedFiles = [...after].filter(([name]) => !before.has(name) || name.endsWith('.dmanifest') && !readFileSync(join(v1.looseDir, name)).equals(readFileSync(join(v2.looseDir, name))));
  const changedBytes = changedFiles.reduce((n, [, size]) => n + size, 0);
  const changedResourceBytes = changedFiles.filter(([name]) => !name.endsWith('.dmanifest')).reduce((n, [, size]) => n + size, 0);
  console.log(`v1: ${v1.resources} resources ${mb(v1.resourceBytes)}; v2: ${changedFiles.length - 1} changed resources (${mb(changedResourceBytes)}) + manifest ${mb(v2.manifestBytes)} = ${mb(changedBytes)} changed`);
  const proxy = await startCountingProxy(server.s3);
  const stamp = Date.now().toString(36);
  const samples = [];
  try {
    for (let r = 0; r < options.runs; r++) {
      const game = `bench-rep-${stamp}-${r}`;
      const full = await lupPublish(server, [v1.looseDir], game);
      await waitDrained(server, `staging/${game}/`);
      proxy.reset();
      const again = await lupPublish(server, [v2.looseDir], game, [], proxy.endpoint);
      const counts = { ...proxy.counts, byMethod: { ...proxy.counts.byMethod } };
      const sample = {
        run: r, game,
        fullMs: full.run.wallMs, fullTimings: full.result.timings,
        republishMs: again.run.wallMs, republishTimings: again.result.timings,
        uploaded: again.result.uploaded, skipped: again.result.skipped, requests: counts,
      };
      samples.push(sample);
      console.log(`  run ${r + 1}/${options.runs}: full ${ms(sample.fullMs)}, re-publish ${ms(sample.republishMs)} (${JSON.stringify(sample.republishTimings)}), ${counts.requests} requests ${JSON.stringify(counts.byMethod)}, ${mb(counts.bytesSent)} sent`);
    }
  } finally {
    await proxy.close();
  }
  const fullMs = median(samples.map((s) => s.fullMs));
  const republishMs = median(samples.map((s) => s.republishMs));
  const summary = {
    changedCount, changedFiles: changedFiles.length, changedBytes, changedResourceBytes,
    fullMs, republishMs, timeRatio: republishMs / fullMs,
    republishUploadDoneMs: median(samples.map((s) => s.republishMs - ((s.republishTimings?.liveMs ?? 0) - (s.republishTimings?.uploadedMs ?? 0)))),
    republishPlannedMs: median(samples.map((s) => s.republishTimings?.plannedMs ?? NaN)),
    requests: median(samples.map((s) => s.requests.requests)),
    puts: median(samples.map((s) => s.requests.byMethod.PUT ?? 0)),
    bytesSent: median(samples.map((s) => s.requests.bytesSent)),
    bytesRatio: median(samples.map((s) => s.requests.bytesSent)) / changedBytes,
  };
  return { v1: { resources: v1.resources, bytes: v1.resourceBytes }, samples, summary };
}

async function main(): Promise<void> {
  const f = flags({ runs: '3', resources: '5000', 'target-mb': '150', 'changed-percent': '2', seed: '1' });
  const server = await benchServer();
  try {
    const out = await benchRepublish(server, { runs: Number(f.runs), resources: Number(f.resources), targetMb: Number(f['target-mb']), changedPercent: Number(f['changed-percent']), seed: Number(f.seed) });
    const s = out.summary;
    table([
      ['figure', 'value', 'target'],
      ['full publish (median, live)', ms(s.fullMs), ''],
      ['re-publish (median, live)', ms(s.republishMs), ''],
      ['  of which local plan (hash 150 MB + check)', ms(s.republishPlannedMs), ''],
      ['time ratio re-publish / full', `${(s.timeRatio * 100).toFixed(1)} %`, '<= 5 %'],
      ['requests sent (median)', `${s.requests} (${s.puts} PUT)`, ''],
      ['changed: files / bytes', `${s.changedFiles} / ${mb(s.changedBytes)}`, ''],
      ['bytes sent (headers included)', mb(s.bytesSent), ''],
      ['bytes ratio sent / changed', s.bytesRatio.toFixed(3), '<= 1.1'],
    ]);
    console.log(`wrote ${await writeResult('republish', { flags: f, ...out })}`);
  } finally {
    await server.stop();
  }
}

if (isMain(module)) main().catch((error) => { console.error(error); process.exitCode = 1; });
