/**
 * Promises a review found broken, each pinned by the scenario that broke it: headers of loose
 * resources, a policy changed after content was verified, rollbacks (twice, and to collected
 * content), and a release attempt that failed after its last resource was moved.
 */
import { createContent } from '../../../lib/factory/content-factory';
import { zipContent } from '../../../lib/factory/write-content';
import { validateStudioConfig, type StudioConfig } from '../../../lib/core/config';
import { hashHex } from '../../../lib/core/format/digest';
import { keys } from '../../../lib/core/keys';
import { previousRelease, runControl } from '../../../lib/core/pipeline/control';
import { onReleaseRequested } from '../../../lib/core/pipeline/steps';
import { RELEASE_REQUEST_SCHEMA_VERSION } from '../../../lib/core/documents/release-request';
import type { ChannelPointer, FlipEntry } from '../../../lib/core/documents/pointer';
import type { UploadStatus } from '../../../lib/core/documents/upload-status';
import { encodeResourceHeader } from '../../../lib/core/format/resource-header';
import { PipelineSimulator } from '../../helpers/simulator';

function config(supportedEngineVersions: string[]): StudioConfig {
  const result = validateStudioConfig({ games: [{ id: 'g', projectTitle: 'Factory Game', supportedEngineVersions, channels: ['stable'] }] });
  if (!result.ok) throw new Error('bad test config');
  return result.config;
}

describe('loose resources', () => {
  it('are refused at release when their header disagrees with the manifest, though the payload matches its name', async () => {
    const content = createContent({ seed: 21, resourceCount: 8, compressedFraction: 0, encryptedFraction: 0 });
    const victim = content.resources[0];
    const forged = Buffer.from(victim.bytes);
    forged.set(encodeResourceHeader({ uncompressedSizeBytes: 999, flags: 3 }), 0);
    const sim = new PipelineSimulator({ seed: 1 });
    await sim.stageUpload({ game: 'g', upload: 'u1', channel: 'stable', content: { ...content, resources: [{ name: victim.name, bytes: forged }, ...content.resources.slice(1)] } });
    await sim.drain();
    const status = (await sim.json<UploadStatus>(keys.status('g', 'u1')))!;
    expect(status.state).toBe('refused');
    expect(status.errors.map((e) => e.code)).toEqual(expect.arrayContaining(['RESOURCE_SIZE_MISMATCH']));
    expect(status.errors.every((e) => e.location?.key?.startsWith(`state/g/_verified/resources/${victim.name}.`))).toBe(true);
    expect(sim.store.bytes(keys.pointer('g', 'stable'))).toBeUndefined();
  });
});

describe('a changed game policy', () => {
  it('applies to content verified before the change: a request naming it is refused', async () => {
    const content = createContent({ seed: 22, resourceCount: 6, engineVersions: ['1.9.0'] });
    const zip = await zipContent(content);
    const sim = new PipelineSimulator({ seed: 1 }, config(['1.9.0']));
    await sim.stageUpload({ game: 'g', upload: 'u1', channel: 'stable', content, zip });
    await sim.drain();
    expect((await sim.json<UploadStatus>(keys.status('g', 'u1')))?.state).toBe('live');

    // The studio now requires 1.10.0; the CLI skips the archive (already under content/) and sends only a request.
    const context = { ...sim.context, config: config(['1.10.0']) };
    await sim.store.put(keys.releaseRequest('g', 'u2'), JSON.stringify({
      schemaVersion: RELEASE_REQUEST_SCHEMA_VERSION, game: 'g', upload: 'u2', channel: 'stable', kind: 'archives',
      archives: [{ name: 'game.zip', sha256: hashHex('sha256', zip), sizeBytes: zip.length, priority: 10 }], requestedAt: new Date().toISOString(),
    }));
    await onReleaseRequested(context, keys.releaseRequest('g', 'u2'));
    const status = (await sim.json<UploadStatus>(keys.status('g', 'u2')))!;
    expect(status.state).toBe('refused');
    expect(status.errors.map((e) => e.code)).toEqual(['MANIFEST_ENGINE_UNSUPPORTED']);
    expect((await sim.json<ChannelPointer>(keys.pointer('g', 'stable')))?.sequence).toBe(1);
  });
});

describe(previousRelease, () => {
  const entry = (sequence: number, releaseId: string, cause: FlipEntry['cause']): FlipEntry => ({ sequence, releaseId, cause, requestId: `r${sequence}`, at: '' });

  it('never goes forward again to the release a rollback fled', () => {
    // A, then C; rollback to A. Rolling back again has nowhere to go: C is what was fled.
    expect(previousRelease({ releaseId: 'A', history: [entry(3, 'A', 'rollback'), entry(2, 'C', 'release'), entry(1, 'A', 'release')] })).toBeUndefined();
    // A, B, C; rollback to B; rollback again goes to A.
    expect(previousRelease({ releaseId: 'B', history: [entry(4, 'B', 'rollback'), entry(3, 'C', 'release'), entry(2, 'B', 'release'), entry(1, 'A', 'release')] })).toBe('A');
    expect(previousRelease({ releaseId: 'C', history: [entry(2, 'C', 'release'), entry(1, 'A', 'release')] })).toBe('A');
  });
});

describe('rollback', () => {
  it('refuses to point a channel at a release whose content was garbage-collected', async () => {
    const sim = new PipelineSimulator({ seed: 1 });
    const v1 = await zipContent(createContent({ seed: 23, resourceCount: 4 }));
    const v2 = await zipContent(createContent({ seed: 24, resourceCount: 4 }));
    await sim.stageUpload({ game: 'g', upload: 'u1', channel: 'stable', content: createContent({ seed: 23, resourceCount: 4 }), zip: v1 });
    await sim.drain();
    await sim.stageUpload({ game: 'g', upload: 'u2', channel: 'stable', content: createContent({ seed: 24, resourceCount: 4 }), zip: v2 });
    await sim.drain();
    await sim.store.delete(keys.archive('g', hashHex('sha256', v1)));
    await expect(runControl(sim.context, { action: 'rollback', game: 'g', channel: 'stable', requestId: 'rb' })).rejects.toMatchObject({ code: 'RELEASE_INCOMPLETE' });
    expect((await sim.json<ChannelPointer>(keys.pointer('g', 'stable')))).toMatchObject({ releaseId: 'u2', sequence: 2 });
  });
});

describe('a release attempt that fails after the last resource was moved', () => {
  it('is completed by the retry of that resource event', async () => {
    const content = createContent({ seed: 25, resourceCount: 5 });
    const sim = new PipelineSimulator({ seed: 1 });
    // The request is handled first (waiting); the last resource's step is the one that releases.
    await sim.stage(keys.staged('g', 'u1', 'liveupdate.game.dmanifest'), content.manifestBytes);
    await sim.stage(keys.releaseRequest('g', 'u1'), JSON.stringify({
      schemaVersion: RELEASE_REQUEST_SCHEMA_VERSION, game: 'g', upload: 'u1', channel: 'stable', kind: 'loose', archives: [],
      manifestSha256: hashHex('sha256', content.manifestBytes), requestedAt: new Date().toISOString(),
    }));
    for (const r of content.resources) await sim.stage(keys.staged('g', 'u1', r.name), r.bytes);
    // The invalidation of the flip fails once: the resource step throws, Lambda retries it.
    sim.cdn.failNext(1);
    await sim.drain();
    expect(sim.deadLetters).toEqual([]);
    expect((await sim.json<UploadStatus>(keys.status('g', 'u1')))?.state).toBe('live');
    expect(sim.cdn.calls.filter((c) => !c.failed)).toHaveLength(1);
  });
});
