/**
 * The README's walkthrough, as a new user runs it: publish the sample, a second version, roll back;
 * `lup verify` (a game client's view through the CDN) passes after each step.
 */
import { join } from 'node:path';
import { lup, startTestStack, type TestStack } from '../helpers/pipeline-stack';

const SAMPLE = join(__dirname, '..', '..', 'examples', 'sample-game');
const KEY = join(__dirname, '..', '..', 'examples', 'keys', 'sample-public.der');

describe('the README walkthrough', () => {
  let stack: TestStack;
  beforeAll(async () => { stack = await startTestStack(); });
  afterAll(async () => { await stack.close(); });

  async function verify(): Promise<{ releaseId: string; sequence: number }> {
    const result = await lup(stack, ['verify', '--game', 'sample', '--channel', 'stable', '--json']);
    expect({ code: result.code, err: result.err }).toEqual({ code: 0, err: '' });
    return JSON.parse(result.out);
  }

  it('publish v1, publish v2, roll back: verify passes after each step', async () => {
    const v1 = await lup(stack, ['publish', join(SAMPLE, 'v1', 'sample.zip'), '--game', 'sample', '--channel', 'stable', '--public-key', KEY, '--json']);
    expect(v1.code).toBe(0);
    const first = JSON.parse(v1.out).releaseId;
    expect(await verify()).toMatchObject({ releaseId: first, sequence: 1 });

    const v2 = await lup(stack, ['publish', join(SAMPLE, 'v2', 'sample.zip'), '--game', 'sample', '--channel', 'stable', '--json']);
    expect(v2.code).toBe(0);
    expect(await verify()).toMatchObject({ releaseId: JSON.parse(v2.out).releaseId, sequence: 2 });

    const rollback = await lup(stack, ['rollback', '--game', 'sample', '--channel', 'stable']);
    expect(rollback.code).toBe(0);
    expect(await verify()).toMatchObject({ releaseId: first, sequence: 3 });

    const loose = await lup(stack, ['publish', join(SAMPLE, 'loose-v1'), '--game', 'sample', '--channel', 'stable', '--json']);
    expect(loose.code).toBe(0);
    expect(await verify()).toMatchObject({ releaseId: JSON.parse(loose.out).releaseId, sequence: 4 });
  });
});
