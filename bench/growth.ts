/**
 * Benchmark: how a loose publish grows with the number of resources. `lup publish <folder>` → live
 * against one `lup local`, at 1,000 / 5,000 / 20,000 resources of the same size spread (the
 * factory's realistic plan scaled to `--kb-per-resource` on average), a fresh game per run. The
 * figure is time per resource; the target (issue 12) is that at 20,000 it is at most 1.2× that at
 * 1,000 — no quadratic term from listings or directory walks.
 *
 *   npx tsx bench/growth.ts [--counts 1000,5000,20000] [--runs 3] [--kb-per-resource 10] [--seed 1]
 *
 * Runs rotate through the counts (1k, 5k, 20k, 1k, …) so that a slow phase of the machine does not
 * land on one count only.
 */
import { benchContent, benchServer, flags, isMain, lupPublish, median, ms, table, writeResult } from './support';

export async function benchGrowth(options: { counts: number[]; runs: number; kbPerResource: number; seed: number }) {
  const server = await benchServer();
  try {
    const contents = new Map<number, Awaited<ReturnType<typeof benchContent>>>();
    for (const count of options.counts) {
      contents.set(count, await benchContent({ resources: count, targetBytes: count * options.kbPerResource * 1000, seed: options.seed }));
    }
    const samples = new Map<number, number[]>(options.counts.map((c) => [c, []]));
    const stamp = Date.now().toString(36);
    for (let run = 0; run < options.runs; run++) {
      for (const count of options.counts) {
        const content = contents.get(count)!;
        const { run: r } = await lupPublish(server, [content.looseDir], `growth-${count}-${stamp}-${run}`);
        samples.get(count)!.push(r.wallMs);
        console.log(`  ${count} resources, run ${run + 1}/${options.runs}: live in ${ms(r.wallMs)} (${(r.wallMs / count).toFixed(2)} ms per resource)`);
      }
    }
    const base = median(samples.get(options.counts[0])!) / options.counts[0];
    const rows = options.counts.map((count) => {
      const c = contents.get(count)!;
      const m = median(samples.get(count)!);
      return { count, bytes: c.resourceBytes, medianMs: m, msPerResource: m / count, ratio: m / count / base, samples: samples.get(count)! };
    });
    table([
      ['resources', 'MB', 'live (median)', 'ms per resource', `ratio to ${options.counts[0]}`, 'runs'],
      ...rows.map((r) => [r.count, (r.bytes / 1e6).toFixed(1), ms(r.medianMs), r.msPerResource.toFixed(2), r.ratio.toFixed(2), r.samples.map((s) => ms(s)).join(', ')]),
    ]);
    console.log(`target: ms per resource at ${options.counts[options.counts.length - 1]} <= 1.2 × that at ${options.counts[0]}`);
    return { rows };
  } finally {
    await server.stop();
  }
}

if (isMain(module)) {
  void (async () => {
    const f = flags({ counts: '1000,5000,20000', runs: '3', 'kb-per-resource': '10', seed: '1' });
    const out = await benchGrowth({ counts: f.counts.split(',').map(Number), runs: Number(f.runs), kbPerResource: Number(f['kb-per-resource']), seed: Number(f.seed) });
    console.log(`wrote ${await writeResult('growth', { flags: f, ...out })}`);
  })().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
