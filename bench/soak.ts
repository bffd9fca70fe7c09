/**
 * Soak and fuzz, seeded and reproducible (not run by CI; `test/core/pipeline/model.test.ts` runs
 * the model part at 1 000 sequences there).
 *
 *   npx tsx bench/soak.ts [--sequences 100000] [--seed 1] [--fuzz 100000] [--fuzz-seed 1] [--timeout-ms 5000] [--out soak] [--only N]
 *
 * `--only N` replays fuzz input N alone (of `--fuzz` inputs with `--fuzz-seed`), e.g. a reported failure.
 *
 * On two cores, run the two halves side by side:
 *   npx tsx bench/soak.ts --fuzz 0 --out soak-model & npx tsx bench/soak.ts --sequences 0 --out soak-fuzz
 *
 * 1. Model-based sequences (test/helpers/pipeline-model.ts): publishes (loose and zip), concurrent
 *    publishes, rollbacks, promotions and gc with duplicate, reordered and lost events, a crash at a
 *    random write then Lambda's retry, corrupted, truncated and missing uploads, and content of
 *    another project, engine or key; I1–I5 checked after every operation and against the clean
 *    run. Prints the count and, on failure, the seed, the path and the shrunk counterexample
 *    (replay with `--seed S` and the same `--sequences`).
 * 2. Fuzzing of the manifest and archive steps on the simulator: random bytes and mutations (bit
 *    flips, byte runs, insertions, deletions, truncation, splices of two inputs) of the real Defold
 *    fixtures (test/fixtures/defold-real) and of factory content, each staged as a manifest or a
 *    zip and run through `onManifestArrived` / `onArchiveArrived` with a timeout. Counted as a
 *    failure: any thrown error that is not a LupError (a crash), a timeout (a hang), an object under
 *    content/ that does not match its digest (I1), or anything under content/ after the step
 *    refused the input (a leak).
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import fc from 'fast-check';
import { isLupError } from '../lib/core/errors';
import { keys } from '../lib/core/keys';
import { onArchiveArrived, onManifestArrived } from '../lib/core/pipeline/steps';
import { Prng, createContent } from '../lib/factory/content-factory';
import { zipContent } from '../lib/factory/write-content';
import { checkSequence, makeFixtures, sequenceArb } from '../test/helpers/pipeline-model';
import { PipelineSimulator } from '../test/helpers/simulator';
import { ROOT, flags, isMain, writeResult } from './support';

function realFixtures(): { name: string; bytes: Buffer; kind: 'zip' | 'manifest' }[] {
  const out: { name: string; bytes: Buffer; kind: 'zip' | 'manifest' }[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.zip$/.test(name) && statSync(path).size < 8_000_000) out.push({ name: path.slice(ROOT.length + 1), bytes: readFileSync(path), kind: 'zip' });
      else if (/\.dmanifest\d*$/.test(name)) out.push({ name: path.slice(ROOT.length + 1), bytes: readFileSync(path), kind: 'manifest' });
    }
  };
  walk(join(ROOT, 'test', 'fixtures', 'defold-real'));
  return out;
}

/** One mutation of `input` (or of a splice with `other`), chosen by `prng`. */
function mutate(prng: Prng, input: Uint8Array, other: Uint8Array): { bytes: Uint8Array; how: string } {
  const b = Uint8Array.from(input);
  const at = (): number => prng.int(0, Math.max(0, b.length - 1));
  switch (prng.int(0, 7)) {
    case 0: { const n = prng.int(1, 8); for (let i = 0; i < n; i++) b[at()] ^= 1 << prng.int(0, 7); return { bytes: b, how: `flip ${n} bit(s)` }; }
    case 1: { const i = at(); const n = prng.int(1, 64); b.fill(prng.chance(0.5) ? 0xff : 0, i, i + n); return { bytes: b, how: `run of ${n} at ${i}` }; }
    case 2: { const n = prng.int(0, b.length); return { bytes: b.subarray(0, n), how: `truncate to ${n}` }; }
    case 3: { const i = at(); const extra = prng.bytes(prng.int(1, 256)); return { bytes: Buffer.concat([b.subarray(0, i), extra, b.subarray(i)]), how: `insert ${extra.length} at ${i}` }; }
    case 4: { const i = at(); const n = prng.int(1, 256); return { bytes: Buffer.concat([b.subarray(0, i), b.subarray(i + n)]), how: `delete ${n} at ${i}` }; }
    case 5: { const i = at(); const j = prng.int(0, Math.max(0, other.length - 1)); return { bytes: Buffer.concat([b.subarray(0, i), other.subarray(j)]), how: `splice at ${i}/${j}` }; }
    case 6: { const i = at(); const v = prng.nextUint32(); for (let k = 0; k < 4 && i + k < b.length; k++) b[i + k] = (v >>> (8 * k)) & 0xff; return { bytes: b, how: `int32 at ${i}` }; }
    default: { const n = prng.int(0, 4096); return { bytes: prng.bytes(n), how: `random ${n} bytes` }; }
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), ms); });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export async function fuzzSteps(options: { inputs: number; seed: number; timeoutMs: number; only?: number }) {
  const prng = new Prng(options.seed);
  const seeds: { name: string; bytes: Uint8Array; kind: 'zip' | 'manifest' }[] = realFixtures();
  for (let i = 0; i < 4; i++) {
    const content = createContent({ seed: 300 + i, resourceCount: 6 + i * 4, schema: i % 2 ? 'legacy' : 'v5' });
    seeds.push({ name: `factory-${i}.dmanifest`, bytes: content.manifestBytes, kind: 'manifest' });
    seeds.push({ name: `factory-${i}.zip`, bytes: await zipContent(content, { compress: i % 2 === 0 }), kind: 'zip' });
  }
  const counts = { inputs: 0, accepted: 0, refused: 0, lupErrors: 0, crashes: 0, hangs: 0, leaks: 0, i1: 0, byKind: { zip: 0, manifest: 0 } };
  const failures: { input: number; seed: string; how: string; problem: string }[] = [];
  const started = performance.now();
  for (let n = 0; n < options.inputs; n++) {
    const base = seeds[prng.int(0, seeds.length - 1)];
    const other = seeds[prng.int(0, seeds.length - 1)];
    // One in eight inputs is the seed itself mutated several times over.
    let { bytes, how } = mutate(prng, base.bytes, other.bytes);
    if (prng.chance(0.125)) for (let k = 0; k < 3; k++) ({ bytes, how } = { bytes: mutate(prng, bytes, other.bytes).bytes, how: `${how} +more` });
    const kind = prng.chance(0.1) ? (base.kind === 'zip' ? 'manifest' : 'zip') : base.kind;
    // Replaying one input (--only N): the same generator, every earlier input skipped.
    if (options.only !== undefined && n !== options.only) continue;
    counts.byKind[kind] += 1;
    const sim = new PipelineSimulator({ seed: n });
    const key = keys.staged('g', 'u1', kind === 'zip' ? 'game.zip' : 'liveupdate.game.dmanifest');
    await sim.store.put(key, bytes);
    const step = kind === 'zip' ? onArchiveArrived : onManifestArrived;
    counts.inputs += 1;
    let problem: string | undefined;
    try {
      const outcome = await withTimeout(step(sim.context, key), options.timeoutMs);
      if (outcome === 'timeout') { counts.hangs += 1; problem = `no answer within ${options.timeoutMs} ms`; }
    } catch (error) {
      if (isLupError(error)) counts.lupErrors += 1;
      else { counts.crashes += 1; problem = `crash: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`; }
    }
    const refused = sim.store.keys().some((k) => k.startsWith('quarantine/'));
    const content = sim.store.keys().filter((k) => k.startsWith('content/'));
    if (refused) counts.refused += 1;
    else if (content.length > 0) counts.accepted += 1;
    if (refused && content.length > 0) { counts.leaks += 1; problem ??= `refused yet wrote ${content.join(', ')}`; }
    const violations = (await sim.violations()).filter((v) => v.startsWith('I1'));
    if (violations.length > 0) { counts.i1 += 1; problem ??= violations.join('; '); }
    if (problem) failures.push({ input: n, seed: base.name, how, problem });
    if ((n + 1) % 10_000 === 0) console.log(`  fuzz ${n + 1}/${options.inputs}: ${JSON.stringify(counts)} (${((performance.now() - started) / 1000).toFixed(0)} s)`);
  }
  return { seedFiles: seeds.map((s) => s.name), counts, failures: failures.slice(0, 50), seconds: (performance.now() - started) / 1000 };
}

