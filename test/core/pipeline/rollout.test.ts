/**
 * Staged rollouts through the pipeline's control entry (the same path `lup rollout` and the control
 * Lambda take), on the memory store: every operation is a compare-and-swap flip with its own
 * sequence and history entry; one rollout per channel; a rollout only widens; the candidate passes
 * the game's current rules like a promotion; garbage collection keeps the candidate's content.
 */
import { createContent } from '../../../lib/factory/content-factory';
import { zipContent } from '../../../lib/factory/write-content';
import { validateStudioConfig, type StudioConfig } from '../../../lib/core/config';
import { keys } from '../../../lib/core/keys';
import type { ChannelPointer } from '../../../lib/core/documents/pointer';
import type { ReleaseRecord } from '../../../lib/core/documents/release-record';
import { parseControlRequest, type ControlRequest } from '../../../lib/core/pipeline/control';
import { releaseContentKeys } from '../../../lib/core/pipeline/gc';
import { PipelineSimulator } from '../../helpers/simulator';

const DAY = 86_400_000;

function config(game: Record<string, unknown> = {}): StudioConfig {
  const result = validateStudioConfig({ games: [{ id: 'g', projectTitle: 'Factory Game', channels: ['stable', 'beta'], publisherChannels: ['stable', 'beta'], ...game }] });
  if (!result.ok) throw new Error(`bad test config: ${JSON.stringify(result)}`);
  return result.config;
}

async function pointer(sim: PipelineSimulator, channel = 'stable'): Promise<ChannelPointer> {
  return (await sim.json<ChannelPointer>(keys.pointer('g', channel)))!;
}

/** v1 live on stable, v2 live on beta. */
async function twoReleases(sim: PipelineSimulator, engines: [string[], string[]] = [['1.9.0'], ['1.9.0']]): Promise<void> {
  const v1 = createContent({ seed: 131, resourceCount: 3, engineVersions: engines[0] });
  await sim.stageUpload({ game: 'g', upload: 'v1', channel: 'stable', content: v1, zip: await zipContent(v1) });
  await sim.drain();
  const v2 = createContent({ seed: 132, resourceCount: 3, engineVersions: engines[1] });
  await sim.stageUpload({ game: 'g', upload: 'v2', channel: 'beta', content: v2, zip: await zipContent(v2) });
  await sim.drain();
}

const op = (o: Omit<Extract<ControlRequest, { action: 'rollout' }>, 'action' | 'game' | 'channel'> & { channel?: string }): ControlRequest =>
  ({ action: 'rollout', game: 'g', channel: 'stable', ...o }) as ControlRequest;

