/**
 * `lup status` against the real local stack: the status objects and pointers the pipeline wrote.
 */
import { keys } from '../../lib/core/keys';
import { FIXTURE_ZIPS, normalise, startPublishedStack, type PublishedStack } from '../helpers/published-stack';

let published: PublishedStack;
beforeAll(async () => {
  published = await startPublishedStack();
  await published.publishArchive({ game: 'space', upload: 'build-1', channel: 'stable', zip: FIXTURE_ZIPS.v162 });
  await published.publishArchive({ game: 'space', upload: 'build-2', channel: 'beta', zip: FIXTURE_ZIPS.v1112 });
  // A release request naming an archive that never arrives: refused at once, nothing is staged.
  await published.stack.store.put(keys.releaseRequest('space', 'build-3'), JSON.stringify({
    schemaVersion: 1, game: 'space', upload: 'build-3', channel: 'stable', kind: 'archives',
    archives: [{ name: 'levels.zip', sha256: 'ab'.repeat(32), sizeBytes: 10, priority: 0 }], requestedAt: new Date().toISOString(),
  }));
  await published.stack.router.idle();
});
afterAll(async () => {
  await published?.close();
});

describe('lup status', () => {
  test('lists the channels of a game with their current release', async () => {
    const run = await published.lup(['status', '--game', 'space']);
    expect(run.code).toBe(0);
    expect(normalise(run.out, published)).toMatchInlineSnapshot(`
"Game space: 2 channel(s)
  CHANNEL  RELEASE  SEQUENCE  CAUSE    PUBLISHED
  beta     build-2  1         release  YYYY-MM-DDThh:mm:ss.sssZ
  stable   build-1  1         release  YYYY-MM-DDThh:mm:ss.sssZ
"
`);
  });

  test('lists the channels as JSON', async () => {
    const run = await published.lup(['status', '--game', 'space', '--json']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.out)).toEqual({
      ok: true, game: 'space',
      channels: [
        { channel: 'beta', releaseId: 'build-2', sequence: 1, cause: 'release', publishedAt: expect.any(String), pointerPath: 'channels/space/beta.json' },
        { channel: 'stable', releaseId: 'build-1', sequence: 1, cause: 'release', publishedAt: expect.any(String), pointerPath: 'channels/space/stable.json' },
      ],
    });
  });

  test('names the games found when the game has no channel and no upload, and exits 1', async () => {
    const run = await published.lup(['status', '--game', 'unknown-game']);
    expect(run.code).toBe(1);
    expect(run.out).toBe('');
    expect(run.err.split('\n')[0]).toBe('GAME_UNKNOWN: Game "unknown-game" has no channel and no upload here; games found: space.');
  });

  test("shows a live upload's state, release and events", async () => {
    const run = await published.lup(['status', '--game', 'space', '--upload', 'build-1']);
    expect(run.code).toBe(0);
    expect(run.err).toBe('');
    const out = normalise(run.out, published);
    // The events before "verified" depend on which event the pipeline handled first.
    expect(out.split('\n').slice(0, 7).join('\n')).toMatchInlineSnapshot(`
"Upload build-1 of game space: live
  channel:  stable
  release:  build-1 (sequence 1)
  pointer:  http://cdn/channels/space/stable.json
  created:  YYYY-MM-DDThh:mm:ss.sssZ
  updated:  YYYY-MM-DDThh:mm:ss.sssZ
Events:"
`);
    expect(out).toContain('  YYYY-MM-DDThh:mm:ss.sssZ  archive game.zip verified (7 resources)\n');
    expect(out.endsWith('  YYYY-MM-DDThh:mm:ss.sssZ  live on stable (sequence 1)\n  YYYY-MM-DDThh:mm:ss.sssZ  published: channel history, stable manifest and CDN invalidation done\n')).toBe(true);
  });

  test('shows a refused upload with its errors and exits 1', async () => {
    const run = await published.lup(['status', '--game', 'space', '--upload', 'build-3']);
    expect(run.code).toBe(1);
    expect(normalise(run.out, published)).toMatchInlineSnapshot(`
"Upload build-3 of game space: refused
  created:  YYYY-MM-DDThh:mm:ss.sssZ
  updated:  YYYY-MM-DDThh:mm:ss.sssZ
Events:
  YYYY-MM-DDThh:mm:ss.sssZ  release requested
  YYYY-MM-DDThh:mm:ss.sssZ  release refused
"
`);
    expect(run.err).toMatchInlineSnapshot(`
"1 error(s):
RELEASE_INCOMPLETE: Archive levels.zip named in the release request never arrived with the bytes the request declares; upload it again with lup publish.
  at s3 key staging/space/build-3/levels.zip, entry levels.zip
  expected: a verified archive with SHA-256 abababababababababababababababababababababababababababababababab
  actual:   none arrived (or it had other bytes)
"
`);
  });

  test('prints the status document as JSON', async () => {
    const run = await published.lup(['status', '--game', 'space', '--upload', 'build-3', '--json']);
    expect(run.code).toBe(1);
    expect(JSON.parse(run.out)).toMatchObject({
      ok: false, game: 'space', upload: 'build-3', state: 'refused',
      errors: [{ code: 'RELEASE_INCOMPLETE', location: { key: 'staging/space/build-3/levels.zip', entry: 'levels.zip' } }],
    });
  });

  test('exits 1 with UPLOAD_NOT_FOUND naming the known uploads when the upload has no status', async () => {
    const run = await published.lup(['status', '--game', 'space', '--upload', 'build-9']);
    expect(run.code).toBe(1);
    expect(run.out).toBe('');
    // Most recent first; S3 times have a one-second resolution, so the three may tie.
    expect(run.err).toMatch(/^UPLOAD_NOT_FOUND: Upload "build-9" has no status in game "space": the pipeline has not seen its release request yet, or the id is wrong\. Most recent uploads: build-\d, build-\d, build-\d \(all of them: lup uploads --game space\)\.\n/);
  });

  test('exits 2 naming the flag when --game is missing or invalid', async () => {
    const missing = await published.lup(['status']);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatchInlineSnapshot(`
"error: required option '--game <id>' not specified
(run with --help for usage)
"
`);
    const invalid = await published.lup(['status', '--game', 'Space Game']);
    expect(invalid.code).toBe(2);
    expect(invalid.err).toMatchInlineSnapshot(`
"error: --game "Space Game" is not a valid id: use lowercase letters, digits, "-", "_" and "." (at most 63 characters, starting with a letter or digit), for example --game space-game.
"
`);
  });

  test('--help explains the states and gives examples', async () => {
    const run = await published.lup(['status', '--help']);
    expect(run.code).toBe(0);
    expect(run.out).toContain('states: pending');
    expect(run.out).toContain('Examples:\n  $ lup status --game space-game');
  });
});
