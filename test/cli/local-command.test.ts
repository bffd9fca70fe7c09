/**
 * `lup local` as a user runs it: a separate process that prints its endpoints when ready, serves
 * the pipeline, stops cleanly on Ctrl-C (SIGINT) and keeps its data for the next start.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:http';
import { createInterface } from 'node:readline';
import { listen } from '../../lib/local/listen';
import { runCli } from '../../lib/cli/run';
import { captureIo } from '../helpers/cli-run';
import { LUP_NODE_ARGS } from '../helpers/lup-process';

const ROOT = join(__dirname, '..', '..');
const SAMPLE = join(ROOT, 'examples', 'sample-game', 'v1', 'sample.zip');

interface Running { child: ChildProcessWithoutNullStreams; s3: string; cdn: string }

async function startLocal(dataDir: string): Promise<Running> {
  const child = spawn(process.execPath, [...LUP_NODE_ARGS, 'local', '--data-dir', dataDir, '--s3-port', '0', '--cdn-port', '0', '--json', '--quiet'], { cwd: ROOT });
  const lines = createInterface({ input: child.stdout });
  const ready = await new Promise<{ s3: string; cdn: string }>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`lup local exited early with ${code}`)));
    lines.once('line', (line) => resolve(JSON.parse(line)));
  });
  return { child, ...ready };
}

async function stop(running: Running): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => running.child.once('exit', (code) => resolve(code)));
  running.child.kill('SIGINT');
  return exited;
}

describe('lup local', () => {
  let dir: string;
  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'lup-local-')); });
  afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

  it('prints its endpoints as one JSON line, stops on Ctrl-C, and keeps published content', async () => {
    const dataDir = join(dir, 'data');
    const first = await startLocal(dataDir);
    expect(first.s3).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(first.cdn).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);

    const io = captureIo(dir);
    const code = await runCli(['publish', SAMPLE, '--game', 'sample', '--channel', 'stable', '--endpoint', first.s3, '--cdn', first.cdn, '--json'], io);
    expect(code).toBe(0);
    const { releaseId } = JSON.parse(io.out());
    const served = await fetch(`${first.cdn}channels/sample/stable.json`);
    expect(((await served.json()) as { releaseId: string }).releaseId).toBe(releaseId);
    expect(await stop(first)).toBe(0);

    const second = await startLocal(dataDir);
    try {
      const again = await fetch(`${second.cdn}channels/sample/stable.json`);
      expect(again.status).toBe(200);
      expect(((await again.json()) as { releaseId: string }).releaseId).toBe(releaseId);
    } finally {
      expect(await stop(second)).toBe(0);
    }
  });

  it('names the port in use and its flag (exit 2)', async () => {
    const taken = createServer();
    const port = await listen(taken, 0, '127.0.0.1');
    try {
      const child = spawn(process.execPath, [...LUP_NODE_ARGS, 'local', '--data-dir', join(dir, 'd'), '--s3-port', String(port), '--cdn-port', '0'], { cwd: ROOT });
      let err = '';
      child.stderr.on('data', (c) => { err += c; });
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      expect(code).toBe(2);
      expect(err).toContain(`error: port ${port} (--s3-port) is in use on 127.0.0.1`);
    } finally {
      taken.close();
    }
  });

  it('refuses a bad port with exit code 2, naming the flag', async () => {
    const child = spawn(process.execPath, [...LUP_NODE_ARGS, 'local', '--data-dir', join(dir, 'd'), '--s3-port', 'abc'], { cwd: ROOT });
    let err = '';
    child.stderr.on('data', (c) => { err += c; });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(2);
    expect(err).toContain('--s3-port "abc" is not a port number');
  });
});
