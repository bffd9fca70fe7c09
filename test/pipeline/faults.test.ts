/**
 * I3 and I4 on the real local stack: S3-style duplicate deliveries, delays that reorder events, and
 * crashes before and after a handler ran (Lambda retries), end in the same state as a clean run.
 */
import { keys } from '../../lib/core/keys';
import type { DeliveryInfo } from '../../lib/local/event-router';
import { keysUnder, lup, pointerOf, startTestStack, statusOf, writeContent, type TestStack } from '../helpers/pipeline-stack';
import { Prng } from '../../lib/factory/content-factory';

async function publishLoose(stack: TestStack, seed: number): Promise<{ upload: string; content: Awaited<ReturnType<typeof writeContent>>['content'] }> {
  const { folder, content } = await writeContent(stack, `c${seed}`, { seed, resourceCount: 20 });
  const result = await lup(stack, ['publish', folder, '--game', 'g', '--channel', 'stable', '--json']);
  expect(result.code).toBe(0);
  await stack.router.idle();
  return { upload: JSON.parse(result.out).upload, content };
}

async function servedState(stack: TestStack): Promise<string[]> {
  return [...(await keysUnder(stack.store, 'content/')), ...(await keysUnder(stack.store, 'channels/'))];
}

describe('the pipeline under injected delivery faults', () => {
  it('duplicates, delays and crashes before or after a handler end like a clean run', async () => {
    const clean = await startTestStack();
    let cleanState: string[];
    try {
      await publishLoose(clean, 77);
      cleanState = await servedState(clean);
    } finally {
      await clean.close();
    }

    const random = new Prng(2026);
    const crashed = new Set<string>();
    const faulty = await startTestStack({
      faults: {
        duplicate: () => random.chance(0.3),
        delayMs: () => random.int(0, 30),
        // Each first attempt of every third event dies, half before and half after the handler ran.
        crash: (d: DeliveryInfo & { phase: 'before' | 'after' }) => {
          if (d.attempt !== 1 || d.eventId % 3 !== 0) return;
          if ((d.eventId % 2 === 0) !== (d.phase === 'before')) return;
          crashed.add(`${d.key}:${d.phase}`);
          throw new Error(`injected crash ${d.phase} ${d.key}`);
        },
      },
    });
    try {
      const { upload } = await publishLoose(faulty, 77);
      expect(crashed.size).toBeGreaterThan(3);
      expect([...crashed].some((c) => c.endsWith(':after'))).toBe(true);
      expect(faulty.router.deadLetters).toEqual([]);
      expect(await servedState(faulty)).toEqual(cleanState);
      expect((await statusOf(faulty, 'g', upload))?.state).toBe('live');
      expect((await pointerOf(faulty, 'g', 'stable'))?.sequence).toBe(1);
      expect(await keysUnder(faulty.store, keys.uploadPrefix('g', upload))).toEqual([]);
    } finally {
      await faulty.close();
    }
  });
});