export async function soakModel(options: { sequences: number; seed: number }) {
  const fixtures = await makeFixtures();
  const started = performance.now();
  let ran = 0;
  const result = await fc.check(
    fc.asyncProperty(sequenceArb(8), async (sequence) => {
      ran += 1;
      if (ran % 10_000 === 0) console.log(`  model ${ran}/${options.sequences} (${((performance.now() - started) / 1000).toFixed(0)} s)`);
      await checkSequence(fixtures, sequence);
    }),
    { numRuns: options.sequences, seed: options.seed },
  );
  return {
    sequences: result.numRuns,
    failed: result.failed,
    seed: result.seed,
    path: result.counterexamplePath,
    counterexample: result.counterexample ? JSON.stringify(result.counterexample) : undefined,
    error: result.errorInstance instanceof Error ? result.errorInstance.message : result.errorInstance === undefined ? undefined : String(result.errorInstance),
    seconds: (performance.now() - started) / 1000,
  };
}

async function main(): Promise<void> {
  const f = flags({ sequences: '100000', seed: '1', fuzz: '100000', 'fuzz-seed': '1', 'timeout-ms': '5000', out: 'soak', only: '' });
  const model = Number(f.sequences) > 0 ? await soakModel({ sequences: Number(f.sequences), seed: Number(f.seed) }) : undefined;
  if (model) {
    console.log(`model: ${model.sequences} sequences (seed ${model.seed}) in ${model.seconds.toFixed(0)} s: ${model.failed ? 'FAILED' : 'all held'}`);
    if (model.failed) console.log(`  seed ${model.seed} path ${model.path}\n  shrunk counterexample: ${model.counterexample}\n  ${model.error}`);
  }
  const fuzz = Number(f.fuzz) > 0 ? await fuzzSteps({ inputs: Number(f.fuzz), seed: Number(f['fuzz-seed']), timeoutMs: Number(f['timeout-ms']), only: f.only === '' ? undefined : Number(f.only) }) : undefined;
  if (fuzz) {
    console.log(`fuzz: ${fuzz.counts.inputs} inputs (seed ${f['fuzz-seed']}) in ${fuzz.seconds.toFixed(0)} s: ${JSON.stringify(fuzz.counts)}`);
    for (const x of fuzz.failures) console.log(`  input ${x.input} (${x.seed}, ${x.how}): ${x.problem}`);
  }
  console.log(`wrote ${await writeResult(f.out, { flags: f, model, fuzz })}`);
  if (model?.failed || (fuzz && fuzz.failures.length > 0)) process.exitCode = 1;
}

if (isMain(module)) main().catch((error) => { console.error(error); process.exitCode = 1; });
