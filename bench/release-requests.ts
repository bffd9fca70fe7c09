/**
 * Store requests per release on the pipeline side, counted on the memory store (deterministic, not
 * timed): a loose release of N resources and a zip release, each first published then re-released
 * by a second upload of the same content. Shows what the private verified area costs (one
 * CopyObject per served object on its first release) and what requests per resource remain.
 *
 *   npx tsx bench/release-requests.ts [--resources 1000]
 */
import { createContent } from '../lib/factory/content-factory';
import { zipContent } from '../lib/factory/write-content';
import { PipelineSimulator } from '../test/helpers/simulator';

function argument(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

async function main(): Promise<void> {
  const n = argument('resources', 1000);
  const content = createContent({ seed: 7, resourceCount: n, bundledFraction: 0 });
  const rows: string[] = ['| release | resources | get/head | put | copy | delete | list | per resource |', '|---|---:|---:|---:|---:|---:|---:|---:|'];
  for (const mode of ['loose', 'zip'] as const) {
    const sim = new PipelineSimulator({ seed: 1 });
    const zip = mode === 'zip' ? await zipContent(content) : undefined;
    for (const upload of ['u1', 'u2']) {
      for (const k of Object.keys(sim.store.calls)) delete sim.store.calls[k];
      await sim.stageUpload({ game: 'g', upload, channel: 'stable', content, zip });
      await sim.drain();
      const c = sim.store.calls;
      // The publisher's own PUTs go through the same store: count only the pipeline's.
      const staged = (mode === 'zip' ? 1 : n + 1) + 1;
      const reads = (c.get ?? 0) + (c.head ?? 0);
      const total = reads + (c.put ?? 0) - staged + (c.copy ?? 0) + (c.delete ?? 0) + (c.list ?? 0);
      rows.push(`| ${mode} ${upload === 'u1' ? 'first' : 'again (same content)'} | ${n} | ${reads} | ${(c.put ?? 0) - staged} | ${c.copy ?? 0} | ${c.delete ?? 0} | ${c.list ?? 0} | ${(total / n).toFixed(2)} |`);
    }
  }
  process.stdout.write(`${rows.join('\n')}\n`);
}

void main();
