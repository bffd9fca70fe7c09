/**
 * Issue 8's defects, each as the scenario that broke a promise on the earlier code (DESIGN I1, I2,
 * I4, I5 and the security model), run against the real handlers on the memory store. Only APIs
 * that existed before the fix are used, so each test can be run against the old code and fail.
 */
import { createContent } from '../../../lib/factory/content-factory';
import { zipContent } from '../../../lib/factory/write-content';
import { validateStudioConfig, type StudioConfig } from '../../../lib/core/config';
import { hashHex } from '../../../lib/core/format/digest';
import { MANIFEST_NAME, keys } from '../../../lib/core/keys';
import { onReleaseRequested } from '../../../lib/core/pipeline/steps';
import { RELEASE_REQUEST_SCHEMA_VERSION } from '../../../lib/core/documents/release-request';
import type { ChannelPointer } from '../../../lib/core/documents/pointer';
import type { UploadStatus } from '../../../lib/core/documents/upload-status';
import { encodeResourceHeader } from '../../../lib/core/format/resource-header';
import { PipelineSimulator } from '../../helpers/simulator';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function config(game: Record<string, unknown> = {}): StudioConfig {
  const result = validateStudioConfig({ games: [{ id: 'g', projectTitle: 'Factory Game', channels: ['stable', 'beta'], ...game }] });
  if (!result.ok) throw new Error(`bad test config: ${JSON.stringify(result)}`);
  return result.config;
}

/** A release request for content already verified: what `lup publish` sends when it skips uploads. */
function looseRequest(upload: string, manifestBytes: Uint8Array, channel = 'stable', extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    schemaVersion: RELEASE_REQUEST_SCHEMA_VERSION, game: 'g', upload, channel, kind: 'loose', archives: [],
    manifestSha256: hashHex('sha256', manifestBytes), requestedAt: new Date().toISOString(), ...extra,
  });
}

async function pointer(sim: PipelineSimulator, channel = 'stable'): Promise<ChannelPointer | undefined> {
  return sim.json<ChannelPointer>(keys.pointer('g', channel));
}

async function status(sim: PipelineSimulator, upload: string): Promise<UploadStatus | undefined> {
  return sim.json<UploadStatus>(keys.status('g', upload));
}

describe('garbage collection racing a release (I1)', () => {
  const loose = createContent({ seed: 81, resourceCount: 31, bundledFraction: 0, compressedFraction: 0, encryptedFraction: 0 });
  const zipped = createContent({ seed: 82, resourceCount: 4 });

  /** L1 (loose) replaced by Z1 (an archive), then old enough for gc to collect L1's content. */
  async function replacedLooseRelease(): Promise<PipelineSimulator> {
    const sim = new PipelineSimulator({ seed: 1 }, config({ retention: { releasesPerChannel: 1, minAgeDays: 1 } }));
    await sim.stageUpload({ game: 'g', upload: 'l1', channel: 'stable', content: loose });
    await sim.drain();
    await sim.stageUpload({ game: 'g', upload: 'z1', channel: 'stable', content: zipped, zip: await zipContent(zipped) });
    await sim.drain();
    expect(await pointer(sim)).toMatchObject({ releaseId: 'z1' });
    sim.advance(2 * DAY);
    return sim;
  }

  /** Re-release L1's build (only the request: the CLI skips content already published) during gc's first delete. */
  function reReleaseDuringDelete(sim: PipelineSimulator, upload: string): { fired: () => boolean } {
    const realDelete = sim.store.delete.bind(sim.store);
    let fired = false;
    sim.store.delete = async (key: string) => {
      if (!fired && (key.startsWith('content/') || key.startsWith('state/g/_verified/'))) {
        fired = true;
        await sim.stage(keys.releaseRequest('g', upload), looseRequest(upload, loose.manifestBytes));
        await sim.drain();
      }
      return realDelete(key);
    };
    return { fired: () => fired };
  }

  it('never leaves a pointer naming content gc deleted, however the release and the delete interleave', async () => {
    const sim = await replacedLooseRelease();
    const hook = reReleaseDuringDelete(sim, 'l2');
    for (let run = 0; run < 2; run++) {
      await sim.control({ action: 'gc', game: 'g', apply: true });
      expect(await sim.violations()).toEqual([]);
      sim.advance(2 * HOUR);
    }
    expect(hook.fired()).toBe(true);
    // The re-release either went live with all of its content, or was refused loudly.
    const p = (await pointer(sim))!;
    expect(['z1', 'l2']).toContain(p.releaseId);
    if (p.releaseId === 'z1') expect((await status(sim, 'l2'))?.state).toMatch(/refused|failed/);
    expect(await sim.violations()).toEqual([]);
  });

  it('lets a re-release made between two gc runs take its content back', async () => {
    const sim = await replacedLooseRelease();
    await sim.control({ action: 'gc', game: 'g', apply: true });
    await sim.stage(keys.releaseRequest('g', 'l2'), looseRequest('l2', loose.manifestBytes));
    await sim.drain();
    expect(await pointer(sim)).toMatchObject({ releaseId: 'l2' });
    sim.advance(2 * HOUR);
    await sim.control({ action: 'gc', game: 'g', apply: true });
    expect(await sim.violations()).toEqual([]);
    for (const r of loose.resources) expect(sim.store.bytes(keys.resource('g', r.name))).toBeDefined();
  });
});

