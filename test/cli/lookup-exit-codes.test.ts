/**
 * Lookups of what does not exist (issue 11, item 4): `lup status` and `lup releases` of an unknown
 * game, and `lup status --upload` of an unknown upload, fail with a not-found code and exit 1 (the
 * usage was right; 2 is for bad usage), and say what does exist.
 */
import { FIXTURE_ZIPS, startPublishedStack, type PublishedStack } from '../helpers/published-stack';

let published: PublishedStack;
beforeAll(async () => {
  published = await startPublishedStack();
  await published.publishArchive({ game: 'space', upload: 'build-1', channel: 'stable', zip: FIXTURE_ZIPS.v162 });
  await published.publishArchive({ game: 'moon', upload: 'build-7', channel: 'beta', zip: FIXTURE_ZIPS.v1112 });
});
afterAll(async () => {
  await published?.close();
});

describe('lookups of what does not exist', () => {
  test('lup status --game nosuch exits 1 with GAME_UNKNOWN, naming the games found', async () => {
    const run = await published.lup(['status', '--game', 'nosuch']);
    expect(run.code).toBe(1);
    expect(run.out).toBe('');
    expect(run.err).toBe([
      'GAME_UNKNOWN: Game "nosuch" has no channel and no upload here; games found: moon, space.',
      '  at flag --game',
      '  expected: one of moon, space',
      '  actual:   nosuch',
      '',
    ].join('\n'));
  });

  test('lup releases --game nosuch exits 1 with GAME_UNKNOWN, naming the games found', async () => {
    const run = await published.lup(['releases', '--game', 'nosuch', '--json']);
    expect(run.code).toBe(1);
    expect(JSON.parse(run.out)).toMatchObject({ ok: false, error: { code: 'GAME_UNKNOWN', expected: 'one of moon, space', actual: 'nosuch' } });
  });

  test('lup status --upload unknown exits 1 with UPLOAD_NOT_FOUND, naming the recent uploads', async () => {
    const run = await published.lup(['status', '--game', 'space', '--upload', 'build-9']);
    expect(run.code).toBe(1);
    expect(run.out).toBe('');
    expect(run.err).toMatch(/^UPLOAD_NOT_FOUND: Upload "build-9" has no status in game "space": the pipeline has not seen its release request yet, or the id is wrong\. Most recent uploads: build-1 \(all of them: lup uploads --game space\)\.\n  at s3 key status\/space\/build-9\.json, flag --upload\n/);
    const json = await published.lup(['status', '--game', 'space', '--upload', 'build-9', '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.out)).toMatchObject({ ok: false, error: { code: 'UPLOAD_NOT_FOUND', actual: 'build-9' } });
  });

  test('a known game without a released channel is still reported as such (not as unknown)', async () => {
    await published.stageOnly({ game: 'mars', upload: 'build-1', zip: FIXTURE_ZIPS.v162 });
    const run = await published.lup(['status', '--game', 'mars']);
    expect(run.code).toBe(1);
    expect(run.out).toContain('Game mars has no released channel yet');
  });
});
