/**
 * `lup rollout start|set|halt|complete|abort` against the real local stack: each operation moves the
 * pointer through the pipeline's compare-and-swap flip; refusals exit 1 with the code; bad usage 2.
 */
import { keys } from '../../lib/core/keys';
import type { ChannelPointer } from '../../lib/core/documents/pointer';
import { parsePercent } from '../../lib/cli/rollout-command';
import { FIXTURE_ZIPS, startPublishedStack, type PublishedStack } from '../helpers/published-stack';

let published: PublishedStack;
beforeAll(async () => {
  published = await startPublishedStack();
  await published.publishArchive({ game: 'space', upload: 'build-1', channel: 'stable', zip: FIXTURE_ZIPS.v162 });
  await published.publishArchive({ game: 'space', upload: 'build-2', channel: 'beta', zip: FIXTURE_ZIPS.v1112 });
});
afterAll(async () => {
  await published?.close();
});

async function served(): Promise<ChannelPointer> {
  return (await (await fetch(`${published.stack.cdnBaseUrl}${keys.pointer('space', 'stable')}`)).json()) as ChannelPointer;
}

describe('lup rollout', () => {
  test('start → set → halt → complete, and the players\' view follows', async () => {
    const start = await published.lup(['rollout', 'start', '--game', 'space', '--channel', 'stable', '--release', 'build-2', '--percent', '1']);
    expect(start.code).toBe(0);
    expect(start.out).toBe('Rollout started: channel stable of game space serves release build-2 to 1 % of installs (active), release build-1 to the others; sequence 2.\n');
    expect(await served()).toMatchObject({ sequence: 2, releaseId: 'build-1', rollout: { releaseId: 'build-2', share: 100, state: 'active' } });

    const set = await published.lup(['rollout', 'set', '--game', 'space', '--channel', 'stable', '--percent', '12.5', '--json', '--request-id', 'ci-1']);
    expect(set.code).toBe(0);
    expect(JSON.parse(set.out)).toEqual({
      ok: true, action: 'rollout', op: 'set', game: 'space', channel: 'stable', sequence: 3, applied: true, requestId: 'ci-1',
      releaseId: 'build-1', candidateReleaseId: 'build-2', rollout: { releaseId: 'build-2', share: 1250, percent: 12.5, state: 'active', startedSequence: 2 },
      pointerPath: 'channels/space/stable.json',
    });
    const again = await published.lup(['rollout', 'set', '--game', 'space', '--channel', 'stable', '--percent', '12.5', '--request-id', 'ci-1']);
    expect(again.code).toBe(0);
    expect(again.out).toContain('Rollout widened already (same --request-id)');

    const narrow = await published.lup(['rollout', 'set', '--game', 'space', '--channel', 'stable', '--percent', '5', '--json']);
    expect(narrow.code).toBe(1);
    expect(narrow.err).toContain('ROLLOUT_REFUSED: A rollout only widens');
    expect(JSON.parse(narrow.out)).toMatchObject({ ok: false, error: { code: 'ROLLOUT_REFUSED' } });
    const second = await published.lup(['rollout', 'start', '--game', 'space', '--channel', 'stable', '--release', 'build-2', '--percent', '50']);
    expect(second.code).toBe(1);
    expect(second.err).toContain('one rollout per channel');

    const halt = await published.lup(['rollout', 'halt', '--game', 'space', '--channel', 'stable']);
    expect(halt.code).toBe(0);
    expect(halt.out).toBe('Rollout halted: channel stable of game space serves release build-2 to 12.5 % of installs (halted), release build-1 to the others; sequence 4.\n');

    const status = await published.lup(['status', '--game', 'space']);
    expect(status.code).toBe(0);
    expect(status.out).toContain('  rollout on stable: release build-2 to 12.5 % of installs (halted, since sequence 2); the others get build-1\n');
    const statusJson = JSON.parse((await published.lup(['status', '--game', 'space', '--json'])).out) as { channels: { channel: string; rollout?: unknown }[] };
    expect(statusJson.channels.find((c) => c.channel === 'stable')?.rollout).toMatchObject({ releaseId: 'build-2', share: 1250, percent: 12.5, state: 'halted', startedSequence: 2 });

    // lup verify checks both releases: the stable one and the candidate
    const beta = JSON.parse((await published.lup(['verify', '--game', 'space', '--channel', 'beta', '--json'])).out) as { objectsChecked: number };
    const stable1 = (await served());
    const verify = await published.lup(['verify', '--game', 'space', '--channel', 'stable', '--json']);
    expect(verify.code).toBe(0);
    const report = JSON.parse(verify.out) as { ok: boolean; objectsChecked: number; rollout: unknown; releaseId: string };
    expect(report).toMatchObject({ ok: true, releaseId: 'build-1', rollout: { releaseId: 'build-2', share: 1250, state: 'halted' } });
    // pointer + stable manifest copy + the stable release (manifest, archives) + the candidate's (manifest, archives)
    expect(report.objectsChecked).toBe(1 + 1 + (1 + stable1.archives.length) + (beta.objectsChecked - 2));
    // a changed byte in the candidate's archive fails it
    const candidateArchive = stable1.rollout!.archives[0].path;
    const bytes = Buffer.from((await published.stack.store.get(candidateArchive))!.body);
    bytes[100] ^= 1;
    await published.stack.store.put(candidateArchive, bytes);
    const broken = await published.lup(['verify', '--game', 'space', '--channel', 'stable', '--json']);
    expect(broken.code).toBe(1);
    const brokenReport = JSON.parse(broken.out) as { ok: boolean; mismatches: { location?: { key?: string } }[] };
    expect(brokenReport.ok).toBe(false);
    expect(brokenReport.mismatches.map((m) => m.location?.key)).toContain(candidateArchive);
    bytes[100] ^= 1;
    await published.stack.store.put(candidateArchive, bytes);

    const complete = await published.lup(['rollout', 'complete', '--game', 'space', '--channel', 'stable']);
    expect(complete.code).toBe(0);
    expect(complete.out).toBe('Rollout completed: channel stable of game space serves release build-2 to every install, no rollout; sequence 5.\n');
    const after = await served();
    expect(after).toMatchObject({ sequence: 5, releaseId: 'build-2', cause: 'rollout-complete' });
    expect(after.rollout).toBeUndefined();

    const none = await published.lup(['rollout', 'abort', '--game', 'space', '--channel', 'stable']);
    expect(none.code).toBe(1);
    expect(none.err).toContain('ROLLOUT_REFUSED: Channel "stable" has no rollout');
  });

  test('exits 2 naming the flag for bad usage', async () => {
    const missing = await published.lup(['rollout', 'start', '--game', 'space', '--channel', 'stable', '--percent', '1']);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain("error: required option '--release <id>' not specified");
    const percent = await published.lup(['rollout', 'set', '--game', 'space', '--channel', 'stable', '--percent', '150']);
    expect(percent.code).toBe(2);
    expect(percent.err).toContain('--percent "150" is not a share of installs from 0.01 to 100');
    const unknown = await published.lup(['rollout', 'pause', '--game', 'space', '--channel', 'stable']);
    expect(unknown.code).toBe(2);
  });

  test('--help of each operation gives examples and exit codes', async () => {
    for (const op of ['start', 'set', 'halt', 'complete', 'abort']) {
      const run = await published.lup(['rollout', op, '--help']);
      expect(run.code).toBe(0);
      expect(run.out).toContain(`Examples:\n  $ lup rollout ${op} --game space-game`);
      expect(run.out).toContain('Exit codes: 0 done; 1 refused');
    }
  });

  test('--percent in basis points', () => {
    expect([parsePercent('1'), parsePercent('0.01'), parsePercent('12.5'), parsePercent('100'), parsePercent('0.5')]).toEqual([100, 1, 1250, 10000, 50]);
    for (const bad of ['0', '0.001', '100.01', '-1', '1e2', 'ten', '']) expect(() => parsePercent(bad)).toThrow(/--percent/);
  });
});