describe('a flip whose follow-ups failed (I5)', () => {
  it('is never applied again, however many flips happened since', async () => {
    const sim = new PipelineSimulator({ seed: 1 });
    const first = createContent({ seed: 83, resourceCount: 3 });
    // The first release's step crashes right after the pointer PUT, before the status says live,
    // on every attempt of every event that tries it (a timeout, an out-of-memory, a lost container).
    let crashing = true;
    let crashes = 0;
    const realPut = sim.store.put.bind(sim.store);
    sim.store.put = async (key, body, options) => {
      if (crashing && key === keys.status('g', 'a') && String(body).includes('"live"')) {
        crashes += 1;
        throw Object.assign(new Error('simulated crash before the status write'), { code: 'STORE_UNAVAILABLE' });
      }
      return realPut(key, body, options);
    };
    await sim.stageUpload({ game: 'g', upload: 'a', channel: 'stable', content: first, zip: await zipContent(first) });
    await sim.drain();
    expect(await pointer(sim)).toMatchObject({ releaseId: 'a', sequence: 1 });
    expect(crashes).toBeGreaterThanOrEqual(3);
    crashing = false;
    for (let i = 0; i < 26; i++) {
      const later = createContent({ seed: 100 + i, resourceCount: 2 });
      await sim.stageUpload({ game: 'g', upload: `b${i}`, channel: 'stable', content: later, zip: await zipContent(later) });
      await sim.drain();
    }
    expect(await pointer(sim)).toMatchObject({ releaseId: 'b25', sequence: 27 });
    // An hour later the sweeper looks at what is left, and S3 redelivers the request's event.
    sim.advance(2 * HOUR);
    await sim.sweep();
    await onReleaseRequested(sim.context, keys.releaseRequest('g', 'a'));
    expect(await pointer(sim)).toMatchObject({ releaseId: 'b25', sequence: 27 });
    expect(await sim.violations()).toEqual([]);
  });
});

