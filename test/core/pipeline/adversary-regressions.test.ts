/**
 * Findings of the adversarial review of this wave's work (issues 8 and 9), each pinned by the
 * reviewer's reproduction: a late older upload flipped over a newer one, a forged `applied` flip
 * record, a gc marks document that outgrew its own read bound, and receipts of big manifests that
 * could not be read back.
 */
import { validateStudioConfig } from '../../../lib/core/config';
import { hashHex } from '../../../lib/core/format/digest';
import { MANIFEST_NAME, keys } from '../../../lib/core/keys';
import { createContent } from '../../../lib/factory/content-factory';
import { zipContent } from '../../../lib/factory/write-content';
import { RELEASE_REQUEST_SCHEMA_VERSION } from '../../../lib/core/documents/release-request';
import type { ChannelPointer } from '../../../lib/core/documents/pointer';
import type { UploadStatus } from '../../../lib/core/documents/upload-status';
import { flipRecordKey } from '../../../lib/core/pipeline/flip-record';
import { claimContent, markUnreferenced, MAX_GC_MARK_BYTES } from '../../../lib/core/pipeline/gc-marks';
import { MAX_BOOKKEEPING_BYTES } from '../../../lib/core/pipeline/documents';
import { PipelineSimulator } from '../../helpers/simulator';

function config() {
  const r = validateStudioConfig({ games: [{ id: 'g', projectTitle: 'Factory Game', channels: ['stable'] }] });
  if (!r.ok) throw new Error('bad config');
  return r.config;
}

describe('a release completed late', () => {
  it('is failed as RELEASE_SUPERSEDED by the sweeper when a newer release went live meanwhile, never flipped over it', async () => {
    const sim = new PipelineSimulator({ seed: 1 }, config());
    const old = createContent({ seed: 11, resourceCount: 4, bundledFraction: 0 });
    await sim.stage(keys.staged('g', 'build-100', MANIFEST_NAME), old.manifestBytes);
    for (const r of old.resources) await sim.stage(keys.staged('g', 'build-100', r.name), r.bytes);
    // The release request is stored, but its S3 notification is lost.
    await sim.store.put(keys.releaseRequest('g', 'build-100'), JSON.stringify({
      schemaVersion: RELEASE_REQUEST_SCHEMA_VERSION, game: 'g', upload: 'build-100', channel: 'stable', kind: 'loose', archives: [],
      manifestSha256: hashHex('sha256', old.manifestBytes), requestedAt: new Date().toISOString(),
    }));
    await sim.drain();
    sim.advance(10 * 60_000);
    const fresh = createContent({ seed: 12, resourceCount: 4, bundledFraction: 0 });
    await sim.stageUpload({ game: 'g', upload: 'build-101', channel: 'stable', content: fresh });
    await sim.drain();
    sim.advance(61 * 60_000);
    await sim.sweep();
    expect(await sim.json<ChannelPointer>(keys.pointer('g', 'stable'))).toMatchObject({ releaseId: 'build-101', sequence: 1 });
    const status = (await sim.json<UploadStatus>(keys.status('g', 'build-100')))!;
    expect(status.state).toBe('failed');
    expect(status.errors.map((e) => e.code)).toEqual(['RELEASE_SUPERSEDED']);
    expect(status.errors[0].message).toContain('Publish it again');
  });
});

describe('a forged applied flip record', () => {
  it('does not make a release look live while the pointer never moved', async () => {
    const sim = new PipelineSimulator({ seed: 1 }, config());
    const v1 = createContent({ seed: 1, resourceCount: 3 });
    await sim.stageUpload({ game: 'g', upload: 'v1', channel: 'stable', content: v1, zip: await zipContent(v1) });
    await sim.drain();
    await sim.store.put(flipRecordKey('g', 'stable', 'release:g:v2'), JSON.stringify({
      schemaVersion: 1, game: 'g', channel: 'stable', requestId: 'release:g:v2', releaseId: 'v2', cause: 'release', state: 'applied', sequence: 1, at: new Date().toISOString(),
    }));
    const v2 = createContent({ seed: 2, resourceCount: 3 });
    await sim.stageUpload({ game: 'g', upload: 'v2', channel: 'stable', content: v2, zip: await zipContent(v2) });
    await sim.drain();
    expect((await sim.json<UploadStatus>(keys.status('g', 'v2')))?.state).toBe('live');
    expect(await sim.json<ChannelPointer>(keys.pointer('g', 'stable'))).toMatchObject({ releaseId: 'v2', sequence: 2 });
  });
});

describe('the gc marks document', () => {
  it('stays under its byte bound with long keys, so claims keep working', async () => {
    const sim = new PipelineSimulator({ seed: 1 });
    const game = 'g'.repeat(63);
    const unreferenced = Array.from({ length: 20_000 }, (_, i) => keys.resource(game, i.toString(16).padStart(128, '0')));
    const first = await markUnreferenced(sim.context, game, unreferenced, 60 * 60_000);
    expect(first.deferred).toBeGreaterThan(0);
    sim.advance(2 * 60 * 60_000);
    await markUnreferenced(sim.context, game, unreferenced, 60 * 60_000);
    const size = sim.store.bytes(keys.gcMarks(game))!.length;
    expect(size).toBeLessThanOrEqual(MAX_GC_MARK_BYTES);
    expect(size).toBeLessThan(MAX_BOOKKEEPING_BYTES);
    await expect(claimContent(sim.context, game, [keys.resource(game, 'ff'.repeat(64))])).resolves.toBeInstanceOf(Date);
  });
});

