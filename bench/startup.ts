/**
 * Benchmark: how fast `lup` starts, as ratios to `node -e 0` measured in the same run (the machine's
 * own start-up cost), with the compiled CLI as installed from the package (`npm run build` first).
 *
 * - `lup --version` and `lup --help`: wall time from spawn to exit. Target: `--version` ≤ 2×.
 * - first byte of a publish: from spawning `lup publish <sample> --endpoint <running lup local>`
 *   to the first byte of the first PUT arriving at the endpoint (through a pass-through proxy).
 *   Target: ≤ 0.5 s.
 *
 *   npm run build && npx tsx bench/startup.ts [--runs 15]
 */
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { LUP, ROOT, flags, isMain, median, run, startLupLocal, table, writeResult } from './support';

const SAMPLE = join(ROOT, 'examples', 'sample-game', 'v1', 'sample.zip');

/** A pass-through proxy that records when the first PUT's first body byte arrives. */
async function firstPutProxy(upstream: string): Promise<{ endpoint: string; firstPutAt(): number | undefined; reset(): void; close(): void }> {
  const target = new URL(upstream);
  let firstPut: number | undefined;
  const server = createServer((req, res) => {
    if (req.method === 'PUT') req.once('data', () => { firstPut ??= performance.now(); });
    const up = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    firstPutAt: () => firstPut,
    reset: () => { firstPut = undefined; },
    close: () => { server.closeAllConnections(); server.close(); },
  };
}

export async function benchStartup(runs: number) {
  const samples: Record<string, number[]> = { node: [], version: [], help: [] };
  // Interleaved, so that a busy moment of the machine weighs on every command alike.
  for (let i = 0; i < runs; i += 1) {
    samples.node.push((await run(process.execPath, ['-e', '0'])).wallMs);
    samples.version.push((await run(process.execPath, [LUP, '--version'])).wallMs);
    samples.help.push((await run(process.execPath, [LUP, '--help'])).wallMs);
  }
  const server = await startLupLocal();
  const proxy = await firstPutProxy(server.s3);
  const firstByte: number[] = [];
  try {
    for (let i = 0; i < runs; i += 1) {
      proxy.reset();
      const started = performance.now();
      const result = await run(process.execPath, [LUP, 'publish', SAMPLE, '--game', `startup-${i}`, '--channel', 'stable', '--endpoint', proxy.endpoint, '--json']);
      if (result.code !== 0) throw new Error(`lup publish failed: ${result.stderr}`);
      firstByte.push((proxy.firstPutAt() ?? NaN) - started);
    }
  } finally {
    proxy.close();
    await server.stop();
  }
  const node = median(samples.node);
  return {
    runs,
    machine: `${cpus().length} × ${cpus()[0]?.model ?? '?'}, node ${process.version}`,
    medianMs: { nodeE0: node, version: median(samples.version), help: median(samples.help), publishFirstByte: median(firstByte) },
    ratioToNode: { version: median(samples.version) / node, help: median(samples.help) / node, publishFirstByte: median(firstByte) / node },
    targets: { versionRatio: 2, publishFirstByteMs: 500 },
  };
}

async function main(): Promise<void> {
  const f = flags({ runs: '15' });
  const result = await benchStartup(Number(f.runs));
  const m = result.medianMs;
  const r = result.ratioToNode;
  console.log(result.machine);
  table([
    ['command', 'median', 'ratio to node -e 0', 'target'],
    ['node -e 0', `${m.nodeE0.toFixed(0)} ms`, '1.00', ''],
    ['lup --version', `${m.version.toFixed(0)} ms`, r.version.toFixed(2), '≤ 2×'],
    ['lup --help', `${m.help.toFixed(0)} ms`, r.help.toFixed(2), ''],
    ['lup publish: first byte sent', `${m.publishFirstByte.toFixed(0)} ms`, r.publishFirstByte.toFixed(2), '≤ 500 ms'],
  ]);
  console.log(`wrote ${await writeResult('startup', result)}`);
  if (r.version > 2 || m.publishFirstByte > 500) process.exitCode = 1;
}

if (isMain(module)) void main();
