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

async function verifiedKeys(game: string): Promise<string[]> {
  return (await published.stack.store.list(keys.verifiedPrefix(game))).map((o) => o.key).sort();
}

/** Time passing for gc's marks: move every mark of a game `minutes` into the past. */
async function backdateMarks(game: string, minutes: number): Promise<void> {
  const stored = await published.stack.store.get(keys.gcMarks(game));
  const doc = JSON.parse(Buffer.from(stored!.body).toString()) as { marks: Record<string, { markedAt: string }> };
  for (const mark of Object.values(doc.marks)) mark.markedAt = new Date(Date.parse(mark.markedAt) - minutes * 60_000).toISOString();
  await published.stack.store.put(keys.gcMarks(game), JSON.stringify(doc));
}

describe('lup gc', () => {
  let live: ChannelPointer;
  let orphans: string[];

  test('a dry run lists nothing while everything is referenced or young', async () => {
    // GIVEN a live release, and content verified for an upload whose release request never came
    live = await published.publishArchive({ game: 'space', upload: 'build-1', channel: 'stable', zip: FIXTURE_ZIPS.v1112 });
    await published.stageOnly({ game: 'space', upload: 'build-2', zip: FIXTURE_ZIPS.v162 });
    const referenced = [live.manifest.path, live.archives[0].path];
    expect(await contentKeys('space')).toEqual([...referenced].sort());
    // Verified content stays private until a release serves it: build-2's archive and manifest,
    // and the private copies build-1's release published from.
    orphans = await verifiedKeys('space');
    expect(orphans).toHaveLength(4);

    const run = await published.lup(['gc', '--game', 'space']);
    expect(run.code).toBe(0);
    expect(run.out).toMatchInlineSnapshot(`
"Garbage collection of game space (dry run): nothing to collect; every object under content/space/ and state/space/_verified/ is referenced by a retained release or younger than the retention age.
  scanned 6 object(s) under content/space/ and state/space/_verified/; 2 key(s) referenced by the retained releases: build-1
"
`);
  });

  test('a dry run lists what no retained release references once it is older than the retention age, and deletes nothing', async () => {
    // Everything is old now, the live release's content included: only references keep it.
    await published.age([...(await contentKeys('space')), ...orphans], 30);
    const run = await published.lup(['gc', '--game', 'space']);
    expect(run.code).toBe(0);
    const sizes = await Promise.all(orphans.map(async (k) => (await published.stack.store.head(k))!.sizeBytes));
    // Keys and sizes are those of the fixture zips (content-addressed, so fixed).
    expect(normalise(run.out, published)).toMatchInlineSnapshot(`
"Garbage collection of game space (dry run): 4 unreferenced object(s), 4438842 bytes (4.2 MiB)
    KEY                                                                                                         SIZE
    state/space/_verified/archives/3534ed11c0812239af02b44f3257ef70ae581944e1a50b882460b109d622ceaf.zip         2004737 bytes (1.9 MiB)
    state/space/_verified/archives/86562e7c00165729653ca6ff64ed11c91d28b1bb18f5e03f5bd1921a9b5ef4be.zip         2426023 bytes (2.3 MiB)
    state/space/_verified/manifests/c27f20bcd7bf31583779dd180cc262bfa58aec61edc6a417f4ddb16a3804cb9c.dmanifest  3976 bytes (3.9 KiB)
    state/space/_verified/manifests/cc513a3b5182cb5d12b524333d25db99f59a3f9831b300e2dd8b4d8a3a0f09eb.dmanifest  4106 bytes (4.0 KiB)
  scanned 6 object(s) under content/space/ and state/space/_verified/; 2 key(s) referenced by the retained releases: build-1
Run again with --apply to mark them; a run with --apply after 60 min deletes what is still unreferenced.
"
`);
    expect(await verifiedKeys('space')).toEqual(orphans);
    expect(await published.stack.store.head(keys.gcMarks('space'))).toBeUndefined();

    const json = await published.lup(['gc', '--game', 'space', '--json']);
    expect(JSON.parse(json.out)).toEqual({
      ok: true, game: 'space', applied: false, scanned: 6, referenced: 2,
      unreferenced: orphans.map((key, i) => ({ key, sizeBytes: sizes[i] })),
      reclaimableBytes: sizes.reduce((a, b) => a + b, 0), retainedReleases: ['build-1'],
      deleted: [], marked: [], graceMinutes: 60, minAgeDays: 7,
    });
  });

  test('--apply marks first, deletes only after the grace period, and keeps the live release whole', async () => {
    const first = await published.lup(['gc', '--game', 'space', '--apply', '--json']);
    expect(first.code).toBe(0);
    expect(JSON.parse(first.out)).toMatchObject({ applied: true, marked: orphans, deleted: [] });
    expect(await verifiedKeys('space')).toEqual(orphans);

    // Within the grace period, another run deletes nothing.
    await backdateMarks('space', 59);
    const early = await published.lup(['gc', '--game', 'space', '--apply', '--json']);
    expect(JSON.parse(early.out)).toMatchObject({ marked: orphans, deleted: [] });

    await backdateMarks('space', 2);
    const run = await published.lup(['gc', '--game', 'space', '--apply']);
    expect(run.code).toBe(0);
    expect(normalise(run.out, published)).toMatchInlineSnapshot(`
"Garbage collection of game space: deleted 4 object(s), marked 0
  deleted (marked at least 60 min ago and still unreferenced):
    KEY                                                                                                         SIZE
    state/space/_verified/archives/3534ed11c0812239af02b44f3257ef70ae581944e1a50b882460b109d622ceaf.zip         2004737 bytes (1.9 MiB)
    state/space/_verified/archives/86562e7c00165729653ca6ff64ed11c91d28b1bb18f5e03f5bd1921a9b5ef4be.zip         2426023 bytes (2.3 MiB)
    state/space/_verified/manifests/c27f20bcd7bf31583779dd180cc262bfa58aec61edc6a417f4ddb16a3804cb9c.dmanifest  3976 bytes (3.9 KiB)
    state/space/_verified/manifests/cc513a3b5182cb5d12b524333d25db99f59a3f9831b300e2dd8b4d8a3a0f09eb.dmanifest  4106 bytes (4.0 KiB)
  scanned 6 object(s) under content/space/ and state/space/_verified/; 2 key(s) referenced by the retained releases: build-1
"
`);
    expect(await verifiedKeys('space')).toEqual([]);
    expect(await contentKeys('space')).toEqual([live.archives[0].path, live.manifest.path].sort());
    const verify = await published.lup(['verify', '--game', 'space', '--channel', 'stable']);
    expect(verify.code).toBe(0);
    const again = await published.lup(['gc', '--game', 'space']);
    expect(again.out).toContain('nothing to collect');
  });

  test('refuses with GC_INCOMPLETE_VIEW and exits 1 when a live release record cannot be read', async () => {
    const pointer = await published.publishArchive({ game: 'broken', upload: 'build-1', channel: 'stable', zip: FIXTURE_ZIPS.v162 });
    await published.stack.store.put(keys.release('broken', 'build-1'), '{"schemaVersion": 1, "game": "broken"');
    const run = await published.lup(['gc', '--game', 'broken', '--apply']);
    expect(run.code).toBe(1);
    expect(run.out).toBe('');
    expect(run.err).toMatchInlineSnapshot(`
"GC_INCOMPLETE_VIEW: Garbage collection refused to delete anything: release build-1 is referenced but cannot be read (DOCUMENT_INVALID: The release record is not JSON.). Fix or restore it, then run gc again.
  expected: every reference readable
  actual:   release build-1 is referenced but cannot be read (DOCUMENT_INVALID: The release record is not JSON.)
"
`);
    expect(await contentKeys('broken')).toEqual([pointer.archives[0].path, pointer.manifest.path].sort());
  });

  test('exits 2 naming the flag when --game is missing', async () => {
    const run = await published.lup(['gc', '--apply']);
    expect(run.code).toBe(2);
    expect(run.err).toContain("error: required option '--game <id>' not specified");
    const help = await published.lup(['gc', '--help']);
    expect(help.out).toContain('Examples:\n  $ lup gc --game space-game');
  });
});
