/**
 * `lup releases` against the real local stack: the history records the flips wrote.
 */
import { FIXTURE_ZIPS, normalise, startPublishedStack, type PublishedStack } from '../helpers/published-stack';

let published: PublishedStack;
beforeAll(async () => {
  // GIVEN build-1 released to stable, build-2 to beta, then beta promoted to stable
  published = await startPublishedStack();
  await published.publishArchive({ game: 'space', upload: 'build-1', channel: 'stable', zip: FIXTURE_ZIPS.v162, note: 'CI run 41' });
  await published.publishArchive({ game: 'space', upload: 'build-2', channel: 'beta', zip: FIXTURE_ZIPS.v1112, note: 'CI run 42' });
  const promoted = await published.lup(['promote', '--game', 'space', '--from', 'beta', '--to', 'stable']);
  if (promoted.code !== 0) throw new Error(promoted.err);
});
afterAll(async () => {
  await published?.close();
});

describe('lup releases', () => {
  test('lists each channel newest first, marking the current release, with notes', async () => {
    const run = await published.lup(['releases', '--game', 'space']);
    expect(run.code).toBe(0);
    expect(normalise(run.out, published)).toMatchInlineSnapshot(`
"Channel beta of game space: release build-2 (sequence 1)
     SEQ  RELEASE  CAUSE    AT                        NOTE
  *  1    build-2  release  YYYY-MM-DDThh:mm:ss.sssZ  CI run 42

Channel stable of game space: release build-2 (sequence 2)
     SEQ  RELEASE  CAUSE    AT                        NOTE
  *  2    build-2  promote  YYYY-MM-DDThh:mm:ss.sssZ  CI run 42
     1    build-1  release  YYYY-MM-DDThh:mm:ss.sssZ  CI run 41
"
`);
  });

  test('lists one channel as JSON', async () => {
    const run = await published.lup(['releases', '--game', 'space', '--channel', 'stable', '--json']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.out)).toEqual({
      ok: true, game: 'space',
      channels: [{
        channel: 'stable', current: { releaseId: 'build-2', sequence: 2 }, olderFlips: 0,
        flips: [
          { sequence: 2, releaseId: 'build-2', cause: 'promote', at: expect.any(String), current: true, note: 'CI run 42' },
          { sequence: 1, releaseId: 'build-1', cause: 'release', at: expect.any(String), current: false, note: 'CI run 41' },
        ],
      }],
    });
  });

  test('says how many older flips --limit left out', async () => {
    const run = await published.lup(['releases', '--game', 'space', '--channel', 'stable', '--limit', '1']);
    expect(run.code).toBe(0);
    expect(normalise(run.out, published)).toMatchInlineSnapshot(`
"Channel stable of game space: release build-2 (sequence 2)
     SEQ  RELEASE  CAUSE    AT                        NOTE
  *  2    build-2  promote  YYYY-MM-DDThh:mm:ss.sssZ  CI run 42
  … 1 older flip(s); raise --limit to see them
"
`);
  });

  test('exits 2 naming --channel and the channels that exist', async () => {
    const run = await published.lup(['releases', '--game', 'space', '--channel', 'stabel']);
    expect(run.code).toBe(2);
    expect(run.err).toMatchInlineSnapshot(`
"error: --channel "stabel" has no releases in game "space". Channels with releases: beta, stable.
"
`);
  });

  test('exits 2 naming the flag when --game is missing', async () => {
    const run = await published.lup(['releases', '--channel', 'stable']);
    expect(run.code).toBe(2);
    expect(run.err).toContain("error: required option '--game <id>' not specified");
  });
});
