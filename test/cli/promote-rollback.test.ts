/**
 * `lup promote` and `lup rollback` against the real local stack: the pointer moves through the
 * pipeline's compare-and-swap flip, its sequence only grows, and refusals exit 1 with the code.
 */
import { keys } from '../../lib/core/keys';
import type { ChannelPointer } from '../../lib/core/documents/pointer';
import { FIXTURE_ZIPS, normalise, startPublishedStack, type PublishedStack } from '../helpers/published-stack';

let published: PublishedStack;
beforeAll(async () => {
  published = await startPublishedStack();
  await published.publishArchive({ game: 'space', upload: 'build-1', channel: 'stable', zip: FIXTURE_ZIPS.v162 });
  await published.publishArchive({ game: 'space', upload: 'build-2', channel: 'beta', zip: FIXTURE_ZIPS.v1112 });
});
afterAll(async () => {
  await published?.close();
});

async function pointer(game: string, channel: string): Promise<ChannelPointer> {
  const object = await published.stack.store.get(keys.pointer(game, channel));
  return JSON.parse(Buffer.from(object!.body).toString('utf8')) as ChannelPointer;
}

describe('lup promote and lup rollback', () => {
  test('promote then rollback: the sequence grows 1, 2, 3 and rollback returns to the previous release', async () => {
    expect(await pointer('space', 'stable')).toMatchObject({ sequence: 1, releaseId: 'build-1' });

    const promote = await published.lup(['promote', '--game', 'space', '--from', 'beta', '--to', 'stable']);
    expect(promote.code).toBe(0);
    expect(promote.out).toMatchInlineSnapshot(`
"Promoted: release build-2 of game space from beta to stable; stable is at sequence 2 (was build-1).
"
`);
    expect(await pointer('space', 'stable')).toMatchObject({ sequence: 2, releaseId: 'build-2', cause: 'promote' });

    const rollback = await published.lup(['rollback', '--game', 'space', '--channel', 'stable', '--json']);
    expect(rollback.code).toBe(0);
    expect(JSON.parse(rollback.out)).toEqual({
      ok: true, action: 'rollback', game: 'space', channel: 'stable', releaseId: 'build-1', sequence: 3,
      previousReleaseId: 'build-2', applied: true, requestId: expect.stringMatching(/^cli-\d+-[0-9a-f]{8}$/), pointerPath: 'channels/space/stable.json',
    });
    expect(await pointer('space', 'stable')).toMatchObject({ sequence: 3, releaseId: 'build-1', cause: 'rollback' });
    // The players' view follows: the CDN serves the new pointer.
    const served = await (await fetch(`${published.stack.cdnBaseUrl}${keys.pointer('space', 'stable')}`)).json();
    expect(served).toMatchObject({ sequence: 3, releaseId: 'build-1' });
  });

  test('a retried promote with the same --request-id is applied once', async () => {
    const args = ['promote', '--game', 'space', '--from', 'beta', '--to', 'candidate', '--create-channel', '--request-id', 'ci-4711'];
    const first = await published.lup([...args, '--json']);
    const again = await published.lup(args);
    expect(first.code).toBe(0);
    expect(JSON.parse(first.out)).toMatchObject({ applied: true, sequence: 1, releaseId: 'build-2', previousReleaseId: null, requestId: 'ci-4711' });
    expect(again.code).toBe(0);
    expect(again.out).toMatchInlineSnapshot(`
"Already promoted (same --request-id): release build-2 of game space from beta to candidate; candidate is at sequence 1.
"
`);
    expect(await pointer('space', 'candidate')).toMatchObject({ sequence: 1 });
  });

  test('rollback --to a named release', async () => {
    const run = await published.lup(['rollback', '--game', 'space', '--channel', 'beta', '--to', 'build-1']);
    expect(run.code).toBe(0);
    expect(run.out).toMatchInlineSnapshot(`
"Rolled back: channel beta of game space from build-2 to release build-1; sequence 2.
"
`);
  });

  test('rollback with no previous release exits 1 with RELEASE_NOT_FOUND', async () => {
    await published.publishArchive({ game: 'fresh', upload: 'build-1', channel: 'stable', zip: FIXTURE_ZIPS.v162 });
    const run = await published.lup(['rollback', '--game', 'fresh', '--channel', 'stable']);
    expect(run.code).toBe(1);
    expect(run.out).toBe('');
    expect(run.err).toMatchInlineSnapshot(`
"RELEASE_NOT_FOUND: Channel "stable" has no earlier release to roll back to; name one with --to.
  at s3 key channels/fresh/stable.json
  expected: an earlier release on the channel
  actual:   only build-1
"
`);
    const json = await published.lup(['rollback', '--game', 'fresh', '--channel', 'stable', '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.out)).toEqual({ ok: false, error: expect.objectContaining({ code: 'RELEASE_NOT_FOUND', location: { key: 'channels/fresh/stable.json' } }) });
    expect(await pointer('fresh', 'stable')).toMatchObject({ sequence: 1, releaseId: 'build-1' });
  });

  test('rollback --to a release that does not exist exits 1 naming it', async () => {
    const run = await published.lup(['rollback', '--game', 'space', '--channel', 'stable', '--to', 'build-99']);
    expect(run.code).toBe(1);
    expect(run.err).toMatchInlineSnapshot(`
"RELEASE_NOT_FOUND: Game "space" has no release "build-99"; see \`lup releases\`.
  at s3 key releases/space/build-99.json
  expected: release build-99 of game space
  actual:   none
"
`);
  });

  test('development mode: promote to a mistyped channel exits 1 with CHANNEL_UNKNOWN, suggests the closest channel and creates nothing', async () => {
    const run = await published.lup(['promote', '--game', 'space', '--from', 'beta', '--to', 'stabel']);
    expect(run.code).toBe(1);
    expect(run.err.split('\n')[0]).toBe('CHANNEL_UNKNOWN: Game "space" has no channel "stabel"; did you mean "stable"? Its channels: beta, candidate, stable. To create "stabel" with this promote, pass --create-channel.');
    expect(await published.stack.store.get(keys.pointer('space', 'stabel'))).toBeUndefined();
  });

  test('development mode: promote --create-channel creates a channel on purpose', async () => {
    const beta = await pointer('space', 'beta');
    const run = await published.lup(['promote', '--game', 'space', '--from', 'beta', '--to', 'qa', '--create-channel', '--json']);
    expect(run.code).toBe(0);
    expect(await pointer('space', 'qa')).toMatchObject({ sequence: 1, releaseId: beta.releaseId, cause: 'promote' });
  });

  test('development mode: promote from a channel that does not exist exits 1 with CHANNEL_UNKNOWN naming --from and the channels', async () => {
    const run = await published.lup(['promote', '--game', 'space', '--from', 'nightly', '--to', 'stable']);
    expect(run.code).toBe(1);
    expect(normalise(run.err, published)).toMatchInlineSnapshot(`
"CHANNEL_UNKNOWN: Game "space" has no channel "nightly". Its channels: beta, candidate, qa, stable.
  at s3 key channels/space/nightly.json, field from
  expected: one of beta, candidate, qa, stable
  actual:   nightly
"
`);
  });

  test('development mode: rollback of a mistyped channel exits 1 with CHANNEL_UNKNOWN and suggests the closest channel', async () => {
    const run = await published.lup(['rollback', '--game', 'space', '--channel', 'stabel']);
    expect(run.code).toBe(1);
    expect(run.err.split('\n')[0]).toBe('CHANNEL_UNKNOWN: Game "space" has no channel "stabel"; did you mean "stable"? Its channels: beta, candidate, qa, stable.');
  });

  test('development mode: promote with a mistyped --from reports --from first, even when --to is mistyped too', async () => {
    const run = await published.lup(['promote', '--game', 'space', '--from', 'betta', '--to', 'stabel', '--json']);
    expect(run.code).toBe(1);
    expect(JSON.parse(run.out).error).toMatchObject({
      code: 'CHANNEL_UNKNOWN', location: { key: 'channels/space/betta.json', field: 'from' }, actual: 'betta',
      message: expect.stringContaining('Game "space" has no channel "betta"; did you mean "beta"?'),
    });
    expect(await published.stack.store.get(keys.pointer('space', 'stabel'))).toBeUndefined();
  });

  test('exits 2 naming the flags for bad usage', async () => {
    const missing = await published.lup(['promote', '--from', 'beta', '--to', 'stable']);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain("error: required option '--game <id>' not specified");
    const same = await published.lup(['promote', '--game', 'space', '--from', 'beta', '--to', 'beta']);
    expect(same.code).toBe(2);
    expect(same.err).toMatchInlineSnapshot(`
"error: --from and --to are both "beta": name two different channels, for example --from beta --to stable.
"
`);
    const noChannel = await published.lup(['rollback', '--game', 'space']);
    expect(noChannel.code).toBe(2);
    expect(noChannel.err).toContain("error: required option '--channel <name>' not specified");
  });

  test('--help of each command gives examples', async () => {
    for (const command of ['promote', 'rollback']) {
      const run = await published.lup([command, '--help']);
      expect(run.code).toBe(0);
      expect(run.out).toContain(`Examples:\n  $ lup ${command} --game space-game`);
    }
  });
});
