/**
 * Operator actions on the in-memory store: garbage collection keeps what retained releases need,
 * deletes content with its receipt, and never lets a later release reference what it deleted.
 */
import { createContent } from '../../../lib/factory/content-factory';
import { zipContent } from '../../../lib/factory/write-content';
import { hashHex } from '../../../lib/core/format/digest';
import { keys } from '../../../lib/core/keys';
import { runControl, type GcReport } from '../../../lib/core/pipeline/control';
import { RELEASE_REQUEST_SCHEMA_VERSION } from '../../../lib/core/documents/release-request';
import type { UploadStatus } from '../../../lib/core/documents/upload-status';
import { PipelineSimulator } from '../../helpers/simulator';

const DAY = 86_400_000;

async function gc(sim: PipelineSimulator, apply: boolean): Promise<GcReport> {
  const response = await runControl(sim.context, { action: 'gc', game: 'g', apply });
  if (response.action !== 'gc') throw new Error('expected a gc report');
  return response.report;
}

describe(runControl, () => {
  it('collects a verified archive no release uses, with its receipt, and a later release naming it is refused', async () => {
    const sim = new PipelineSimulator({ seed: 1 });
    const live = createContent({ seed: 1, resourceCount: 6 });
    const liveZip = await zipContent(live);
    await sim.stageUpload({ game: 'g', upload: 'u1', channel: 'stable', content: live, zip: liveZip });
    // An archive verified but never released (its publisher gave up before the request).
    const orphan = await zipContent(createContent({ seed: 2, resourceCount: 6 }));
    await sim.stage(keys.staged('g', 'u2', 'game.zip'), orphan);
    await sim.drain();
    const orphanSha = hashHex('sha256', orphan);
    expect(sim.store.bytes(keys.archive('g', orphanSha))).toBeDefined();

    // Young content is never collected.
    expect((await gc(sim, false)).unreferenced).toEqual([]);
    sim.advance(8 * DAY);
    const dryRun = await gc(sim, false);
    const candidates = dryRun.unreferenced.map((o) => o.key);
    expect(candidates).toHaveLength(2);
    expect(candidates).toEqual(expect.arrayContaining([keys.archive('g', orphanSha), expect.stringMatching(/^content\/g\/manifests\//)]));
    expect(sim.store.bytes(keys.archive('g', orphanSha))).toBeDefined();

    await gc(sim, true);
    expect(sim.store.bytes(keys.archive('g', orphanSha))).toBeUndefined();
    expect(sim.store.bytes(keys.archiveReceipt('g', orphanSha))).toBeUndefined();
    // The live release is untouched.
    expect(sim.store.bytes(keys.archive('g', hashHex('sha256', liveZip)))).toBeDefined();
    expect(await sim.violations()).toEqual([]);

    // A release request naming the collected archive (the CLI skipped it as "published") is refused.
    await sim.stage(keys.releaseRequest('g', 'u3'), JSON.stringify({
      schemaVersion: RELEASE_REQUEST_SCHEMA_VERSION, game: 'g', upload: 'u3', channel: 'stable', kind: 'archives',
      archives: [{ name: 'game.zip', sha256: orphanSha, sizeBytes: orphan.length, priority: 10 }], requestedAt: new Date().toISOString(),
    }));
    await sim.drain();
    const status = await sim.json<UploadStatus>(keys.status('g', 'u3'));
    expect(status).toMatchObject({ state: 'refused', errors: [expect.objectContaining({ code: 'RELEASE_INCOMPLETE' })] });
    expect(await sim.violations()).toEqual([]);
  });

  it('refuses to collect anything when a retained release cannot be read', async () => {
    const sim = new PipelineSimulator({ seed: 1 });
    const content = createContent({ seed: 3, resourceCount: 4 });
    await sim.stageUpload({ game: 'g', upload: 'u1', channel: 'stable', content });
    await sim.drain();
    await sim.store.delete(keys.release('g', 'u1'));
    await expect(gc(sim, true)).rejects.toMatchObject({ code: 'GC_INCOMPLETE_VIEW' });
  });
});
