/**
 * Benchmark: decode + validate a 100 000-entry manifest (urls set, signed), as the pipeline does
 * for every upload. Target: at most 1 s and 300 MB on a 2-core machine.
 *
 *   npx tsx bench/manifest-100k.ts [--entries 100000] [--runs 5]
 *
 * The manifest is made by the content factory in this process; the measured part runs in child
 * processes (fork, same tsx loader), so the figures are not inflated by the generator's garbage.
 * Peak RSS is each child's own high-water mark (`process.resourceUsage().maxRSS`).
 * - cold: each run in a fresh process (one manifest per process, as a Lambda invocation): the
 *   figures the targets are judged on.
 * - warm: all runs in one process: JIT-warm times; its peak RSS also holds earlier runs' garbage,
 *   which V8 collects lazily while the heap is far from its limit.
 */
import { fork } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parsePublicKey } from '../lib/core/config';
import { decodeManifest } from '../lib/core/format/manifest-codec';
import { validateManifest } from '../lib/core/format/validate-manifest';
import { createContent } from '../lib/factory/content-factory';

const PROJECT_TITLE = 'Benchmark Game';
const ENGINE_VERSION = '1.9.0';

interface ChildResult {
  readonly entries: number;
  readonly manifestBytes: number;
  readonly decodeMs: number[];
  readonly validateMs: number[];
  readonly totalMs: number[];
  readonly baselineRssBytes: number;
  readonly peakRssBytes: number;
  readonly peakHeapUsedBytes: number;
  readonly errors: number;
}

function argument(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const ms = (value: number): string => `${value.toFixed(0)} ms`;

/** The measured part: runs in the child. */
async function child(manifestPath: string, keyPath: string, runs: number): Promise<ChildResult> {
  const bytes = await readFile(manifestPath);
  const publicKey = parsePublicKey(await readFile(keyPath, 'utf8'));
  const policy = { projectTitle: PROJECT_TITLE, publicKey, supportedEngineVersions: [ENGINE_VERSION] };
  const baselineRssBytes = process.memoryUsage().rss;
  let peakHeapUsedBytes = process.memoryUsage().heapUsed;
  const decodeMs: number[] = [];
  const validateMs: number[] = [];
  const totalMs: number[] = [];
  let entries = 0;
  let errors = 0;
  for (let run = 0; run < runs; run++) {
    const t0 = performance.now();
    const manifest = decodeManifest(bytes);
    const t1 = performance.now();
    peakHeapUsedBytes = Math.max(peakHeapUsedBytes, process.memoryUsage().heapUsed);
    const findings = validateManifest(manifest, policy);
    const t2 = performance.now();
    peakHeapUsedBytes = Math.max(peakHeapUsedBytes, process.memoryUsage().heapUsed);
    decodeMs.push(t1 - t0);
    validateMs.push(t2 - t1);
    totalMs.push(t2 - t0);
    entries = manifest.resources.length;
    errors = findings.errors.length;
  }
  // maxRSS is in kilobytes (getrusage): the high-water mark of this whole process.
  const peakRssBytes = process.resourceUsage().maxRSS * 1024;
  return { entries, manifestBytes: bytes.length, decodeMs, validateMs, totalMs, baselineRssBytes, peakRssBytes, peakHeapUsedBytes, errors };
}

async function parent(): Promise<void> {
  const entries = argument('--entries', 100_000);
  const runs = argument('--runs', 5);
  const dir = await mkdtemp(join(tmpdir(), 'lup-bench-'));
  try {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const t0 = performance.now();
    const content = createContent({
      seed: 1, resourceCount: entries, manifestOnly: true, sizes: 'realistic', dependants: true,
      privateKey, projectTitle: PROJECT_TITLE, engineVersions: [ENGINE_VERSION],
    });
    const generateMs = performance.now() - t0;
    const manifestPath = join(dir, 'liveupdate.game.dmanifest');
    const keyPath = join(dir, 'public.pem');
    await writeFile(manifestPath, content.manifestBytes);
    await writeFile(keyPath, publicKey.export({ type: 'spki', format: 'pem' }));

    const measure = (childRuns: number): Promise<ChildResult> => new Promise<ChildResult>((resolve, reject) => {
      const worker = fork(__filename, ['--child', manifestPath, keyPath, String(childRuns)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      worker.once('message', (message) => resolve(message as ChildResult));
      worker.once('error', reject);
      worker.once('exit', (code) => {
        if (code !== 0) reject(new Error(`benchmark child exited with ${code}`));
      });
    });
    // Cold: one manifest per fresh process, as a pipeline Lambda invocation handles it.
    const cold: ChildResult[] = [];
    for (let i = 0; i < runs; i++) cold.push(await measure(1));
    // Warm: every run in one process (JIT warm; V8 may defer collecting earlier runs' garbage).
    const warm = await measure(runs);

    const coldTotal = cold.map((r) => r.totalMs[0]);
    const coldPeak = Math.max(...cold.map((r) => r.peakRssBytes));
    const list = (values: readonly number[]): string => `[${values.map((v) => v.toFixed(0)).join(', ')}]`;
    const met = (ok: boolean): string => (ok ? 'met' : 'MISSED');
    const rows: [string, string][] = [
      ['machine', `${cpus().length} cores, ${cpus()[0]?.model ?? 'unknown CPU'}, node ${process.version}`],
      ['manifest', `${warm.entries} entries, ${mb(warm.manifestBytes)} (generated in ${ms(generateMs)}, not measured)`],
      ['validation errors', `${warm.errors} (expected 0)`],
      [`cold decode (median of ${runs})`, `${ms(median(cold.map((r) => r.decodeMs[0])))}  ${list(cold.map((r) => r.decodeMs[0]))}`],
      ['cold validate (median)', `${ms(median(cold.map((r) => r.validateMs[0])))}  ${list(cold.map((r) => r.validateMs[0]))}`],
      ['cold decode + validate', `${ms(median(coldTotal))}  target <= 1000 ms: ${met(median(coldTotal) <= 1000)}`],
      ['cold peak RSS (max)', `${mb(coldPeak)}  target <= 300 MB: ${met(coldPeak <= 300 * 1024 * 1024)}  (process before decoding: ${mb(Math.max(...cold.map((r) => r.baselineRssBytes)))})`],
      ['cold peak heap used (max)', mb(Math.max(...cold.map((r) => r.peakHeapUsedBytes)))],
      [`warm decode (median of ${runs})`, `${ms(median(warm.decodeMs))}  ${list(warm.decodeMs)}`],
      ['warm validate (median)', `${ms(median(warm.validateMs))}  ${list(warm.validateMs)}`],
      ['warm decode + validate', `${ms(median(warm.totalMs))}`],
      [`warm peak RSS (${runs} runs, 1 process)`, mb(warm.peakRssBytes)],
      ['warm peak heap used', mb(warm.peakHeapUsedBytes)],
    ];
    const width = Math.max(...rows.map(([label]) => label.length));
    process.stdout.write(`${rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join('\n')}\n`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') {
  const [, , , manifestPath, keyPath, runs] = process.argv;
  child(manifestPath, keyPath, Number(runs)).then(
    (result) => process.send?.(result, () => process.exit(0)),
    (error: unknown) => {
      process.stderr.write(`benchmark child failed: ${String(error)}\n`);
      process.exit(1);
    },
  );
} else {
  parent().catch((error: unknown) => {
    process.stderr.write(`benchmark failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exitCode = 1;
  });
}
