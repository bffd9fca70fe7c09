/**
 * Files beside the entries that no step reads (a `version_levels.json` a studio keeps with its
 * build, a stray note) do not stay in staging once the upload is released: the release removes
 * them. Nothing of them is served; what is refused or still waiting is left alone.
 */
import { createHash } from 'node:crypto';
import { EDITOR_UPLOAD, MANIFEST_NAME, keys } from '../../lib/core/keys';
import { createContent } from '../../lib/factory/content-factory';
import { keysUnder, pointerOf, startTestStack, statusOf, type TestStack } from '../helpers/pipeline-stack';

const VERSION_LEVELS = Buffer.from('{"levels": ["forest", "cave"]}\n');

describe('unrouted files of a released upload', () => {
  let stack: TestStack;
  beforeEach(async () => { stack = await startTestStack(); });
  afterEach(async () => { await stack.close(); });

  it('are removed from the editor folder when its build goes live, and never served', async () => {
    const content = createContent({ seed: 81, resourceCount: 7 });
    await stack.store.put(keys.staged('space', EDITOR_UPLOAD, 'version_levels.json'), VERSION_LEVELS);
    await stack.store.put(keys.staged('space', EDITOR_UPLOAD, 'notes/readme.txt'), 'hello');
    for (const r of content.resources) await stack.store.put(keys.staged('space', EDITOR_UPLOAD, r.name), r.bytes);
    await stack.store.put(keys.staged('space', EDITOR_UPLOAD, 'null'), content.manifestBytes);
    await stack.router.idle();

    expect((await pointerOf(stack, 'space', 'stable'))?.sequence).toBe(1);
    expect(await keysUnder(stack.store, keys.stagingPrefix('space'))).toEqual([]);
    expect((await keysUnder(stack.store, keys.contentPrefix('space'))).filter((k) => k.includes('version_levels') || k.includes('readme'))).toEqual([]);
  });

  it('are removed from a lup publish upload when its release request goes live', async () => {
    const content = createContent({ seed: 82, resourceCount: 5 });
    const upload = 'u-leftovers';
    await stack.store.put(keys.staged('space', upload, 'version_levels.json'), VERSION_LEVELS);
    await stack.store.put(keys.staged('space', upload, MANIFEST_NAME), content.manifestBytes);
    for (const r of content.resources) await stack.store.put(keys.staged('space', upload, r.name), r.bytes);
    await stack.router.idle();
    await stack.store.put(keys.releaseRequest('space', upload), JSON.stringify({
      schemaVersion: 1, game: 'space', upload, channel: 'beta', kind: 'loose', archives: [],
      manifestSha256: createHash('sha256').update(content.manifestBytes).digest('hex'), requestedAt: '2026-01-01T00:00:00Z',
    }));
    await stack.router.idle();

    expect(await statusOf(stack, 'space', upload)).toMatchObject({ state: 'live', errors: [] });
    expect((await pointerOf(stack, 'space', 'beta'))?.releaseId).toBe(upload);
    expect(await keysUnder(stack.store, keys.uploadPrefix('space', upload))).toEqual([]);
  });

  it('stay while the upload waits for its release', async () => {
    const content = createContent({ seed: 83, resourceCount: 5 });
    const upload = 'u-waiting';
    await stack.store.put(keys.staged('space', upload, 'version_levels.json'), VERSION_LEVELS);
    await stack.store.put(keys.staged('space', upload, MANIFEST_NAME), content.manifestBytes);
    await stack.router.idle();
    expect(await keysUnder(stack.store, keys.uploadPrefix('space', upload))).toEqual([keys.staged('space', upload, 'version_levels.json')]);
  });
});
