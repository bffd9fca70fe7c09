/**
 * The Defold editor's Amazon publisher writes hex-named resources (header + payload) and the
 * manifest under its configured prefix, in no particular order, and never writes a release
 * request. Once everything its manifest needs is verified, the pipeline releases it to the game's
 * auto-release channel.
 */
import { createHash } from 'node:crypto';
import { EDITOR_UPLOAD, MANIFEST_NAME, keys } from '../../lib/core/keys';
import { Prng, createContent } from '../../lib/factory/content-factory';
import { pointerOf, startTestStack, studioConfig, type TestStack } from '../helpers/pipeline-stack';

const config = studioConfig({ games: [{ id: 'space', projectTitle: 'Factory Game', channels: ['stable', 'dev'], autoReleaseChannel: 'dev' }] });

function shuffled<T>(items: readonly T[], seed: number): T[] {
  const random = new Prng(seed);
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = random.int(0, i);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

describe('Defold editor uploads', () => {
  let stack: TestStack;
  beforeEach(async () => { stack = await startTestStack({ config }); });
  afterEach(async () => { await stack.close(); });

  it.each([1, 2, 3])('are released to the auto-release channel whatever the arrival order (order seed %i)', async (seed) => {
    const content = createContent({ seed: 40 + seed, resourceCount: 30 });
    const objects = [
      { key: keys.staged('space', EDITOR_UPLOAD, MANIFEST_NAME), body: content.manifestBytes },
      ...content.resources.map((r) => ({ key: keys.staged('space', EDITOR_UPLOAD, r.name), body: r.bytes })),
    ];
    for (const object of shuffled(objects, seed)) await stack.store.put(object.key, object.body);
    await stack.router.idle();

    const manifestSha = createHash('sha256').update(content.manifestBytes).digest('hex');
    const pointer = await pointerOf(stack, 'space', 'dev');
    expect(pointer).toMatchObject({ releaseId: `editor-${manifestSha.slice(0, 16)}`, sequence: 1 });
    expect(await pointerOf(stack, 'space', 'stable')).toBeUndefined();
    for (const r of content.resources) expect(await stack.store.head(keys.resource('space', r.name))).toBeDefined();
    expect(stack.router.deadLetters).toEqual([]);
  });

  it('waits while a resource of the manifest is missing, then releases when it arrives', async () => {
    const content = createContent({ seed: 50, resourceCount: 12 });
    const [late, ...early] = content.resources;
    await stack.store.put(keys.staged('space', EDITOR_UPLOAD, MANIFEST_NAME), content.manifestBytes);
    for (const r of early) await stack.store.put(keys.staged('space', EDITOR_UPLOAD, r.name), r.bytes);
    await stack.router.idle();
    expect(await pointerOf(stack, 'space', 'dev')).toBeUndefined();

    await stack.store.put(keys.staged('space', EDITOR_UPLOAD, late.name), late.bytes);
    await stack.router.idle();
    expect((await pointerOf(stack, 'space', 'dev'))?.sequence).toBe(1);
  });

  it('releases the same build once: a re-upload changes nothing', async () => {
    const content = createContent({ seed: 60, resourceCount: 8 });
    for (let round = 0; round < 2; round++) {
      await stack.store.put(keys.staged('space', EDITOR_UPLOAD, MANIFEST_NAME), content.manifestBytes);
      for (const r of content.resources) await stack.store.put(keys.staged('space', EDITOR_UPLOAD, r.name), r.bytes);
      await stack.router.idle();
    }
    const pointer = await pointerOf(stack, 'space', 'dev');
    expect(pointer?.sequence).toBe(1);
    expect(pointer?.history).toHaveLength(1);
  });
});
