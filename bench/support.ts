/**
 * Shared pieces of the benchmarks (not a benchmark itself): the `lup local` child process, the
 * benchmark content (made once by the content factory and cached on disk), child processes with
 * wall-clock timing, medians, the printed table and the JSON written to `bench/out/`.
 *
 * Every benchmark that needs a server reads `LUP_BENCH_S3` / `LUP_BENCH_CDN` (set by
 * `bench/all.ts`, which starts one `lup local` for all of them); run alone, it starts its own.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import type { S3Client } from '@aws-sdk/client-s3';
import { createS3Client } from '../lib/adapters/s3-client';
import { S3ObjectStore } from '../lib/adapters/s3-store';
import { LOCAL_BUCKET, LOCAL_OPERATOR_CREDENTIALS, LOCAL_PUBLISHER_CREDENTIALS } from '../lib/local/local-stack';
import { createContent, planResources, reviseResources, type FactoryContent, type ResourceSpec } from '../lib/factory/content-factory';
import { writeLooseFolder, writeZip } from '../lib/factory/write-content';

export const ROOT = join(__dirname, '..');
export const OUT_DIR = join(ROOT, 'bench', 'out');
/** The compiled `lup`, as installed from the package: benchmarks measure what users run (`npm run build` first). */
export const LUP = join(ROOT, 'dist', 'bin', 'lup.js');

/** `--name value` flags of a benchmark script, with defaults. */
export function flags(defaults: Record<string, string>): Record<string, string> {
  const out = { ...defaults };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([a-z0-9-]+)$/.exec(argv[i]);
    if (!m) throw new Error(`unexpected argument ${argv[i]}; flags are ${Object.keys(defaults).map((k) => `--${k}`).join(' ')}`);
    if (!(m[1] in defaults)) throw new Error(`unknown flag --${m[1]}; flags are ${Object.keys(defaults).map((k) => `--${k}`).join(' ')}`);
    out[m[1]] = argv[++i] ?? '';
  }
  return out;
}

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

export const ms = (v: number): string => (Number.isFinite(v) ? `${(v / 1000).toFixed(2)} s` : '-');
export const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;

/** Print rows as an aligned table. */
export function table(rows: readonly (readonly (string | number)[])[]): void {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c] ?? '').length)));
  for (const [i, row] of rows.entries()) {
    console.log(row.map((cell, c) => String(cell).padEnd(widths[c])).join('  '));
    if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  }
}

/** Write the figures of a benchmark to `bench/out/<name>.json`. */
export async function writeResult(name: string, data: unknown): Promise<string> {
  await mkdir(OUT_DIR, { recursive: true });
  const path = join(OUT_DIR, `${name}.json`);
  await writeFile(path, `${JSON.stringify({ benchmark: name, at: new Date().toISOString(), node: process.version, ...(data as object) }, null, 2)}\n`);
  return path;
}

/** A finished child process. */
export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly wallMs: number;
}

/** Run a command to completion, timing it from spawn to exit. */
export function run(command: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { env: options.env ?? process.env, cwd: options.cwd ?? ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, wallMs: performance.now() - started }));
  });
}

/** A `lup local` to benchmark against. */
export interface BenchServer {
  readonly s3: string;
  readonly cdn: string;
  readonly bucket: string;
  readonly client: S3Client;
  readonly store: S3ObjectStore;
  /** Process id of the `lup local` child, when this process started it. */
  readonly pid?: number;
  stop(): Promise<void>;
}

/**
 * The server of this run: the one named by `LUP_BENCH_S3` / `LUP_BENCH_CDN`, or a new
 * `lup local --s3-port 0 --cdn-port 0 --json --quiet` child over a fresh data folder.
 */
export async function benchServer(): Promise<BenchServer> {
  const given = process.env.LUP_BENCH_S3;
  if (given) return connect(given, process.env.LUP_BENCH_CDN ?? '', LOCAL_BUCKET, undefined, async () => undefined);
  return startLupLocal();
}

function connect(s3: string, cdn: string, bucket: string, pid: number | undefined, stop: () => Promise<void>): BenchServer {
  const client = createS3Client({ endpoint: s3, credentials: LOCAL_OPERATOR_CREDENTIALS });
  const store = new S3ObjectStore({ client, bucket });
  return {
    s3, cdn, bucket, client, store, pid,
    stop: async () => {
      client.destroy();
      await stop();
    },
  };
}