describe('receipts of big manifests', () => {
  it('are read back: a 100,000-resource manifest ends refused with its missing resources, not stuck on an unreadable receipt', async () => {
    const sim = new PipelineSimulator({ seed: 1 }, config());
    const content = createContent({ seed: 7, resourceCount: 100_000, bundledFraction: 0, manifestOnly: true });
    await sim.stage(keys.staged('g', 'big', MANIFEST_NAME), content.manifestBytes);
    await sim.stage(keys.releaseRequest('g', 'big'), JSON.stringify({
      schemaVersion: RELEASE_REQUEST_SCHEMA_VERSION, game: 'g', upload: 'big', channel: 'stable', kind: 'loose', archives: [],
      manifestSha256: hashHex('sha256', content.manifestBytes), requestedAt: new Date().toISOString(),
    }));
    await sim.drain();
    expect(sim.deadLetters.map((d) => String(d.error))).toEqual([]);
    expect(sim.store.bytes(keys.manifestReceipt('g', hashHex('sha256', content.manifestBytes)))!.length).toBeGreaterThan(MAX_BOOKKEEPING_BYTES);
    const status = (await sim.json<UploadStatus>(keys.status('g', 'big')))!;
    expect(status.state).toBe('refused');
    expect(status.errors[0].code).toBe('RESOURCE_MISSING');
    expect(status.errors.length).toBeLessThanOrEqual(50);
  }, 300_000);
});

describe('a channel whose pointer was deleted', () => {
  it('continues its sequence after the history, so clients that applied higher sequences keep updating', async () => {
    const sim = new PipelineSimulator({ seed: 1 }, config());
    for (const [i, upload] of ['a', 'b', 'c'].entries()) {
      const c = createContent({ seed: 40 + i, resourceCount: 2 });
      await sim.stageUpload({ game: 'g', upload, channel: 'stable', content: c, zip: await zipContent(c) });
      await sim.drain();
    }
    await sim.store.delete(keys.pointer('g', 'stable'));
    await sim.control({ action: 'rollback', game: 'g', channel: 'stable', requestId: 'x', toRelease: 'b' }).catch(() => undefined);
    const d = createContent({ seed: 50, resourceCount: 2 });
    await sim.stageUpload({ game: 'g', upload: 'd', channel: 'stable', content: d, zip: await zipContent(d) });
    await sim.drain();
    expect((await sim.json<ChannelPointer>(keys.pointer('g', 'stable')))?.sequence).toBeGreaterThan(3);
  });
});

describe('an archive over S3\'s 5 GiB single-copy limit', () => {
  it('is refused with ARCHIVE_TOO_LARGE and its reason kept in quarantine, without a copy S3 would refuse', async () => {
    const sim = new PipelineSimulator({ seed: 1 }, config());
    const content = createContent({ seed: 60, resourceCount: 2 });
    const zip = await zipContent(content);
    const staged = keys.staged('g', 'huge', 'game.zip');
    const huge = 6 * 1024 ** 3;
    const store = sim.store;
    const [head, openRange, copy] = [store.head.bind(store), store.openRange.bind(store), store.copy.bind(store)];
    store.head = async (key) => { const i = await head(key); return i && key === staged ? { ...i, sizeBytes: huge } : i; };
    store.openRange = async (key) => { const o = await openRange(key); return o && key === staged ? { ...o, info: { ...o.info, sizeBytes: huge } } : o; };
    store.copy = async (from, to, options) => {
      if (from === staged) throw Object.assign(new Error('InvalidRequest: The specified copy source is larger than the maximum allowable size for a copy source: 5368709120'), { code: 'STORE_UNAVAILABLE' });
      return copy(from, to, options);
    };
    await sim.stageUpload({ game: 'g', upload: 'huge', channel: 'stable', content, zip });
    await sim.drain();
    expect(sim.deadLetters.map((d) => String(d.error))).toEqual([]);
    const status = (await sim.json<UploadStatus>(keys.status('g', 'huge')))!;
    expect(status).toMatchObject({ state: 'refused' });
    expect(status.errors.map((e) => e.code)).toContain('ARCHIVE_TOO_LARGE');
    expect(sim.store.bytes(keys.quarantineReason('g', 'huge', 'game.zip'))).toBeDefined();
    expect(sim.store.bytes(staged)).toBeUndefined();
  });
});

describe('adversary F4 (issue 12 review): a gc grace of 0 is refused', () => {
  // With 0, one gc run marks and deletes at once, and can delete what a release flipping at that
  // moment has just claimed: the pointer then names missing content (reproduced on lup local).
  const game = (retention: Record<string, number>) => ({ games: [{ id: 'g', projectTitle: 'G', channels: ['stable'], retention }] });
  it('refuses gcGraceMinutes 0 and names the field', () => {
    const result = validateStudioConfig(game({ gcGraceMinutes: 0 }));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors.map((e) => [e.code, e.location?.field])).toEqual([['CONFIG_INVALID', 'games[0].retention.gcGraceMinutes']]);
  });
  it('still accepts minAgeDays 0 with a grace of 1 minute (development)', () => {
    expect(validateStudioConfig(game({ minAgeDays: 0, gcGraceMinutes: 1 })).ok).toBe(true);
  });
});
