/**
 * Invariant I4, the bounded part: a release that never completes (here: an event is lost for good)
 * ends in a clear `failed` status listing what is missing, once the release timeout has passed.
 */
import { createContent } from '../../../lib/factory/content-factory';
import { keys } from '../../../lib/core/keys';
import { onReleaseRequested, onManifestArrived } from '../../../lib/core/pipeline/steps';
import { sweepIncompleteReleases } from '../../../lib/core/pipeline/sweeper';
import type { UploadStatus } from '../../../lib/core/upload-status';
import { PipelineSimulator } from '../../helpers/simulator';

describe(sweepIncompleteReleases, () => {
  it('fails a release whose resources never arrive, listing the missing digests', async () => {
    const content = createContent({ seed: 3, resourceCount: 10 });
    const sim = new PipelineSimulator({ seed: 1 });
    await sim.stageUpload({ game: 'g', upload: 'u1', channel: 'stable', content });
    // Only the manifest and the request are processed; every resource event is lost.
    await onManifestArrived(sim.context, keys.staged('g', 'u1', 'liveupdate.game.dmanifest'));
    await onReleaseRequested(sim.context, keys.releaseRequest('g', 'u1'));
    expect((await sim.json<UploadStatus>(keys.status('g', 'u1')))?.state).toBe('pending');

    // Before the timeout nothing changes.
    sim.advance(30 * 60_000);
    expect(await sweepIncompleteReleases(sim.context)).toEqual([]);

    sim.advance(31 * 60_000);
    expect(await sweepIncompleteReleases(sim.context)).toEqual([{ game: 'g', upload: 'u1' }]);
    const status = (await sim.json<UploadStatus>(keys.status('g', 'u1')))!;
    expect(status.state).toBe('failed');
    expect(status.errors.at(-1)).toMatchObject({ code: 'RELEASE_INCOMPLETE' });
    expect([...(status.missing ?? [])].sort()).toEqual(content.resources.map((r) => r.name).sort());
    expect(sim.store.bytes(keys.pointer('g', 'stable'))).toBeUndefined();
  });

  it('leaves live and recent uploads alone', async () => {
    const content = createContent({ seed: 4, resourceCount: 6 });
    const sim = new PipelineSimulator({ seed: 1 });
    await sim.stageUpload({ game: 'g', upload: 'u1', channel: 'stable', content });
    await sim.drain();
    sim.advance(24 * 3_600_000);
    expect(await sweepIncompleteReleases(sim.context)).toEqual([]);
    expect((await sim.json<UploadStatus>(keys.status('g', 'u1')))?.state).toBe('live');
  });
});
