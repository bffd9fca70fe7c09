/**
 * Run every benchmark in one go against one `lup local` (started here as a child process):
 * publish, re-publish, flip latency, then the in-process ones (verification throughput, bundle
 * sizes, and the 100 000-entry manifest). Each writes its JSON to bench/out/; the console output
 * is also saved to bench/out/all.log.
 *
 *   npx tsx bench/all.ts [--runs 3] [--only publish,republish,flip-latency,verify-throughput,bundle-size,manifest-100k]
 */
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { OUT_DIR, ROOT, flags, startLupLocal } from './support';

const SERVER_BENCHES = ['publish', 'republish', 'flip-latency'];
const ALL = [...SERVER_BENCHES, 'verify-throughput', 'bundle-size', 'manifest-100k'];

async function main(): Promise<void> {
  const f = flags({ runs: '3', only: ALL.join(',') });
  const chosen = f.only.split(',');
  await mkdir(OUT_DIR, { recursive: true });
  const log = createWriteStream(join(OUT_DIR, 'all.log'));
  const server = await startLupLocal();
  console.log(`lup local (pid ${server.pid}): S3 ${server.s3}, CDN ${server.cdn}`);
  try {
    for (const name of chosen) {
      const script = join(ROOT, 'bench', `${name}.ts`);
      if (!existsSync(script)) {
        console.log(`skip ${name}: ${script} does not exist`);
        continue;
      }
      const args = [join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), script];
      if (name !== 'bundle-size') args.push('--runs', f.runs);
      console.log(`\n=== ${name} ===`);
      log.write(`\n=== ${name} ===\n`);
      const code = await new Promise<number | null>((resolve) => {
        const child = spawn(process.execPath, args, {
          cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'],
          env: { ...process.env, ...(SERVER_BENCHES.includes(name) ? { LUP_BENCH_S3: server.s3, LUP_BENCH_CDN: server.cdn } : {}) },
        });
        child.stdout.on('data', (d: Buffer) => { process.stdout.write(d); log.write(d); });
        child.stderr.on('data', (d: Buffer) => {
          const text = d.toString().split('\n').filter((l) => !/NodeVersionSupport|node >=22|a\.co\/|trace-warnings|versions published after|will require node|continue receiving|security updates/.test(l)).join('\n');
          process.stderr.write(text);
          log.write(text);
        });
        child.on('close', resolve);
      });
      if (code !== 0) console.log(`${name} exited with ${code}`);
    }
  } finally {
    await server.stop();
    log.end();
  }
}

main().catch((error) => { console.error(error); process.exitCode = 1; });
