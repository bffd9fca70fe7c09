/**
 * Least privilege proven by running the code under the synthesized grants (issue 9): every
 * function's role is read from the synthesized template, and the handlers' scenarios run on the
 * simulator with each function's store refusing whatever its policy does not allow — the
 * release-before-resources order, a zip, the editor's auto-release, the sweeper finishing an upload,
 * promote, rollback and gc. A grant narrower than the code fails here, not on AWS; the written-out
 * matrix in pipeline-functions.test.ts keeps it from being wider.
 */
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import { Template } from 'aws-cdk-lib/assertions';
import { ContentBucket } from '../../lib/constructs/content-bucket';
import { PipelineFunctions, type PipelineFunctionName } from '../../lib/constructs/pipeline-functions';
import { validateStudioConfig, type StudioConfig } from '../../lib/core/config';
import { hashHex } from '../../lib/core/format/digest';
import { EDITOR_UPLOAD, MANIFEST_NAME, keys } from '../../lib/core/keys';
import type { PipelineContext } from '../../lib/core/pipeline/context';
import { requestReleaseAttempt } from '../../lib/core/pipeline/steps';
import type { ChannelPointer } from '../../lib/core/documents/pointer';
import type { UploadStatus } from '../../lib/core/documents/upload-status';
import { RELEASE_REQUEST_SCHEMA_VERSION } from '../../lib/core/documents/release-request';
import { createContent } from '../../lib/factory/content-factory';
import { zipContent } from '../../lib/factory/write-content';
import { GrantedStore } from '../helpers/granted-store';
import { PipelineSimulator } from '../helpers/simulator';
import { allowedPairs, identityStatements, logicalId, testStack, text } from './helpers';

const NAMES: PipelineFunctionName[] = ['resource', 'archive', 'manifest', 'release', 'control', 'sweeper'];

function studio(): StudioConfig {
  const result = validateStudioConfig({
    games: [{
      id: 'g', projectTitle: 'Factory Game', channels: ['stable', 'beta'], autoReleaseChannel: 'beta', publisherChannels: ['stable', 'beta'],
      retention: { releasesPerChannel: 1, minAgeDays: 1 },
    }],
  });
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.config;
}

/** Each function's grants, read from a synthesized stack. */
function synthesizedGrants(config: StudioConfig): Record<PipelineFunctionName, Set<string>> {
  const stack = testStack();
  const { bucket } = new ContentBucket(stack, 'Content');
  const distribution = new cloudfront.Distribution(stack, 'Cdn', { defaultBehavior: { origin: origins.S3BucketOrigin.withOriginAccessControl(bucket) } });
  const pipeline = new PipelineFunctions(stack, 'Pipeline', { bucket, config, cdnBaseUrl: 'https://cdn.test/', distribution });
  const template = Template.fromStack(stack);
  const resources = template.toJSON().Resources;
  return Object.fromEntries(NAMES.map((name) => {
    const role = text(resources[logicalId(pipeline.functions[name])].Properties.Role).replace(/^<(.*)\.Arn>$/, '$1');
    return [name, allowedPairs(identityStatements(template, role), bucket)];
  })) as Record<PipelineFunctionName, Set<string>>;
}

let grants: Record<PipelineFunctionName, Set<string>>;
beforeAll(() => {
  grants = synthesizedGrants(studio());
});

/** A simulator whose every function runs with only its synthesized grants. */
function grantedSimulator(): { sim: PipelineSimulator; denied: () => string[] } {
  const sim = new PipelineSimulator({ seed: 1 }, studio());
  const stores = new Map<PipelineFunctionName, GrantedStore>();
  const contexts = new Map<PipelineFunctionName, PipelineContext>();
  const deniedInvalidations: string[] = [];
  for (const name of NAMES) {
    const store = new GrantedStore(sim.store, grants[name], name);
    stores.set(name, store);
    const mayInvalidate = [...grants[name]].some((g) => g.startsWith('cloudfront:CreateInvalidation '));
    contexts.set(name, {
      ...sim.context,
      store,
      cdn: {
        invalidate: async (paths, ref) => {
          if (!mayInvalidate) {
            deniedInvalidations.push(`${name} cloudfront:CreateInvalidation`);
            throw new Error(`AccessDenied: ${name} may not invalidate`);
          }
          return sim.cdn.invalidate(paths, ref);
        },
      },
      // As on AWS: the attempt object is written with this function's grants, and its S3 event goes to the release function.
      requestRelease: async (request) => {
        await requestReleaseAttempt(store, request);
        sim.notify(keys.releaseAttempt(request.game, request.upload));
      },
    });
  }
  sim.functionContext = (fn) => contexts.get(fn)!;
  return { sim, denied: () => [...[...stores.values()].flatMap((s) => s.denied.map((d) => `${[...stores.entries()].find(([, v]) => v === s)![0]}: ${d}`)), ...deniedInvalidations] };
}

