/**
 * Model-based random tests of the pipeline (invariants I1–I5, see test/helpers/pipeline-model.ts):
 * seeded, reproducible sequences of publishes, concurrent publishes, rollbacks, promotions, staged rollouts and
 * garbage collection with injected faults, checked against a model after every operation and
 * against the same sequence run without delivery faults. `bench/soak.ts` runs the same check at
 * 100 000 sequences; a failure there prints the seed and the shrunk sequence to add here.
 */
import fc from 'fast-check';
import { checkSequence, makeFixtures, sequenceArb, type Fixtures } from '../../helpers/pipeline-model';

/** Sequences in CI: enough to meet every operation and fault many times, in well under a minute. */
const SEQUENCES = Number(process.env.LUP_MODEL_SEQUENCES ?? 1000);
const SEED = Number(process.env.LUP_MODEL_SEED ?? 20261127);

let fixtures: Fixtures;
beforeAll(async () => { fixtures = await makeFixtures(); });

describe(checkSequence, () => {
  it(`keeps I1–I5 over ${SEQUENCES} random sequences of publishes, rollbacks, promotions and gc with faults (seed ${SEED})`, async () => {
    await fc.assert(
      fc.asyncProperty(sequenceArb(6), async (sequence) => { await checkSequence(fixtures, sequence); }),
      { numRuns: SEQUENCES, seed: SEED, endOnFailure: false },
    );
  }, 900_000); // a hang guard, not a speed target (about 20 s alone; minutes on a loaded 2-core machine)

  it('fails loudly when the model is broken: a sequence expected live but refused is reported', async () => {
    // The checker itself can fail: an unsigned upload expected live must be reported.
    const broken = { seed: 1, operations: [{ kind: 'publish' as const, publish: { mode: 'loose' as const, content: 0, channel: 'stable' as const, flaw: 'none' as const }, delivery: { shuffle: false, duplicateRate: 0 } }] };
    await expect(checkSequence({ ...fixtures, valid: [fixtures.unsigned, ...fixtures.valid.slice(1)] }, broken)).rejects.toThrow(/ended refused/);
  });
});
