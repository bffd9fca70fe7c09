/**
 * Invariant I3 (idempotent) and I4 (order-free), tried hard: the same end state as a clean run
 * under duplicate and reordered events, and under a crash before every single write of the whole
 * pipeline followed by Lambda's retry. The in-memory store makes it possible to crash at each of
 * the hundreds of write points in turn; the handler tests on the local S3 server cover the rest.
 */
import fc from 'fast-check';
import { createContent } from '../../../lib/factory/content-factory';
import { zipContent } from '../../../lib/factory/write-content';
import { keys } from '../../../lib/core/keys';
import { PipelineSimulator } from '../../helpers/simulator';

const content = createContent({ seed: 7, resourceCount: 12 });
let zip: Uint8Array;
beforeAll(async () => { zip = await zipContent(content); });

type Mode = 'loose' | 'zip';

async function run(mode: Mode, options: { seed?: number; shuffle?: boolean; duplicateRate?: number; crashAtWrite?: number } = {}) {
  const sim = new PipelineSimulator({ seed: options.seed ?? 1, shuffle: options.shuffle, duplicateRate: options.duplicateRate });
  await sim.stageUpload({ game: 'g', upload: 'u1', channel: 'stable', content, zip: mode === 'zip' ? zip : undefined });
  if (options.crashAtWrite !== undefined) sim.store.crashAtWrite(options.crashAtWrite);
  const violations: string[] = [];
  await sim.drain(async () => { violations.push(...(await sim.violations())); });
  return { sim, violations, state: await sim.endState() };
}

describe.each<Mode>(['loose', 'zip'])('a %s release', (mode) => {
  let clean: Record<string, unknown>;
  let cleanWrites: number;

  beforeAll(async () => {
    const { sim, state, violations } = await run(mode);
    clean = state;
    cleanWrites = sim.store.writes;
    expect(violations).toEqual([]);
    expect(state[keys.pointer('g', 'stable')]).toMatchObject({ sequence: 1, releaseId: 'u1' });
    expect(state[keys.status('g', 'u1')]).toBe('live');
  });

  it('reaches the clean end state after a crash before any one of its writes, then the retry', async () => {
    // Staging writes by the publisher happen before counting starts; every pipeline write is a crash point.
    expect(cleanWrites).toBeGreaterThan(10);
    for (let n = 1; n <= cleanWrites; n++) {
      const { sim, state, violations } = await run(mode, { crashAtWrite: n });
      expect({ crashAt: n, violations, deadLetters: sim.deadLetters.length }).toEqual({ crashAt: n, violations: [], deadLetters: 0 });
      expect({ crashAt: n, state }).toEqual({ crashAt: n, state: clean });
    }
  });

  it('reaches the clean end state under any delivery order with duplicates', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.double({ min: 0, max: 0.5, noNaN: true }), async (seed, duplicateRate) => {
        const { state, violations } = await run(mode, { seed, shuffle: true, duplicateRate });
        expect(violations).toEqual([]);
        expect(state).toEqual(clean);
      }),
      { numRuns: 60 },
    );
  });
});
