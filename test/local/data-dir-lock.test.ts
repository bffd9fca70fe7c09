/**
 * One local stack per data folder (issue 11, item 2): two gates over the same objects could both
 * accept a compare-and-swap flip of one pointer, so a second stack is refused, naming the holder.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DATA_DIR_LOCK_FILE } from '../../lib/local/data-dir-lock';
import { startPipelineStack, type PipelineStack } from '../../lib/local/pipeline-stack';
import { lup } from '../helpers/cli-run';

const SAMPLE = join(__dirname, '..', '..', 'examples', 'sample-game', 'v1', 'sample.zip');
const start = (dataDir: string): Promise<PipelineStack> => startPipelineStack({ dataDir, s3Port: 0, cdnPort: 0, sweepIntervalMs: 0, command: 'lup local' });

describe('the data folder lock', () => {
  let dir: string;
  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'lup-lock-')); });
  afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

  it('refuses a second stack on the same data folder, naming the holder and its endpoint', async () => {
    const first = await start(join(dir, 'data'));
    try {
      await expect(start(join(dir, 'data'))).rejects.toMatchObject({
        code: 'DATA_DIR_IN_USE',
        message: expect.stringContaining(`in use by lup local (pid ${process.pid}; S3 ${first.s3Endpoint}, CDN ${first.cdnBaseUrl})`),
      });
    } finally {
      await first.stop();
    }
  });

  it('refuses lup publish without --endpoint while a stack on other ports holds the folder (exit 2)', async () => {
    const holder = await start(join(dir, 'data'));
    try {
      const run = await lup(['publish', SAMPLE, '--game', 'sample', '--channel', 'stable', '--data-dir', join(dir, 'data')], dir);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain('DATA_DIR_IN_USE');
      expect(run.stderr).toContain(`pass --endpoint ${holder.s3Endpoint} to use that stack`);
    } finally {
      await holder.stop();
    }
  });

  it('is released on stop, so the next start succeeds', async () => {
    const first = await start(join(dir, 'data'));
    await first.stop();
    expect(existsSync(join(dir, 'data', DATA_DIR_LOCK_FILE))).toBe(false);
    const second = await start(join(dir, 'data'));
    await second.stop();
  });

  it('takes over a lock left by a process that no longer exists', async () => {
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    await start(join(dir, 'data')).then((s) => s.stop());
    writeFileSync(join(dir, 'data', DATA_DIR_LOCK_FILE), JSON.stringify({ pid: Number(gone.stdout), command: 'lup local', startedAt: '2026-01-01T00:00:00Z' }));
    const stack = await start(join(dir, 'data'));
    await stack.stop();
  });
});
