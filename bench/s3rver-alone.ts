/**
 * Benchmark (attribution): what the local S3 server costs by itself, so that the part of a
 * publish's time that is s3rver's can be told from the part that is ours. The bench content's
 * loose resources (same count, same sizes) go through a PUT / GET / COPY / DELETE loop at a fixed
 * concurrency against
 * - `s3rver`: s3rver alone, as `lup local` runs it (its own worker thread, lib/local/s3-server.ts),
 *   with no gate: unsigned-in-effect (s3rver checks no signature), no conditional writes;
 * - `gate`: the same s3rver behind the conditional-write gate with SigV4 checks, as the pipeline
 *   and the publisher reach it in `lup local`.
 * A loose publish costs the server one PUT per resource from the publisher and, on the pipeline's
 * side, a GET, a create-only PUT into the private verified area and a DELETE of the staged copy,
 * then a create-only COPY into `content/` at release: the sum of one of each operation here is the
 * floor a local loose publish cannot go under on this server, whatever the pipeline does.
 *
 *   npx tsx bench/s3rver-alone.ts [--resources 5000] [--target-mb 150] [--concurrency 16] [--runs 3] [--seed 1]
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pLimit from 'p-limit';
import { createS3Client } from '../lib/adapters/s3-client';
import { S3ObjectStore } from '../lib/adapters/s3-store';
import { startConditionalGate } from '../lib/local/conditional-gate';
import { createPipelineCredentials, localIdentities } from '../lib/local/request-auth';
import { startS3Server } from '../lib/local/s3-server';
import { benchContent, flags, isMain, median, ms, table, writeResult } from './support';

type Op = 'put' | 'get' | 'copy' | 'delete';
const OPS: Op[] = ['put', 'get', 'copy', 'delete'];

async function loop(store: S3ObjectStore, files: { name: string; bytes: Buffer }[], concurrency: number, prefix: string): Promise<Record<Op, number>> {
  const limit = pLimit(concurrency);
  const timed = async (fn: () => Promise<unknown>): Promise<number> => {
    const started = performance.now();
    await fn();
    return performance.now() - started;
  };
  const out = {} as Record<Op, number>;
  out.put = await timed(() => Promise.all(files.map((f) => limit(() => store.put(`${prefix}s/${f.name}`, f.bytes, { ifNoneMatch: '*', contentType: 'application/octet-stream' })))));
  out.get = await timed(() => Promise.all(files.map((f) => limit(async () => { await store.get(`${prefix}s/${f.name}`); }))));
  out.copy = await timed(() => Promise.all(files.map((f) => limit(() => store.copy(`${prefix}s/${f.name}`, `${prefix}c/${f.name}`, { ifNoneMatch: '*', contentType: 'application/octet-stream' })))));
  out.delete = await timed(() => Promise.all(files.map((f) => limit(() => store.delete(`${prefix}s/${f.name}`)))));
  return out;
}

type ZipOp = 'put' | 'get' | 'rangedGet' | 'copy';
const ZIP_OPS: ZipOp[] = ['put', 'get', 'rangedGet', 'copy'];

/** The server's part of a zip publish: one PUT, reads of it whole and as verification reads it, one copy. */
async function zipOps(store: S3ObjectStore, zip: Buffer, prefix: string): Promise<Record<ZipOp, number>> {
  const timed = async (fn: () => Promise<unknown>): Promise<number> => {
    const started = performance.now();
    await fn();
    return performance.now() - started;
  };
  const key = `${prefix}game.zip`;
  const out = {} as Record<ZipOp, number>;
  out.put = await timed(() => store.put(key, zip, { contentType: 'application/zip' }));
  out.get = await timed(async () => {
    const opened = await store.getStream(key);
    for await (const _ of opened!.body) { /* drain */ }
  });
  out.rangedGet = await timed(async () => {
    const opened = await store.openRange(key);
    const window = 4 * 1024 * 1024;
    for (let at = 0; at < zip.length; at += window) for await (const _ of opened!.source.read(at, Math.min(zip.length, at + window))) { /* drain */ }
  });
  out.copy = await timed(() => store.copy(key, `${prefix}copy.zip`, { ifNoneMatch: '*', contentType: 'application/zip' }));
  return out;
}