/** Start `lup local` as a child process and wait for its JSON ready line. */
export async function startLupLocal(dataDir?: string, extraArgs: readonly string[] = [], nodeArgs: readonly string[] = []): Promise<BenchServer> {
  const dir = dataDir ?? join(tmpdir(), `lup-bench-data-${process.pid}-${Date.now()}`);
  const child = spawn(process.execPath, [...nodeArgs, LUP, 'local', '--data-dir', dir, '--s3-port', '0', '--cdn-port', '0', '--json', '--quiet', ...extraArgs], {
    cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  const ready = await new Promise<{ s3: string; cdn: string; bucket: string }>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`lup local exited (${code}) before it was ready`)));
    lines.once('line', (line) => resolve(JSON.parse(line) as { s3: string; cdn: string; bucket: string }));
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return connect(ready.s3, ready.cdn, ready.bucket, child.pid, async () => {
    child.kill('SIGTERM');
    await exited;
  });
}

/** The benchmark content on disk: one loose folder and one zip of the same resources. */
export interface BenchContent {
  readonly dir: string;
  readonly looseDir: string;
  readonly zipPath: string;
  readonly zipBytes: number;
  readonly resources: number;
  readonly resourceBytes: number;
  readonly manifestBytes: number;
  readonly specs: readonly ResourceSpec[];
  readonly sizes: { readonly medianBytes: number; readonly p99Bytes: number; readonly maxBytes: number };
}

/** Options of the benchmark content. */
export interface BenchContentOptions {
  readonly resources: number;
  /** Total bytes of the resource files to aim for: the realistic sizes are scaled to it. */
  readonly targetBytes: number;
  readonly seed: number;
}

/**
 * The factory's `'realistic'` plan (log-normal, median 4 KiB, sigma 1.6) of `resources` EXCLUDED
 * resources, every size multiplied by one factor so the total is near `targetBytes`: the same
 * spread (a log-normal stays one with its median scaled), ~2× the bytes of the factory default.
 * Stored uncompressed (`compressedFraction: 0`) so file sizes are the planned sizes.
 */
export function benchSpecs(options: BenchContentOptions): { specs: ResourceSpec[]; scale: number } {
  const planned = planResources({ seed: options.seed, resourceCount: options.resources, sizes: 'realistic', bundledFraction: 0, compressedFraction: 0, encryptedFraction: 0.05 });
  const total = planned.reduce((n, s) => n + s.sizeBytes, 0);
  const scale = options.targetBytes / total;
  return { specs: planned.map((s) => ({ ...s, sizeBytes: Math.max(16, Math.round(s.sizeBytes * scale)) })), scale };
}

/**
 * A 2 % revision of `specs` (factory `reviseResources`, nothing added): the changed resources get
 * realistic sizes scaled by the same factor as the original plan.
 */
export function reviseSpecs(specs: readonly ResourceSpec[], scale: number, changedCount: number, seed: number): ResourceSpec[] {
  const revised = reviseResources(specs, { seed, changedCount, addedCount: 0, sizes: 'realistic' });
  return revised.map((s, i) => (s.contentSeed === specs[i].contentSeed ? s : { ...s, sizeBytes: Math.max(16, Math.round(s.sizeBytes * scale)) }));
}

function describeSizes(content: FactoryContent): BenchContent['sizes'] {
  const sizes = content.resources.map((r) => r.bytes.length).sort((a, b) => a - b);
  return { medianBytes: median(sizes), p99Bytes: sizes[Math.floor(sizes.length * 0.99)], maxBytes: sizes[sizes.length - 1] };
}

/** Write (or reuse, when already written by an earlier run) the benchmark content under `root`. */
export async function benchContent(options: BenchContentOptions, specs?: readonly ResourceSpec[], name = 'v1'): Promise<BenchContent> {
  const root = process.env.LUP_BENCH_CONTENT ?? join(tmpdir(), 'lup-bench-content');
  const dir = join(root, `r${options.resources}-b${options.targetBytes}-s${options.seed}-${name}`);
  const meta = join(dir, 'content.json');
  if (existsSync(meta)) return JSON.parse(await readFile(meta, 'utf8')) as BenchContent;
  const plan = specs ?? benchSpecs(options).specs;
  const content = createContent({ seed: options.seed, resources: plan, projectTitle: 'Bench Game' });
  const looseDir = join(dir, 'loose');
  const zipPath = join(dir, 'zip', 'game.zip');
  await writeLooseFolder(content, looseDir);
  // bob deflates zip entries; the factory's payloads are random, so deflate gains nothing but costs
  // the verifier an inflate per entry, as it would on a real build.
  const { sizeBytes } = await writeZip(content, zipPath, { compress: true });
  const result: BenchContent = {
    dir, looseDir, zipPath, zipBytes: sizeBytes,
    resources: content.resources.length,
    resourceBytes: content.resources.reduce((n, r) => n + r.bytes.length, 0),
    manifestBytes: content.manifestBytes.length,
    specs: plan,
    sizes: describeSizes(content),
  };
  await writeFile(meta, JSON.stringify(result));
  return result;
}