describe('staged rollout operations', () => {
  it('start → set → halt → set (resume) → complete, each a flip with its sequence and history entry', async () => {
    const sim = new PipelineSimulator({ seed: 1 }, config());
    await twoReleases(sim);
    expect(await pointer(sim)).toMatchObject({ sequence: 1, releaseId: 'v1' });
    const v2 = (await sim.json<ReleaseRecord>(keys.release('g', 'v2')))!;

    const started = await sim.control(op({ op: 'start', release: 'v2', share: 100, requestId: 'r-1' }));
    expect(started).toMatchObject({ action: 'rollout', op: 'start', flip: { applied: true, sequence: 2 } });
    const p2 = await pointer(sim);
    expect(p2).toMatchObject({ sequence: 2, releaseId: 'v1', cause: 'rollout-start', rollout: { releaseId: 'v2', share: 100, state: 'active', startedSequence: 2 } });
    expect(p2.rollout?.salt).toMatch(/^[0-9a-f]{32}$/);
    expect(p2.rollout?.archives).toEqual(v2.archives);
    expect(p2.rollout?.manifest).toEqual(v2.manifest);
    expect(p2.history[0]).toMatchObject({ sequence: 2, releaseId: 'v1', cause: 'rollout-start', candidate: 'v2', share: 100, requestId: 'r-1' });

    await sim.control(op({ op: 'set', share: 1000, requestId: 'r-2' }));
    await sim.control(op({ op: 'halt', requestId: 'r-3' }));
    expect(await pointer(sim)).toMatchObject({ sequence: 4, releaseId: 'v1', rollout: { share: 1000, state: 'halted', salt: p2.rollout?.salt } });
    await sim.control(op({ op: 'set', share: 1000, requestId: 'r-4' }));
    expect(await pointer(sim)).toMatchObject({ sequence: 5, rollout: { share: 1000, state: 'active' } });

    await sim.control(op({ op: 'complete', requestId: 'r-5' }));
    const done = await pointer(sim);
    expect(done).toMatchObject({ sequence: 6, releaseId: 'v2', cause: 'rollout-complete', archives: v2.archives });
    expect(done.rollout).toBeUndefined();
    expect(done.history.map((h) => [h.sequence, h.cause, h.releaseId, h.candidate, h.share])).toEqual([
      [6, 'rollout-complete', 'v2', 'v2', 10000], [5, 'rollout-set', 'v1', 'v2', 1000], [4, 'rollout-halt', 'v1', 'v2', 1000],
      [3, 'rollout-set', 'v1', 'v2', 1000], [2, 'rollout-start', 'v1', 'v2', 100], [1, 'release', 'v1', undefined, undefined],
    ]);
    // the stable manifest beside the pointer follows the completed release; history records are written
    expect(sim.store.bytes(keys.stableManifest('g', 'stable'))).toEqual(sim.store.bytes(v2.manifest.path));
    expect(await sim.json(keys.history('g', 'stable', 6))).toMatchObject({ cause: 'rollout-complete', candidate: 'v2' });
    // a rollback after a completed rollout goes back to the release before it
    await sim.control({ action: 'rollback', game: 'g', channel: 'stable', requestId: 'rb' });
    expect(await pointer(sim)).toMatchObject({ sequence: 7, releaseId: 'v1' });
    expect(await sim.violations()).toEqual([]);
  });

  it('abort removes the block and keeps the stable release; a new start draws a new salt', async () => {
    const sim = new PipelineSimulator({ seed: 2 }, config());
    await twoReleases(sim);
    await sim.control(op({ op: 'start', release: 'v2', share: 500, requestId: 'a-1' }));
    const salt = (await pointer(sim)).rollout?.salt;
    await sim.control(op({ op: 'abort', requestId: 'a-2' }));
    const aborted = await pointer(sim);
    expect(aborted).toMatchObject({ sequence: 3, releaseId: 'v1', cause: 'rollout-abort' });
    expect(aborted.rollout).toBeUndefined();
    expect(aborted.history[0]).toMatchObject({ cause: 'rollout-abort', candidate: 'v2', share: 0 });
    await sim.control(op({ op: 'start', release: 'v2', share: 500, requestId: 'a-3' }));
    expect((await pointer(sim)).rollout?.salt).not.toBe(salt);
  });

  it('refuses what does not fit the channel: a second rollout, narrowing, halting twice, nothing to act on', async () => {
    const sim = new PipelineSimulator({ seed: 3 }, config());
    await twoReleases(sim);
    await expect(sim.control(op({ op: 'set', share: 200, requestId: 'x-0' }))).rejects.toMatchObject({ code: 'ROLLOUT_REFUSED', actual: 'none' });
    await expect(sim.control(op({ op: 'start', release: 'v1', share: 200, requestId: 'x-1' }))).rejects.toMatchObject({ code: 'ROLLOUT_REFUSED' });
    await sim.control(op({ op: 'start', release: 'v2', share: 1000, requestId: 'x-2' }));
    await expect(sim.control(op({ op: 'start', release: 'v2', share: 2000, requestId: 'x-3' }))).rejects.toMatchObject({ code: 'ROLLOUT_REFUSED', expected: 'no rollout on the channel' });
    await expect(sim.control(op({ op: 'set', share: 1000, requestId: 'x-4' }))).rejects.toMatchObject({ code: 'ROLLOUT_REFUSED', actual: '10 %' });
    await expect(sim.control(op({ op: 'set', share: 500, requestId: 'x-5' }))).rejects.toMatchObject({ code: 'ROLLOUT_REFUSED' });
    await sim.control(op({ op: 'halt', requestId: 'x-6' }));
    await expect(sim.control(op({ op: 'halt', requestId: 'x-7' }))).rejects.toMatchObject({ code: 'ROLLOUT_REFUSED', actual: 'halted' });
    await expect(sim.control(op({ op: 'set', share: 999, requestId: 'x-8' }))).rejects.toMatchObject({ code: 'ROLLOUT_REFUSED' });
    await expect(sim.control(op({ op: 'start', channel: 'nightly', release: 'v2', share: 1, requestId: 'x-9' }))).rejects.toMatchObject({ code: 'CHANNEL_UNKNOWN' });
    // A configured game names the closest configured channel for a typo.
    await expect(sim.control(op({ op: 'start', channel: 'stabel', release: 'v2', share: 1, requestId: 'x-10' })))
      .rejects.toMatchObject({ code: 'CHANNEL_UNKNOWN', message: 'Game "g" has no channel "stabel"; did you mean "stable"?' });
    // only the start and the halt moved the pointer
    expect(await pointer(sim)).toMatchObject({ sequence: 3, rollout: { share: 1000, state: 'halted' } });
  });

  it('applies a retried request once (same request id)', async () => {
    const sim = new PipelineSimulator({ seed: 4 }, config());
    await twoReleases(sim);
    await sim.control(op({ op: 'start', release: 'v2', share: 100, requestId: 'same' }));
    const again = await sim.control(op({ op: 'start', release: 'v2', share: 100, requestId: 'same' }));
    expect(again).toMatchObject({ flip: { applied: false, sequence: 2 } });
    await sim.control(op({ op: 'set', share: 300, requestId: 'w' }));
    expect(await sim.control(op({ op: 'set', share: 300, requestId: 'w' }))).toMatchObject({ flip: { applied: false, sequence: 3 } });
    expect(await pointer(sim)).toMatchObject({ sequence: 3, rollout: { share: 300 } });
  });

  it('a release to the channel during a rollout keeps the rollout, and drops it when it releases the candidate', async () => {
    const sim = new PipelineSimulator({ seed: 5 }, config());
    await twoReleases(sim);
    await sim.control(op({ op: 'start', release: 'v2', share: 100, requestId: 's' }));
    const v3 = createContent({ seed: 133, resourceCount: 2 });
    await sim.stageUpload({ game: 'g', upload: 'v3', channel: 'stable', content: v3, zip: await zipContent(v3) });
    await sim.drain();
    expect(await pointer(sim)).toMatchObject({ sequence: 3, releaseId: 'v3', cause: 'release', rollout: { releaseId: 'v2', share: 100 } });
    await sim.control({ action: 'promote', game: 'g', from: 'beta', to: 'stable', requestId: 'p' });
    const promoted = await pointer(sim);
    expect(promoted).toMatchObject({ sequence: 4, releaseId: 'v2' });
    expect(promoted.rollout).toBeUndefined();
  });

  it('checks the candidate against the game\'s current rules on start, set and complete; --force records why', async () => {
    const sim = new PipelineSimulator({ seed: 6 }, config({ supportedEngineVersions: ['1.9.0'] }));
    await twoReleases(sim, [['1.9.0', '1.10.0'], ['1.9.0']]);
    (sim.context as { config?: StudioConfig }).config = config({ supportedEngineVersions: ['1.10.0'] });
    await expect(sim.control(op({ op: 'start', release: 'v2', share: 100, requestId: 'f-1' }))).rejects.toMatchObject({ code: 'MANIFEST_ENGINE_UNSUPPORTED' });
    expect(await pointer(sim)).toMatchObject({ sequence: 1 });
    await sim.control(op({ op: 'start', release: 'v2', share: 100, requestId: 'f-2', force: 'incident 7: QA build' }));
    expect((await pointer(sim)).history[0]).toMatchObject({ cause: 'rollout-start', reason: 'incident 7: QA build' });
    await expect(sim.control(op({ op: 'set', share: 200, requestId: 'f-3' }))).rejects.toMatchObject({ code: 'MANIFEST_ENGINE_UNSUPPORTED' });
    await expect(sim.control(op({ op: 'complete', requestId: 'f-4' }))).rejects.toMatchObject({ code: 'MANIFEST_ENGINE_UNSUPPORTED' });
    // halting and aborting serve nothing new: no rules to pass
    await sim.control(op({ op: 'halt', requestId: 'f-5' }));
    await sim.control(op({ op: 'abort', requestId: 'f-6' }));
    expect(await pointer(sim)).toMatchObject({ sequence: 4, releaseId: 'v1', cause: 'rollout-abort' });
  });

  it('garbage collection keeps the content of a rollout\'s candidate', async () => {
    const sim = new PipelineSimulator({ seed: 7 }, config({ retention: { releasesPerChannel: 1, minAgeDays: 1, gcGraceMinutes: 60 } }));
    const v1 = createContent({ seed: 141, resourceCount: 3 });
    await sim.stageUpload({ game: 'g', upload: 'v1', channel: 'stable', content: v1, zip: await zipContent(v1) });
    await sim.drain();
    const v2 = createContent({ seed: 142, resourceCount: 3 });
    await sim.stageUpload({ game: 'g', upload: 'v2', channel: 'stable', content: v2, zip: await zipContent(v2) });
    await sim.drain();
    sim.advance(2 * DAY);
    // v1 is no longer retained: gc marks its content
    const marked = await sim.control({ action: 'gc', game: 'g', apply: true });
    const v1Keys = releaseContentKeys((await sim.json<ReleaseRecord>(keys.release('g', 'v1')))!);
    expect(marked).toMatchObject({ action: 'gc', report: { marked: expect.arrayContaining(v1Keys) } });
    // rolling v1 out again takes its content back, and later gc runs leave it alone
    await sim.control(op({ op: 'start', release: 'v1', share: 100, requestId: 'g-1' }));
    sim.advance(2 * 3_600_000);
    const first = await sim.control({ action: 'gc', game: 'g', apply: true });
    sim.advance(2 * 3_600_000);
    const second = await sim.control({ action: 'gc', game: 'g', apply: true });
    for (const report of [first, second]) {
      if (report.action !== 'gc') throw new Error('not a gc report');
      expect(report.report.deleted.filter((k) => v1Keys.includes(k))).toEqual([]);
      expect(report.report.marked.filter((k) => v1Keys.includes(k))).toEqual([]);
    }
    for (const key of v1Keys) expect(sim.store.bytes(key)).toBeDefined();
    expect(await sim.violations()).toEqual([]);
  });
});

