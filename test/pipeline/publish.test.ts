/**
 * The product's main job, end to end on the real local stack: `lup publish` → staging → the
 * handlers → content/ → the pointer flip → served by the local CDN with the production headers.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { keys } from '../../lib/core/keys';
import { CHANNEL_CACHE, CONTENT_CACHE } from '../../lib/http-policy';
import { hashHex } from '../../lib/core/format/digest';
import { keysUnder, lup, pointerOf, startTestStack, statusOf, writeContent, type TestStack } from '../helpers/pipeline-stack';

describe('lup publish on the local stack', () => {
  let stack: TestStack;
  beforeEach(async () => { stack = await startTestStack(); });
  afterEach(async () => { await stack.close(); });

  it('publishes a zip archive: verified, immutable under content/, live behind the pointer', async () => {
    const { zip, content } = await writeContent(stack, 'v1', { seed: 1, resourceCount: 30, projectTitle: 'Space Game' });
    const result = await lup(stack, ['publish', zip, '--game', 'space', '--channel', 'stable', '--json']);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.out);
    expect(report).toMatchObject({ state: 'live', game: 'space', channel: 'stable', sequence: 1, uploaded: { objects: 1 } });

    const pointer = await pointerOf(stack, 'space', 'stable');
    expect(pointer).toMatchObject({ sequence: 1, releaseId: report.releaseId, cause: 'release' });
    expect(pointer!.archives).toHaveLength(1);
    expect(pointer!.manifest.sha256).toBe(hashHex('sha256', content.manifestBytes));
    // Staging is emptied once the release step's follow-ups finish (after the status said live);
    // nothing was quarantined.
    await stack.router.idle();
    expect(await keysUnder(stack.store, keys.uploadPrefix('space', report.upload))).toEqual([]);
    expect(await keysUnder(stack.store, 'quarantine/')).toEqual([]);

    // Served through the local CDN with the one cache policy.
    const archive = await fetch(`${stack.cdnBaseUrl}${pointer!.archives[0].path}`);
    expect(archive.status).toBe(200);
    expect(archive.headers.get('cache-control')).toBe(CONTENT_CACHE.cacheControl);
    expect(hashHex('sha256', new Uint8Array(await archive.arrayBuffer()))).toBe(pointer!.archives[0].sha256);
    const served = await fetch(`${stack.cdnBaseUrl}${keys.pointer('space', 'stable')}`);
    expect(served.headers.get('cache-control')).toBe(CHANNEL_CACHE.cacheControl);
    expect(((await served.json()) as { releaseId: string }).releaseId).toBe(report.releaseId);
  });

  it('publishes a loose folder: every resource under content/<game>/resources/<digest>', async () => {
    const { folder, content } = await writeContent(stack, 'loose', { seed: 2, resourceCount: 25, schema: 'legacy' });
    const result = await lup(stack, ['publish', folder, '--game', 'old', '--channel', 'stable', '--json']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.out)).toMatchObject({ state: 'live', uploaded: { objects: content.resources.length + 1 } });
    const published = await keysUnder(stack.store, keys.resourcesPrefix('old'));
    expect(published.sort()).toEqual(content.resources.map((r) => keys.resource('old', r.name)).sort());
    const pointer = await pointerOf(stack, 'old', 'stable');
    expect(pointer!.manifest.schema).toBe('legacy');
    // Engines <= 1.4 read the manifest at a stable path beside the pointer.
    const stable = await fetch(`${stack.cdnBaseUrl}${keys.stableManifest('old', 'stable')}`);
    expect(Buffer.from(await stable.arrayBuffer()).equals(Buffer.from(content.manifestBytes))).toBe(true);
  });

  it('skips content already published: a re-publish sends only what changed', async () => {
    const first = await writeContent(stack, 'a', { seed: 3, resourceCount: 40 });
    expect((await lup(stack, ['publish', first.folder, '--game', 'g', '--channel', 'stable'])).code).toBe(0);
    const second = await writeContent(stack, 'b', { seed: 3, resourceCount: 40, projectTitle: 'Factory Game' });
    const again = await lup(stack, ['publish', second.folder, '--game', 'g', '--channel', 'stable', '--json']);
    const report = JSON.parse(again.out);
    expect(report.state).toBe('live');
    expect(report.uploaded.objects).toBe(0);
    expect(report.skipped.objects).toBe(first.content.resources.length + 1);
    expect((await pointerOf(stack, 'g', 'stable'))!.sequence).toBe(2);
  });

  it('prints where to fetch the release', async () => {
    const { zip } = await writeContent(stack, 'v1', { seed: 4, resourceCount: 10 });
    const result = await lup(stack, ['publish', zip, '--game', 'space', '--channel', 'beta']);
    expect(result.code).toBe(0);
    expect(result.out).toContain(`pointer: ${stack.cdnBaseUrl}channels/space/beta.json`);
    const status = await statusOf(stack, 'space', result.out.match(/release (\S+) on/)![1]);
    expect(status?.state).toBe('live');
  });

  it('skips an archive already published: found by its digest while it uploads, stopped before its last bytes, nothing staged', async () => {
    const { zip } = await writeContent(stack, 'zip-again', { seed: 8, resourceCount: 12 });
    expect((await lup(stack, ['publish', zip, '--game', 'again', '--channel', 'stable'])).code).toBe(0);
    // Every key the pipeline is told about (each stored object's event), recorded on the way in.
    const events: string[] = [];
    const router = stack.router as unknown as { notify: (key: string) => void };
    const notify = router.notify.bind(stack.router);
    router.notify = (key: string) => { events.push(key); notify(key); };
    try {
      for (const check of [[], ['--no-check']]) {
        const again = await lup(stack, ['publish', zip, '--game', 'again', '--channel', 'beta', '--json', ...check]);
        const report = JSON.parse(again.out);
        expect(report).toMatchObject({ state: 'live', uploaded: { objects: 0, bytes: 0 }, skipped: { objects: 1 } });
      }
    } finally {
      router.notify = notify;
    }
    expect(events.filter((k) => k.endsWith('release-request.json'))).toHaveLength(2);
    // Only the two release requests (and the pipeline's own attempts) reached staging: no archive.
    expect(events.filter((k) => k.endsWith('.zip'))).toEqual([]);
    expect((await pointerOf(stack, 'again', 'beta'))!.sequence).toBe(2);
  });

  it('applies the studio configuration of --config in the local check, before anything is stored', async () => {
    const configFile = join(stack.dir, 'studio.json');
    await writeFile(configFile, JSON.stringify({ games: [{ id: 'space', projectTitle: 'Space Game' }] }));
    const { zip } = await writeContent(stack, 'other', { seed: 5, resourceCount: 5, projectTitle: 'Other Game' });
    const refused = await lup(stack, ['publish', zip, '--game', 'space', '--channel', 'stable', '--config', configFile]);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('found by the local check while uploading (the upload was stopped before its last bytes: nothing was stored)');
    expect(refused.err).toContain('MANIFEST_PROJECT_MISMATCH');
    expect(await keysUnder(stack.store, 'staging/')).toEqual([]);

    const unknown = await lup(stack, ['publish', zip, '--game', 'moon', '--channel', 'stable', '--config', configFile]);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('--game "moon" is not in');
  });
});