describe('the sweeper (I4)', () => {
  it('keeps going past an upload it cannot handle, and fails that upload after a few runs', async () => {
    const sim = new PipelineSimulator({ seed: 1 });
    const bad = createContent({ seed: 84, resourceCount: 3, bundledFraction: 0 });
    const good = createContent({ seed: 85, resourceCount: 3, bundledFraction: 0 });
    const unreadable = keys.staged('g', 'u1', bad.resources[0].name);
    const realGetStream = sim.store.getStream.bind(sim.store);
    sim.store.getStream = async (key: string) => {
      if (key === unreadable) throw Object.assign(new Error('simulated: the object cannot be read'), { code: 'STORE_UNAVAILABLE' });
      return realGetStream(key);
    };
    // Both uploads lose their resource events; the sweeper is what completes them.
    const onlyManifest = (name: string) => name !== MANIFEST_NAME;
    await sim.stageUpload({ game: 'g', upload: 'u1', channel: 'stable', content: bad, loseEvent: onlyManifest });
    await sim.stageUpload({ game: 'g', upload: 'u2', channel: 'beta', content: good, loseEvent: onlyManifest });
    await sim.drain();
    sim.advance(2 * HOUR);
    await sim.sweep();
    expect((await status(sim, 'u2'))?.state).toBe('live');
    await sim.sweep();
    await sim.sweep();
    expect((await status(sim, 'u1'))?.state).toBe('failed');
    expect(await pointer(sim)).toBeUndefined();
  });
});

describe('bounded reads of what a publisher controls', () => {
  it('refuses a release request larger than any lup publish writes, unread', async () => {
    const sim = new PipelineSimulator({ seed: 1 });
    const content = createContent({ seed: 86, resourceCount: 2 });
    const zip = await zipContent(content);
    await sim.stageUpload({ game: 'g', upload: 'u1', channel: 'stable', content, zip });
    // Valid JSON, padded to 1 MiB with whitespace.
    const request = JSON.parse(sim.store.bytes(keys.releaseRequest('g', 'u1')) ? Buffer.from(sim.store.bytes(keys.releaseRequest('g', 'u1'))!).toString() : '{}');
    await sim.store.put(keys.releaseRequest('g', 'u1'), `${JSON.stringify(request)}${' '.repeat(1024 * 1024)}`);
    let largestRead = 0;
    const realGet = sim.store.get.bind(sim.store);
    sim.store.get = async (key: string) => {
      const object = await realGet(key);
      if (key === keys.releaseRequest('g', 'u1') && object) largestRead = Math.max(largestRead, object.body.length);
      return object;
    };
    await sim.drain();
    const s = (await status(sim, 'u1'))!;
    expect(s.state).toBe('refused');
    expect(s.errors).toEqual([expect.objectContaining({ code: 'RELEASE_REQUEST_INVALID', expected: expect.stringMatching(/^at most \d+ bytes$/) })]);
    expect(largestRead).toBe(0);
    expect(await pointer(sim)).toBeUndefined();
  });
});

describe('loose resources a publisher stages (security model)', () => {
  it('stay private until a release that references them goes live', async () => {
    const sim = new PipelineSimulator({ seed: 1 });
    // 16 header bytes + anything, named by the SHA-1 of the payload: no manifest, no request.
    const payload = Buffer.from('<script>alert(1)</script>');
    const forged = Buffer.concat([Buffer.from(encodeResourceHeader({ uncompressedSizeBytes: payload.length, flags: 0 })), payload]);
    await sim.stage(keys.staged('g', 'x', hashHex('sha1', payload)), forged);
    await sim.drain();
    expect(sim.store.keys().filter((k) => k.startsWith('content/'))).toEqual([]);
  });

  it('whose first arrival had a wrong header do not block a later, correct upload of the same payload', async () => {
    const content = createContent({ seed: 87, resourceCount: 6, bundledFraction: 0, compressedFraction: 0, encryptedFraction: 0 });
    const victim = content.resources[0];
    const forged = Buffer.from(victim.bytes);
    forged.set(encodeResourceHeader({ uncompressedSizeBytes: 999, flags: 0 }), 0);
    const sim = new PipelineSimulator({ seed: 1 });
    await sim.stageUpload({ game: 'g', upload: 'u1', channel: 'stable', content, replace: (name, bytes) => (name === victim.name ? forged : bytes) });
    await sim.drain();
    expect((await status(sim, 'u1'))?.state).toBe('refused');
    await sim.stageUpload({ game: 'g', upload: 'u2', channel: 'stable', content });
    await sim.drain();
    expect((await status(sim, 'u2'))?.state).toBe('live');
    expect(Buffer.from(sim.store.bytes(keys.resource('g', victim.name))!).equals(Buffer.from(victim.bytes))).toBe(true);
    expect(await sim.violations()).toEqual([]);
  });
});

