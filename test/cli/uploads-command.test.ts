/**
 * `lup uploads` against the real local stack (issue 11, item 2): every upload of a game with its
 * state, newest first, from the status documents the pipeline wrote and the staging folders.
 */
import { keys } from '../../lib/core/keys';
import type { UploadSummary } from '../../lib/cli/uploads-command';
import { FIXTURE_ZIPS, normalise, startPublishedStack, type PublishedStack } from '../helpers/published-stack';

let published: PublishedStack;
beforeAll(async () => {
  published = await startPublishedStack();
  await published.publishArchive({ game: 'space', upload: 'build-1', channel: 'stable', zip: FIXTURE_ZIPS.v162 });
  await published.publishArchive({ game: 'space', upload: 'build-2', channel: 'beta', zip: FIXTURE_ZIPS.v1112 });
  // A release request naming an archive that never arrives: refused at once.
  await published.stack.store.put(keys.releaseRequest('space', 'build-3'), JSON.stringify({
    schemaVersion: 1, game: 'space', upload: 'build-3', channel: 'stable', kind: 'archives',
    archives: [{ name: 'levels.zip', sha256: 'ab'.repeat(32), sizeBytes: 10, priority: 0 }], requestedAt: new Date().toISOString(),
  }));
  await published.stack.router.idle();
});
afterAll(async () => {
  await published?.close();
});

describe('lup uploads', () => {
  test('lists every upload newest first with state, channel, release and error code', async () => {
    const run = await published.lup(['uploads', '--game', 'space']);
    expect(run.code).toBe(0);
    expect(run.err).toBe('');
    expect(normalise(run.out, published)).toMatchInlineSnapshot(`
"Uploads of game space, newest first (at most 20):
  UPLOAD   STATE    CHANNEL  RELEASE          CODE                UPDATED
  build-3  refused  -        -                RELEASE_INCOMPLETE  YYYY-MM-DDThh:mm:ss.sssZ
  build-2  live     beta     build-2 (seq 1)  -                   YYYY-MM-DDThh:mm:ss.sssZ
  build-1  live     stable   build-1 (seq 1)  -                   YYYY-MM-DDThh:mm:ss.sssZ
Details and every error: lup status --game space --upload <upload>
"
`);
  });

  test('--json lists them; --limit keeps the newest; --channel the uploads released to that channel', async () => {
    const run = await published.lup(['uploads', '--game', 'space', '--limit', '1', '--json']);
    expect(run.code).toBe(0);
    const json = JSON.parse(run.out) as { ok: boolean; game: string; uploads: UploadSummary[] };
    expect(json).toMatchObject({ ok: true, game: 'space' });
    // The request named an archive that never arrived: refused before it was released to a channel.
    expect(json.uploads).toEqual([
      { upload: 'build-3', state: 'refused', releaseRequested: true, code: 'RELEASE_INCOMPLETE', errorCount: 1, createdAt: expect.any(String), updatedAt: expect.any(String) },
    ]);
    const stable = JSON.parse((await published.lup(['uploads', '--game', 'space', '--channel', 'stable', '--json'])).out) as { channel: string; uploads: UploadSummary[] };
    expect(stable.channel).toBe('stable');
    expect(stable.uploads).toEqual([
      { upload: 'build-1', state: 'live', releaseRequested: true, channel: 'stable', releaseId: 'build-1', sequence: 1, errorCount: 0, createdAt: expect.any(String), updatedAt: expect.any(String) },
    ]);
  });

  test('an upload folder in staging without a release request is listed as pending', async () => {
    // An object the pipeline keeps in staging (a release request would name it): a zip still arriving.
    await published.stack.store.put('staging/space/build-4/part.bin', Buffer.from('x'));
    await published.stack.router.idle();
    const run = await published.lup(['uploads', '--game', 'space', '--json']);
    const uploads = (JSON.parse(run.out) as { uploads: UploadSummary[] }).uploads;
    expect(uploads.find((u) => u.upload === 'build-4')).toMatchObject({ state: 'pending', releaseRequested: false, errorCount: 0 });
  });

  test('an unknown game exits 1 with GAME_UNKNOWN naming the games found', async () => {
    const run = await published.lup(['uploads', '--game', 'nosuch']);
    expect(run.code).toBe(1);
    expect(run.err.split('\n')[0]).toBe('GAME_UNKNOWN: Game "nosuch" has no channel and no upload here; games found: space.');
  });
});
