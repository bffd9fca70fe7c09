/**
 * Operator actions on the in-memory store: garbage collection keeps what retained releases need,
 * deletes content with its receipt, and never lets a later release reference what it deleted.
 */
import { createContent } from '../../../lib/factory/content-factory';
import { zipContent } from '../../../lib/factory/write-content';
import { hashHex } from '../../../lib/core/format/digest';
import { keys } from '../../../lib/core/keys';
import { parseControlRequest, runControl, type GcReport } from '../../../lib/core/pipeline/control';
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
  it('collects a verified archive no release uses, with its receipt, one grace period after marking it; a later release naming it is refused', async () => {
    const sim = new PipelineSimulator({ seed: 1 });
    const live = createContent({ seed: 1, resourceCount: 6 });
    const liveZip = await zipContent(live);
    await sim.stageUpload({ game: 'g', upload: 'u1', channel: 'stable', content: live, zip: liveZip });
    // An archive verified but never released (its publisher gave up before the request).
    const orphan = await zipContent(createContent({ seed: 2, resourceCount: 6 }));
    await sim.stage(keys.staged('g', 'u2', 'game.zip'), orphan);
    await sim.drain();
    const orphanSha = hashHex('sha256', orphan);
    // Verified, but not servable: it waits in the private area.
    expect(sim.store.bytes(keys.verifiedArchive('g', orphanSha))).toBeDefined();
    expect(sim.store.bytes(keys.archive('g', orphanSha))).toBeUndefined();

    // Young content is never collected.
    expect((await gc(sim, false)).unreferenced).toEqual([]);
    sim.advance(8 * DAY);
    const dryRun = await gc(sim, false);
    const candidates = dryRun.unreferenced.map((o) => o.key);
    expect(candidates).toHaveLength(4);
    expect(candidates).toEqual(expect.arrayContaining([
      keys.verifiedArchive('g', hashHex('sha256', liveZip)), keys.verifiedArchive('g', orphanSha),
      expect.stringMatching(/^state\/g\/_verified\/manifests\//),
    ]));
    expect(candidates.filter((k) => k.startsWith('state/g/_verified/manifests/'))).toHaveLength(2);
    expect(sim.store.keys().filter((k) => k.includes('_gc/'))).toEqual([]);

    // The first run only marks; nothing is deleted before the grace period has passed.
    const first = await gc(sim, true);
    expect(first).toMatchObject({ deleted: [], graceMinutes: 60 });
    expect(first.marked).toHaveLength(4);
    expect(sim.store.bytes(keys.verifiedArchive('g', orphanSha))).toBeDefined();
    sim.advance(30 * 60_000);
    expect((await gc(sim, true)).deleted).toEqual([]);
    sim.advance(31 * 60_000);
    const second = await gc(sim, true);
    expect(second.deleted).toHaveLength(4);
    expect(sim.store.bytes(keys.verifiedArchive('g', orphanSha))).toBeUndefined();
    expect(sim.store.bytes(keys.archiveReceipt('g', orphanSha))).toBeUndefined();
    // The live release is untouched, and so is its receipt (its released copy remains).
    expect(sim.store.bytes(keys.archive('g', hashHex('sha256', liveZip)))).toBeDefined();
    expect(sim.store.bytes(keys.archiveReceipt('g', hashHex('sha256', liveZip)))).toBeDefined();
    expect(await sim.violations()).toEqual([]);

    // A release request naming the collected archive is refused.
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

describe(parseControlRequest, () => {
  it('refuses a toRelease that is not an id, naming the field (it becomes a key)', () => {
    expect(() => parseControlRequest({ action: 'rollback', game: 'g', channel: 'stable', requestId: 'r1', toRelease: '../../channels/g/stable' }))
      .toThrow(expect.objectContaining({ code: 'USAGE_INVALID', location: { field: 'toRelease' } }));
    expect(() => parseControlRequest({ action: 'promote', game: 'g', from: 'beta', to: 'stable', requestId: 'r1', force: '' }))
      .toThrow(expect.objectContaining({ code: 'USAGE_INVALID', location: { field: 'force' } }));
    expect(parseControlRequest({ action: 'rollback', game: 'g', channel: 'stable', requestId: 'r1', toRelease: 'build-7', force: 'incident 42' }))
      .toEqual({ action: 'rollback', game: 'g', channel: 'stable', requestId: 'r1', toRelease: 'build-7', force: 'incident 42' });
  });
});

describe('upload ids reserved for the editor', () => {
  it('are ignored when a publisher stages under them: no status of an editor build is written', async () => {
    const sim = new PipelineSimulator({ seed: 1 });
    const content = createContent({ seed: 91, resourceCount: 2 });
    await sim.stageUpload({ game: 'g', upload: 'editor-0123456789ab', channel: 'stable', content, zip: await zipContent(content) });
    await sim.drain();
    expect(sim.store.keys().filter((k) => !k.startsWith('staging/'))).toEqual([]);
  });
});

describe('an operator action towards a release whose manifest garbage collection removed', () => {
  /**
   * Channel stable: u1 then u2 (loose), beta: u1 (promoted); then u1's manifest goes, as gc deletes
   * it (released and verified copies).
   */
  async function collectedFirstRelease(): Promise<{ sim: PipelineSimulator; collectedSha: string }> {
    const sim = new PipelineSimulator({ seed: 1 });
    const first = createContent({ seed: 31, resourceCount: 3 });
    await sim.stageUpload({ game: 'g', upload: 'u1', channel: 'stable', content: first });
    await sim.drain();
    await runControl(sim.context, { action: 'promote', game: 'g', from: 'stable', to: 'beta', requestId: 'to-beta', createChannel: true });
    await sim.stageUpload({ game: 'g', upload: 'u2', channel: 'stable', content: createContent({ seed: 32, resourceCount: 3 }) });
    await sim.drain();
    const collectedSha = hashHex('sha256', first.manifestBytes);
    await sim.store.delete(keys.manifest('g', collectedSha));
    await sim.store.delete(keys.verifiedManifest('g', collectedSha));
    return { sim, collectedSha };
  }

  it('is refused as RELEASE_INCOMPLETE naming the release, gc and what to do (rollback, promote, rollout start), not as an internal retried step', async () => {
    const { sim, collectedSha } = await collectedFirstRelease();
    const expected = {
      code: 'RELEASE_INCOMPLETE',
      location: { key: keys.release('g', 'u1') },
      actual: expect.stringContaining(keys.manifest('g', collectedSha)),
      message: expect.stringMatching(/^Release u1 .*garbage collection.*publish it again.*lup releases/is),
    };
    await expect(runControl(sim.context, { action: 'rollback', game: 'g', channel: 'stable', requestId: 'rb' })).rejects.toMatchObject(expected);
    await expect(runControl(sim.context, { action: 'rollout', op: 'start', game: 'g', channel: 'stable', release: 'u1', share: 100, requestId: 'ro' })).rejects.toMatchObject(expected);
    // Promote from a channel that serves the collected release.
    await expect(runControl(sim.context, { action: 'promote', game: 'g', from: 'beta', to: 'stable', requestId: 'pr' })).rejects.toMatchObject(expected);
    expect(await sim.json<{ releaseId: string; sequence: number }>(keys.pointer('g', 'stable'))).toMatchObject({ releaseId: 'u2', sequence: 2 });
  });
});