describe('promote and rollback under the game\'s current rules (I5)', () => {
  it('refuse a target release today\'s rules refuse, and --force records why it was overridden', async () => {
    const old = createContent({ seed: 88, resourceCount: 2, engineVersions: ['1.9.0'] });
    const sim = new PipelineSimulator({ seed: 1 }, config({ supportedEngineVersions: ['1.9.0'] }));
    await sim.stageUpload({ game: 'g', upload: 'v1', channel: 'stable', content: old, zip: await zipContent(old) });
    await sim.drain();
    const next = createContent({ seed: 89, resourceCount: 2, engineVersions: ['1.9.0', '1.10.0'] });
    await sim.stageUpload({ game: 'g', upload: 'v2', channel: 'stable', content: next, zip: await zipContent(next) });
    await sim.drain();
    expect([await status(sim, 'v1'), await status(sim, 'v2')]).toMatchObject([{ state: 'live', errors: [] }, { state: 'live', errors: [] }]);
    expect(await pointer(sim)).toMatchObject({ releaseId: 'v2' });
    // The studio now requires 1.10.0 (every release must support it): a rollback to v1 would serve players content their engine refuses.
    (sim.context as { config?: StudioConfig }).config = config({ supportedEngineVersions: ['1.10.0'] });
    await expect(sim.control({ action: 'rollback', game: 'g', channel: 'stable', requestId: 'rb-1' })).rejects.toMatchObject({ code: 'MANIFEST_ENGINE_UNSUPPORTED' });
    await expect(sim.control({ action: 'promote', game: 'g', from: 'stable', to: 'beta', requestId: 'pr-1' })).resolves.toBeDefined();
    expect(await pointer(sim)).toMatchObject({ releaseId: 'v2', sequence: 2 });
    const forced = await sim.control({ action: 'rollback', game: 'g', channel: 'stable', requestId: 'rb-2', force: 'incident 42: 1.10.0 crashes on iOS' } as never);
    expect(forced).toMatchObject({ flip: { applied: true } });
    expect((await pointer(sim))?.history[0]).toMatchObject({ releaseId: 'v1', cause: 'rollback', reason: 'incident 42: 1.10.0 crashes on iOS' });
  });
});

describe('development-mode pinning', () => {
  it('refuses a public key that does not parse or did not sign the manifest, and the game stays usable', async () => {
    const sim = new PipelineSimulator({ seed: 1 });
    const content = createContent({ seed: 90, resourceCount: 2 });
    const zip = await zipContent(content);
    await sim.stageUpload({ game: 'g', upload: 'u1', channel: 'stable', content, zip });
    const request = JSON.parse(Buffer.from(sim.store.bytes(keys.releaseRequest('g', 'u1'))!).toString());
    await sim.store.put(keys.releaseRequest('g', 'u1'), JSON.stringify({ ...request, publicKey: 'AAAAAAAA' }));
    await sim.drain();
    const s = (await status(sim, 'u1'))!;
    expect(s.state).toBe('refused');
    expect(s.errors[0]).toMatchObject({ location: expect.objectContaining({ field: 'publicKey' }) });
    // Not bricked: the same content without the garbage key goes live.
    await sim.stageUpload({ game: 'g', upload: 'u2', channel: 'stable', content, zip });
    await sim.drain();
    expect((await status(sim, 'u2'))?.state).toBe('live');
  });
});