/** Objects under a prefix (all pages). */
export async function countUnder(server: BenchServer, prefix: string): Promise<number> {
  return (await server.store.list(prefix)).length;
}

/**
 * Wait until nothing routed to the pipeline is left under `prefix` (the pipeline deletes each
 * staged object once its step is done), so the next measurement starts on an idle server.
 */
export async function waitDrained(server: BenchServer, prefix: string, timeoutMs = 600_000): Promise<number> {
  const started = performance.now();
  for (;;) {
    const left = await server.store.list(prefix, { limit: 1 });
    if (left.length === 0) return performance.now() - started;
    if (performance.now() - started > timeoutMs) throw new Error(`${prefix} still holds objects after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Environment for rclone against the local server (publisher key, path-style, write-only; no CA bundle). */
export function rcloneEnv(server: BenchServer): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    RCLONE_CONFIG_LUP_TYPE: 's3',
    RCLONE_CONFIG_LUP_PROVIDER: 'Other',
    RCLONE_CONFIG_LUP_ENDPOINT: server.s3,
    RCLONE_CONFIG_LUP_ACCESS_KEY_ID: LOCAL_PUBLISHER_CREDENTIALS.accessKeyId,
    RCLONE_CONFIG_LUP_SECRET_ACCESS_KEY: LOCAL_PUBLISHER_CREDENTIALS.secretAccessKey,
    RCLONE_CONFIG_LUP_FORCE_PATH_STYLE: 'true',
    RCLONE_CONFIG_LUP_REGION: 'us-east-1',
    // The publisher key may not read staging/ or create buckets (as on AWS): rclone must not look.
    RCLONE_CONFIG_LUP_NO_CHECK_BUCKET: 'true',
    RCLONE_CONFIG_LUP_NO_HEAD: 'true',
    RCLONE_NO_CHECK_DEST: 'true',
  };
  delete env.AWS_CA_BUNDLE;
  return env;
}

/** Environment for aws-cli against the local server (path-style through a config file). */
export async function awsEnv(): Promise<NodeJS.ProcessEnv> {
  const config = join(tmpdir(), 'lup-bench-aws-config');
  await writeFile(config, '[default]\nregion = us-east-1\ns3 =\n  addressing_style = path\n');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    AWS_CONFIG_FILE: config,
    AWS_SHARED_CREDENTIALS_FILE: join(tmpdir(), 'lup-bench-aws-no-credentials'),
    AWS_ACCESS_KEY_ID: LOCAL_PUBLISHER_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_PUBLISHER_CREDENTIALS.secretAccessKey,
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_PAGER: '',
  };
  delete env.AWS_CA_BUNDLE;
  delete env.AWS_PROFILE;
  return env;
}

/** aws-cli v2 from Debian (the pyenv shim on PATH may be an older v1). */
export const AWS_CLI = existsSync('/usr/bin/aws') ? '/usr/bin/aws' : 'aws';

/** `lup publish ... --endpoint <s3> --json`, parsed, with its wall time. */
export async function lupPublish(server: BenchServer, paths: readonly string[], game: string, extra: readonly string[] = [], endpoint = server.s3): Promise<{ run: RunResult; result: LupPublishJson }> {
  const r = await run(process.execPath, [LUP, 'publish', ...paths, '--game', game, '--channel', 'stable', '--endpoint', endpoint, '--cdn', server.cdn || 'http://127.0.0.1:1/', '--json', ...extra]);
  let result: LupPublishJson;
  try {
    result = JSON.parse(r.stdout) as LupPublishJson;
  } catch {
    throw new Error(`lup publish printed no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
  if (result.state !== 'live') throw new Error(`lup publish ended ${result.state}: ${JSON.stringify(result.errors ?? result).slice(0, 2000)}`);
  return { run: r, result };
}

/** The parts of `lup publish --json` the benchmarks read. */
export interface LupPublishJson {
  readonly state: string;
  readonly upload: string;
  readonly sequence?: number;
  readonly uploaded: { readonly objects: number; readonly bytes: number };
  readonly skipped: { readonly objects: number; readonly bytes: number };
  readonly errors?: unknown[];
  readonly timings?: { readonly plannedMs: number; readonly listedMs: number; readonly uploadedMs: number; readonly liveMs: number };
}

/** True when this file is the script node was started with. */
export function isMain(module: NodeModule): boolean {
  return require.main === module;
}
