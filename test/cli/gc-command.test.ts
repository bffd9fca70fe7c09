/**
 * `lup gc` against the real local stack. Retention needs objects older than a day (development
 * mode: 7 days); s3rver reports a file's mtime as LastModified, so the test ages the stored files
 * on disk — the objects then look old to the listing exactly as they would on S3.
 */
import { keys } from '../../lib/core/keys';
import type { ChannelPointer } from '../../lib/core/documents/pointer';
import { FIXTURE_ZIPS, normalise, startPublishedStack, type PublishedStack } from '../helpers/published-stack';

let published: PublishedStack;
beforeAll(async () => {
  published = await startPublishedStack();
});
afterAll(async () => {
  await published?.close();
});

async function contentKeys(game: string): Promise<string[]> {
  return (await published.stack.store.list(keys.contentPrefix(game))).map((o) => o.key).sort();
}

describe('lup gc', () => {
  let live: ChannelPointer;
  let orphans: string[];

  test('a dry run lists nothing while everything is referenced or young', async () => {
    // GIVEN a live release, and content verified for an upload whose release request never came
    live = await published.publishArchive({ game: 'space', upload: 'build-1', channel: 'stable', zip: FIXTURE_ZIPS.v1112 });
    await published.stageOnly({ game: 'space', upload: 'build-2', zip: FIXTURE_ZIPS.v162 });
    const referenced = [live.manifest.path, live.archives[0].path];
    orphans = (await contentKeys('space')).filter((k) => !referenced.includes(k));
    expect(orphans).toHaveLength(2); // its archive and its manifest

    const run = await published.lup(['gc', '--game', 'space']);
    expect(run.code).toBe(0);
    expect(run.out).toMatchInlineSnapshot(`
"Garbage collection of game space (dry run): nothing to delete; every object under content/space/ is referenced by a retained release or younger than the retention age.
  scanned 4 object(s) under content/space/; 2 key(s) referenced by the retained releases: build-1
"
`);
  });

  test('a dry run lists what no retained release references once it is older than the retention age, and deletes nothing', async () => {
    // Everything is old now, the live release's content included: only references keep it.
    await published.age(await contentKeys('space'), 30);
    const before = await contentKeys('space');
    const run = await published.lup(['gc', '--game', 'space']);
    expect(run.code).toBe(0);
    const sizes = await Promise.all(orphans.map(async (k) => (await published.stack.store.head(k))!.sizeBytes));
    // Keys and sizes are those of the fixture zip (content-addressed, so fixed).
    expect(normalise(run.out, published)).toMatchInlineSnapshot(`
"Garbage collection of game space (dry run): would delete 2 object(s), 2430129 bytes (2.3 MiB)
  KEY                                                                                                 SIZE
  content/space/archives/86562e7c00165729653ca6ff64ed11c91d28b1bb18f5e03f5bd1921a9b5ef4be.zip         2426023 bytes (2.3 MiB)
  content/space/manifests/cc513a3b5182cb5d12b524333d25db99f59a3f9831b300e2dd8b4d8a3a0f09eb.dmanifest  4106 bytes (4.0 KiB)
  scanned 4 object(s) under content/space/; 2 key(s) referenced by the retained releases: build-1
Run again with --apply to delete them.
"
`);
    expect(await contentKeys('space')).toEqual(before);

    const json = await published.lup(['gc', '--game', 'space', '--json']);
    expect(JSON.parse(json.out)).toEqual({
      ok: true, game: 'space', applied: false, scanned: 4, referenced: 2,
      unreferenced: orphans.map((key, i) => ({ key, sizeBytes: sizes[i] })),
      reclaimableBytes: sizes[0] + sizes[1], retainedReleases: ['build-1'],
    });
  });

  test('--apply deletes the unreferenced objects and keeps the live release whole', async () => {
    const run = await published.lup(['gc', '--game', 'space', '--apply', '--json']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.out)).toMatchObject({ applied: true, unreferenced: orphans.map((key) => ({ key })) });
    expect(await contentKeys('space')).toEqual([live.archives[0].path, live.manifest.path].sort());
    const verify = await published.lup(['verify', '--game', 'space', '--channel', 'stable']);
    expect(verify.code).toBe(0);
    const again = await published.lup(['gc', '--game', 'space']);
    expect(again.out).toContain('nothing to delete');
  });

  test('refuses with GC_INCOMPLETE_VIEW and exits 1 when a referenced manifest cannot be read', async () => {
    const pointer = await published.publishArchive({ game: 'broken', upload: 'build-1', channel: 'stable', zip: FIXTURE_ZIPS.v162 });
    await published.stack.store.delete(pointer.manifest.path);
    const run = await published.lup(['gc', '--game', 'broken', '--apply']);
    expect(run.code).toBe(1);
    expect(run.out).toBe('');
    expect(run.err.split(pointer.manifest.path).join('<manifest>')).toMatchInlineSnapshot(`
"GC_INCOMPLETE_VIEW: Garbage collection refused to delete anything: manifest <manifest> of release build-1 is missing. Fix or restore it, then run gc again.
  expected: every reference readable
  actual:   manifest <manifest> of release build-1 is missing
"
`);
    expect(await contentKeys('broken')).toEqual([pointer.archives[0].path]);
  });

  test('exits 2 naming the flag when --game is missing', async () => {
    const run = await published.lup(['gc', '--apply']);
    expect(run.code).toBe(2);
    expect(run.err).toContain("error: required option '--game <id>' not specified");
    const help = await published.lup(['gc', '--help']);
    expect(help.out).toContain('Examples:\n  $ lup gc --game space-game');
  });
});
