/**
 * Invariant I2 (atomic flip) on the real local stack: releases, a promotion and a rollback racing
 * on one channel are serialised by the compare-and-swap. Every outcome is recorded, the sequence
 * only grows, and the pointer always names a complete release.
 */
import { keys } from '../../lib/core/keys';
import { runControl } from '../../lib/core/pipeline/control';
import type { ReleaseRecord } from '../../lib/core/documents/release-record';
import type { FlipEntry } from '../../lib/core/documents/pointer';
import { keysUnder, lup, pointerOf, readJsonKey, startTestStack, writeContent, type TestStack } from '../helpers/pipeline-stack';

describe('concurrent operations on one channel', () => {
  let stack: TestStack;
  beforeEach(async () => { stack = await startTestStack(); });
  afterEach(async () => { await stack.close(); });

  it('serialises concurrent publishes and a racing rollback without losing any', async () => {
    const first = await writeContent(stack, 'v0', { seed: 100, resourceCount: 6 });
    expect((await lup(stack, ['publish', first.zip, '--game', 'g', '--channel', 'stable'])).code).toBe(0);
    const builds = await Promise.all([1, 2, 3, 4].map((i) => writeContent(stack, `v${i}`, { seed: 100 + i, resourceCount: 6 })));

    const [publishes, rollback] = await Promise.all([
      Promise.all(builds.map((b) => lup(stack, ['publish', b.zip, '--game', 'g', '--channel', 'stable', '--json']))),
      (async () => {
        // Roll back as soon as one racing release is live, while the others are still in flight.
        while (((await pointerOf(stack, 'g', 'stable'))?.sequence ?? 0) < 2) await new Promise((r) => setTimeout(r, 5));
        return runControl(stack.context, { action: 'rollback', game: 'g', channel: 'stable', requestId: 'race-rollback' });
      })(),
    ]);
    const reports = publishes.map((p) => JSON.parse(p.out));
    expect(reports.map((r) => r.state)).toEqual(['live', 'live', 'live', 'live']);

    // Six flips in all: the first release, four racing releases and the rollback, each with its own sequence.
    const history = await keysUnder(stack.store, keys.historyPrefix('g', 'stable'));
    expect(history).toHaveLength(6);
    const entries = await Promise.all(history.map((k) => readJsonKey<FlipEntry>(stack.store, k)));
    expect(entries.map((e) => e!.sequence)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(new Set(entries.map((e) => e!.requestId)).size).toBe(6);
    expect(rollback.action === 'rollback' && rollback.flip.applied).toBe(true);
    for (const report of reports) expect(entries.some((e) => e!.releaseId === report.releaseId)).toBe(true);

    // The pointer names a complete release: its record and every object exist.
    const pointer = (await pointerOf(stack, 'g', 'stable'))!;
    expect(pointer.sequence).toBe(6);
    const record = await readJsonKey<ReleaseRecord>(stack.store, keys.release('g', pointer.releaseId));
    expect(record).toBeDefined();
    for (const path of [pointer.manifest.path, ...pointer.archives.map((a) => a.path)]) expect(await stack.store.head(path)).toBeDefined();
  });

  it('promotes and rolls back through the same compare-and-swap', async () => {
    const v1 = await writeContent(stack, 'p1', { seed: 200, resourceCount: 5 });
    const v2 = await writeContent(stack, 'p2', { seed: 201, resourceCount: 5 });
    const r1 = JSON.parse((await lup(stack, ['publish', v1.zip, '--game', 'g', '--channel', 'beta', '--json'])).out);
    await runControl(stack.context, { action: 'promote', game: 'g', from: 'beta', to: 'stable', requestId: 'promote-1', createChannel: true });
    const r2 = JSON.parse((await lup(stack, ['publish', v2.zip, '--game', 'g', '--channel', 'stable', '--json'])).out);
    expect((await pointerOf(stack, 'g', 'stable'))).toMatchObject({ releaseId: r2.releaseId, sequence: 2 });

    await runControl(stack.context, { action: 'rollback', game: 'g', channel: 'stable', requestId: 'rb-1' });
    // A retried rollback (same request id) is not applied twice.
    await runControl(stack.context, { action: 'rollback', game: 'g', channel: 'stable', requestId: 'rb-1' });
    expect((await pointerOf(stack, 'g', 'stable'))).toMatchObject({ releaseId: r1.releaseId, sequence: 3, cause: 'rollback' });
  });
});