export async function benchS3rverAlone(options: { resources: number; targetMb: number; concurrency: number; runs: number; seed: number }) {
  const content = await benchContent({ resources: options.resources, targetBytes: options.targetMb * 1e6, seed: options.seed });
  const names = (await readdir(content.looseDir)).filter((n) => /^[0-9a-f]{40}$/.test(n));
  const files = await Promise.all(names.map(async (name) => ({ name, bytes: await readFile(join(content.looseDir, name)) })));
  const dir = await mkdtemp(join(tmpdir(), 'lup-bench-s3rver-'));
  const bucket = 'lup-local';
  const s3 = await startS3Server({ directory: dir, bucket });
  const credentials = createPipelineCredentials();
  const gate = await startConditionalGate({ upstream: s3, access: { identities: localIdentities(credentials), bucket } });
  // s3rver itself knows one key pair, its default (it checks the key id, not the signature).
  const direct = createS3Client({ endpoint: s3.endpoint, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
  const gated = createS3Client({ endpoint: gate.endpoint, credentials });
  const targets = { s3rver: new S3ObjectStore({ client: direct, bucket }), gate: new S3ObjectStore({ client: gated, bucket }) };
  const samples: Record<string, Record<Op, number>[]> = { s3rver: [], gate: [] };
  const zipSamples: Record<string, Record<ZipOp, number>[]> = { s3rver: [], gate: [] };
  const zip = await readFile(content.zipPath);
  try {
    for (let run = 0; run < options.runs; run++) {
      for (const name of ['s3rver', 'gate'] as const) {
        const r = await loop(targets[name], files, options.concurrency, `bench/${name}-${run}/`);
        samples[name].push(r);
        console.log(`  ${name} run ${run + 1}: ${OPS.map((op) => `${op} ${ms(r[op])}`).join(', ')}`);
        const z = await zipOps(targets[name], zip, `bench/${name}-${run}/zip/`);
        zipSamples[name].push(z);
        console.log(`  ${name} run ${run + 1}, the ${(zip.length / 1e6).toFixed(0)} MB zip: ${ZIP_OPS.map((op) => `${op} ${ms(z[op])}`).join(', ')}`);
      }
    }
  } finally {
    direct.destroy();
    gated.destroy();
    await gate.close();
    await s3.close();
    await rm(dir, { recursive: true, force: true });
  }
  const rows = (['s3rver', 'gate'] as const).map((name) => {
    const m = Object.fromEntries(OPS.map((op) => [op, median(samples[name].map((s) => s[op]))])) as Record<Op, number>;
    const loose = m.put * 2 + m.get + m.copy + m.delete; // publisher PUT + pipeline GET, PUT, DELETE, release COPY
    return { name, ...m, looseFloorMs: loose };
  });
  table([
    ['server', `PUT ×${files.length}`, 'GET', 'COPY', 'DELETE', 'loose publish floor (2 PUT + GET + COPY + DELETE)'],
    ...rows.map((r) => [r.name, ms(r.put), ms(r.get), ms(r.copy), ms(r.delete), ms(r.looseFloorMs)]),
  ]);
  const zipRows = (['s3rver', 'gate'] as const).map((name) => ({ name, ...Object.fromEntries(ZIP_OPS.map((op) => [op, median(zipSamples[name].map((s) => s[op]))])) as Record<ZipOp, number> }));
  table([
    ['server', `PUT of the ${(zip.length / 1e6).toFixed(0)} MB zip`, 'GET (whole)', 'GET in 4 MiB ranges, one after another', 'COPY (metadata replaced)', 'zip floor (PUT + ranged GET + 2 COPY)'],
    ...zipRows.map((r) => [r.name, ms(r.put), ms(r.get), ms(r.rangedGet), ms(r.copy), ms(r.put + r.rangedGet + 2 * r.copy)]),
  ]);
  return { files: files.length, bytes: files.reduce((n, f) => n + f.bytes.length, 0), concurrency: options.concurrency, rows, samples, zipBytes: zip.length, zipRows, zipSamples };
}

if (isMain(module)) {
  void (async () => {
    const f = flags({ resources: '5000', 'target-mb': '150', concurrency: '16', runs: '3', seed: '1' });
    const out = await benchS3rverAlone({ resources: Number(f.resources), targetMb: Number(f['target-mb']), concurrency: Number(f.concurrency), runs: Number(f.runs), seed: Number(f.seed) });
    console.log(`wrote ${await writeResult('s3rver-alone', { flags: f, ...out })}`);
  })().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