async function statusOf(sim: PipelineSimulator, upload: string) {
  return (await sim.json<UploadStatus>(keys.status('g', upload)))?.state;
}

describe('the handlers under their synthesized grants', () => {
  it('release a loose upload whose request arrives before its resources', async () => {
    const { sim, denied } = grantedSimulator();
    const content = createContent({ seed: 61, resourceCount: 12, bundledFraction: 0 });
    // Everything is staged, but the request's event is delivered before any resource's (the usual
    // order for a big upload): the release function verifies what is staged itself.
    const staged = [[MANIFEST_NAME, content.manifestBytes] as const, ...content.resources.map((r) => [r.name, r.bytes] as const)];
    for (const [name, bytes] of staged) await sim.store.put(keys.staged('g', 'u1', name), bytes);
    await sim.stage(keys.releaseRequest('g', 'u1'), JSON.stringify({
      schemaVersion: RELEASE_REQUEST_SCHEMA_VERSION, game: 'g', upload: 'u1', channel: 'stable', kind: 'loose', archives: [],
      manifestSha256: hashHex('sha256', content.manifestBytes), requestedAt: new Date().toISOString(),
    }));
    for (const [name] of staged) sim.notify(keys.staged('g', 'u1', name));
    await sim.drain();
    expect(denied()).toEqual([]);
    expect(sim.deadLetters).toEqual([]);
    expect((await sim.json<UploadStatus>(keys.status('g', 'u1')))).toMatchObject({ state: 'live', errors: [] });
    expect(await sim.violations()).toEqual([]);
  });

  it('release a zip, auto-release an editor build, finish a stalled upload from the sweeper, promote, roll back and collect garbage', async () => {
    const { sim, denied } = grantedSimulator();
    const z1 = createContent({ seed: 62, resourceCount: 4 });
    await sim.stageUpload({ game: 'g', upload: 'z1', channel: 'stable', content: z1, zip: await zipContent(z1) });
    await sim.drain();
    expect(await statusOf(sim, 'z1')).toBe('live');

    const editor = createContent({ seed: 63, resourceCount: 5, bundledFraction: 0 });
    for (const r of editor.resources) await sim.stage(keys.staged('g', EDITOR_UPLOAD, r.name), r.bytes);
    await sim.stage(keys.staged('g', EDITOR_UPLOAD, MANIFEST_NAME), editor.manifestBytes);
    await sim.drain();
    expect((await sim.json<ChannelPointer>(keys.pointer('g', 'beta')))?.manifest.sha256).toBe(hashHex('sha256', editor.manifestBytes));

    // Every resource event of this upload is lost: the sweeper completes it after the timeout.
    const stalled = createContent({ seed: 64, resourceCount: 4, bundledFraction: 0 });
    await sim.stageUpload({ game: 'g', upload: 'l1', channel: 'stable', content: stalled, loseEvent: (name) => name !== MANIFEST_NAME });
    await sim.drain();
    sim.advance(61 * 60_000);
    await sim.sweep();
    expect(await statusOf(sim, 'l1')).toBe('live');

    await sim.control({ action: 'promote', game: 'g', from: 'stable', to: 'beta', requestId: 'p1' });
    await sim.control({ action: 'rollback', game: 'g', channel: 'stable', requestId: 'r1' });
    expect(await sim.json<ChannelPointer>(keys.pointer('g', 'stable'))).toMatchObject({ releaseId: 'z1' });
    sim.advance(3 * 24 * 3_600_000);
    const first = await sim.control({ action: 'gc', game: 'g', apply: true });
    sim.advance(2 * 3_600_000);
    const second = await sim.control({ action: 'gc', game: 'g', apply: true });
    expect(first.action === 'gc' && first.report.marked.length).toBeGreaterThan(0);
    expect(second.action === 'gc' && second.report.deleted.length).toBeGreaterThan(0);

    expect(denied()).toEqual([]);
    expect(sim.deadLetters).toEqual([]);
    expect(await sim.violations()).toEqual([]);
  });

  it('refuse and quarantine bad content, fail a stalled upload, and take an editor build sent again after a failure', async () => {
    const { sim, denied } = grantedSimulator();
    // A corrupted zip (quarantined by the archive step) and a loose upload missing a resource (refused at release).
    const bad = createContent({ seed: 65, resourceCount: 3 });
    const zip = Buffer.from(await zipContent(bad));
    zip[zip.length >> 1] ^= 0xff;
    await sim.stageUpload({ game: 'g', upload: 'bad-zip', channel: 'stable', content: bad, zip });
    const loose = createContent({ seed: 66, resourceCount: 3, bundledFraction: 0 });
    await sim.stageUpload({ game: 'g', upload: 'missing', channel: 'stable', content: loose, omit: (name) => name === loose.resources[0].name });
    await sim.drain();
    expect(await statusOf(sim, 'bad-zip')).toBe('refused');
    expect(await statusOf(sim, 'missing')).toBe('refused');
    // A zip whose archive's event is lost: the sweeper fails it after the timeout.
    const late = createContent({ seed: 67, resourceCount: 3 });
    await sim.stageUpload({ game: 'g', upload: 'stalled', channel: 'stable', content: late, zip: await zipContent(late), loseEvent: (name) => name.endsWith('.zip') });
    await sim.drain();
    sim.advance(61 * 60_000);
    await sim.sweep();
    expect(await statusOf(sim, 'stalled')).toBe('failed');
    // An editor build whose resources never came (failed by the sweeper), then sent again whole.
    const editor = createContent({ seed: 68, resourceCount: 3, bundledFraction: 0 });
    await sim.stage(keys.staged('g', EDITOR_UPLOAD, MANIFEST_NAME), editor.manifestBytes);
    await sim.drain();
    sim.advance(61 * 60_000);
    await sim.sweep();
    for (const r of editor.resources) await sim.stage(keys.staged('g', EDITOR_UPLOAD, r.name), r.bytes);
    await sim.stage(keys.staged('g', EDITOR_UPLOAD, MANIFEST_NAME), editor.manifestBytes);
    await sim.drain();
    expect((await sim.json<ChannelPointer>(keys.pointer('g', 'beta')))?.manifest.sha256).toBe(hashHex('sha256', editor.manifestBytes));
    expect(denied()).toEqual([]);
    expect(sim.deadLetters).toEqual([]);
    expect(await sim.violations()).toEqual([]);
  });

  it('refuse a staging step that tries to move a channel (the wrapper bites)', async () => {
    const { sim } = grantedSimulator();
    const resourceStore = sim.functionContext!('resource').store;
    await expect(resourceStore.put(keys.pointer('g', 'stable'), '{}')).rejects.toThrow(/AccessDenied: resource may not s3:PutObject channels\/g\/stable.json/);
    await expect(sim.functionContext!('archive').cdn.invalidate(['/channels/g/stable.json'], 'x')).rejects.toThrow(/AccessDenied/);
    // Nor forge a flip record, rewrite gc's marks or the development pin (adversarial review).
    await expect(sim.functionContext!('archive').store.put(keys.flipRecord('g', 'stable', 'release:g:v2'), '{}')).rejects.toThrow(/AccessDenied/);
    await expect(sim.functionContext!('manifest').store.put(keys.gcMarks('g'), '{}')).rejects.toThrow(/AccessDenied/);
    await expect(sim.functionContext!('resource').store.put(keys.gamePin('g'), '{}')).rejects.toThrow(/AccessDenied/);
  });
});