describe('parseControlRequest for rollouts', () => {
  it('accepts each operation with its fields', () => {
    expect(parseControlRequest({ action: 'rollout', op: 'start', game: 'g', channel: 'stable', release: 'v2', share: 100, requestId: 'r' }))
      .toEqual({ action: 'rollout', op: 'start', game: 'g', channel: 'stable', release: 'v2', share: 100, requestId: 'r' });
    expect(parseControlRequest({ action: 'rollout', op: 'halt', game: 'g', channel: 'stable', requestId: 'r', share: 5 }))
      .toEqual({ action: 'rollout', op: 'halt', game: 'g', channel: 'stable', requestId: 'r' });
    expect(parseControlRequest({ action: 'rollout', op: 'complete', game: 'g', channel: 'stable', requestId: 'r', force: 'why' }))
      .toMatchObject({ op: 'complete', force: 'why' });
  });

  it.each([
    [{ op: 'pause' }, 'op'],
    [{ op: 'start', release: 'v2', share: 0 }, 'share'],
    [{ op: 'start', release: 'v2', share: 10001 }, 'share'],
    [{ op: 'set', share: 2.5 }, 'share'],
    [{ op: 'start', release: '../x', share: 1 }, 'release'],
    [{ op: 'abort', channel: 'Bad' }, 'channel'],
  ])('refuses %j naming %s', (fields, field) => {
    expect(() => parseControlRequest({ action: 'rollout', game: 'g', channel: 'stable', requestId: 'r', ...fields }))
      .toThrow(expect.objectContaining({ code: 'USAGE_INVALID', location: { field } }));
  });
});
