/**
 * Memory of the manifest step on adversarial input (issue 8): a 32 MiB manifest of tiny entries,
 * or of one entry with 32 million packed dependants, once took the step to 0.8 and 3.4 GB and
 * 20-30 s. Now they are refused by a wire pre-scan before decoding. Each runs the real manifest
 * step in a child process whose peak RSS (creating the bomb included) must stay under half the
 * manifest function's configured memory.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { DEFAULT_FUNCTION_SIZING } from '../../../lib/constructs/pipeline-functions';

const CHILD = join(__dirname, '..', '..', 'helpers', 'manifest-bomb-child.ts');
const TSX = join(__dirname, '..', '..', '..', 'node_modules', '.bin', 'tsx');

function runBomb(kind: string, mib: number): Promise<{ state: string; codes: string[]; peakRssMiB: number; deadLetters: number }> {
  return new Promise((resolve, reject) => {
    execFile(TSX, [CHILD, kind, String(mib)], { timeout: 90_000, maxBuffer: 1 << 20 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${error.message}\n${stderr}`));
      else resolve(JSON.parse(stdout.trim().split('\n').at(-1)!));
    });
  });
}

describe('a manifest bomb', () => {
  const limitMiB = DEFAULT_FUNCTION_SIZING.manifest.memoryMiB / 2;

  test.each([['entries'], ['dependants']])('of many %s is refused as MANIFEST_TOO_LARGE within half the function memory', async (kind) => {
    const outcome = await runBomb(kind, 32);
    expect(outcome).toMatchObject({ state: 'refused', codes: ['MANIFEST_TOO_LARGE'], deadLetters: 0 });
    expect(outcome.peakRssMiB).toBeLessThan(limitMiB);
  }, 120_000);
});
