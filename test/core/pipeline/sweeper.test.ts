/**
 * Invariant I4, the bounded part: a release that never completes (here: an event is lost for good)
 * ends in a clear `failed` status listing what is missing, once the release timeout has passed.
 */
import { createContent } from '../../../lib/factory/content-factory';
import { EDITOR_UPLOAD, MANIFEST_NAME, keys } from '../../../lib/core/keys';
import { onManifestArrived } from '../../../lib/core/pipeline/steps';
import { editorReleaseId } from '../../../lib/core/pipeline/release';
import { hashHex } from '../../../lib/core/format/digest';
import { sweepIncompleteReleases } from '../../../lib/core/pipeline/sweeper';
import type { UploadStatus } from '../../../lib/core/documents/upload-status';
import { PipelineSimulator } from '../../helpers/simulator';

describe(sweepIncompleteReleases, () => {
  it('fails an editor build whose resources never arrive, listing the missing digests', async () => {
    const content = createContent({ seed: 3, resourceCount: 10 });
    const sim = new PipelineSimulator({ seed: 1 });
    await sim.stage(keys.staged('g', EDITOR_UPLOAD, MANIFEST_NAME), content.manifestBytes);
    await sim.drain();
    const statusKey = keys.status('g', editorReleaseId(hashHex('sha256', content.manifestBytes)));
    expect((await sim.json<UploadStatus>(statusKey))?.state).toBe('pending');

    // Before the timeout nothing changes.
    sim.advance(30 * 60_000);
    expect((await sweepIncompleteReleases(sim.context)).failed).toEqual([]);

    sim.advance(31 * 60_000);
    expect((await sweepIncompleteReleases(sim.context)).failed).toHaveLength(1);
    const status = (await sim.json<UploadStatus>(statusKey))!;
    expect(status.state).toBe('failed');
    expect(status.errors.at(-1)).toMatchObject({ code: 'RELEASE_INCOMPLETE' });
    expect([...(status.missing ?? [])].sort()).toEqual(content.resources.map((r) => r.name).sort());
    expect(sim.store.bytes(keys.pointer('g', 'stable'))).toBeUndefined();
  });

  it('completes an upload whose resource events were all lost: the objects are still staged', async () => {
    const content = createContent({ seed: 5, resourceCount: 10 });
    const sim = new PipelineSimulator({ seed: 1 });
    await sim.stageUpload({ game: 'g', upload: 'u1', channel: 'stable', content });
    // Only the manifest is processed; every other event (the release request's too) is lost.
    await onManifestArrived(sim.context, keys.staged('g', 'u1', MANIFEST_NAME));
    await sim.store.put(keys.status('g', 'u1'), JSON.stringify({
      schemaVersion: 1, game: 'g', upload: 'u1', state: 'pending', errors: [], events: [], createdAt: sim.context.clock.now().toISOString(), updatedAt: sim.context.clock.now().toISOString(),
    }));
    sim.advance(61 * 60_000);
    expect((await sweepIncompleteReleases(sim.context)).failed).toEqual([]);
    expect((await sim.json<UploadStatus>(keys.status('g', 'u1')))?.state).toBe('live');
    expect(await sim.violations()).toEqual([]);
  });

  it('leaves live and recent uploads alone', async () => {
    const content = createContent({ seed: 4, resourceCount: 6 });
    const sim = new PipelineSimulator({ seed: 1 });
    await sim.stageUpload({ game: 'g', upload: 'u1', channel: 'stable', content });
    await sim.drain();
    sim.advance(24 * 3_600_000);
    expect((await sweepIncompleteReleases(sim.context)).failed).toEqual([]);
    expect((await sim.json<UploadStatus>(keys.status('g', 'u1')))?.state).toBe('live');
  });
});
