/**
 * Garbage collection shown end to end on a real `lup local` (issue 11, item 7): a development
 * configuration with `minAgeDays: 0` and `gcGraceMinutes: 1` lets `lup gc --apply` mark the first
 * release's content after a second release, and a second run a minute later delete it, keeping
 * what is live and retained. (A grace of 0 is refused: one run would mark and delete at once,
 * racing a release that is flipping; adversary finding F4.) The minute is simulated by moving the
 * marks' times back, as the operator key can.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChannelPointer } from '../../lib/core/documents/pointer';
import type { GcReport } from '../../lib/core/pipeline/gc';
import { createContent } from '../../lib/factory/content-factory';
import { writeZip } from '../../lib/factory/write-content';
import { unsafeRetention } from '../../lib/cli/gc-command';
import { createS3Client } from '../../lib/adapters/s3-client';
import { S3ObjectStore } from '../../lib/adapters/s3-store';
import { LOCAL_BUCKET, LOCAL_OPERATOR_CREDENTIALS } from '../../lib/local/local-stack';
import { lup } from '../helpers/cli-run';
import { startLupLocal, stopLupLocal, type LupLocalProcess } from '../helpers/lup-process';

let dir: string;
let local: LupLocalProcess | undefined;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lup-gc-local-'));
  await writeFile(join(dir, 'studio.json'), JSON.stringify({
    games: [{ id: 'gc-game', projectTitle: 'GC Game', channels: ['stable'], retention: { releasesPerChannel: 1, minAgeDays: 0, gcGraceMinutes: 1 } }],
  }));
  await writeZip(createContent({ seed: 11, resourceCount: 8, projectTitle: 'GC Game' }), join(dir, 'v1.zip'));
  await writeZip(createContent({ seed: 12, resourceCount: 8, projectTitle: 'GC Game' }), join(dir, 'v2.zip'));
  local = await startLupLocal(join(dir, 'data'), ['--config', join(dir, 'studio.json')]);
}, 60_000);
afterAll(async () => {
  await stopLupLocal(local);
  await rm(dir, { recursive: true, force: true });
});

async function served(path: string): Promise<number> {
  const response = await fetch(new URL(path, local!.cdn));
  await response.body?.cancel();
  return response.status;
}

/** Move every gc mark of the game `ms` into the past (the time gc waits between marking and deleting). */
async function ageMarks(ms: number): Promise<void> {
  const client = createS3Client({ endpoint: local!.s3, credentials: LOCAL_OPERATOR_CREDENTIALS });
  try {
    const store = new S3ObjectStore({ client, bucket: LOCAL_BUCKET });
    const key = 'state/gc-game/_gc/marks.json';
    const doc = JSON.parse(Buffer.from((await store.get(key))!.body).toString('utf8')) as { marks: Record<string, { markedAt: string }> };
    for (const mark of Object.values(doc.marks)) mark.markedAt = new Date(Date.parse(mark.markedAt) - ms).toISOString();
    await store.put(key, JSON.stringify(doc), { contentType: 'application/json' });
  } finally {
    client.destroy();
  }
}

async function pointer(): Promise<ChannelPointer> {
  return (await fetch(new URL('channels/gc-game/stable.json', local!.cdn))).json() as Promise<ChannelPointer>;
}

test('publish v1, publish v2, gc --apply: v1 content is deleted, v2 stays live and verifies', async () => {
  const target = ['--endpoint', local!.s3, '--config', join(dir, 'studio.json')];
  const v1 = await lup(['publish', join(dir, 'v1.zip'), '--game', 'gc-game', '--channel', 'stable', '--endpoint', local!.s3, '--json'], dir);
  expect(v1.code).toBe(0);
  const first = await pointer();
  const v2 = await lup(['publish', join(dir, 'v2.zip'), '--game', 'gc-game', '--channel', 'stable', '--endpoint', local!.s3, '--json'], dir);
  expect(v2.code).toBe(0);
  const second = await pointer();
  expect(second.releaseId).not.toBe(first.releaseId);
  const firstPaths = [first.manifest.path, ...first.archives.map((a) => a.path)];
  const secondPaths = [second.manifest.path, ...second.archives.map((a) => a.path)];
  for (const path of firstPaths) expect(await served(path)).toBe(200);

  const marking = await lup(['gc', '--game', 'gc-game', '--apply', ...target, '--json'], dir);
  expect(marking.code).toBe(0);
  const marked = JSON.parse(marking.stdout) as GcReport;
  expect(marked.deleted).toEqual([]);
  expect([...marked.marked].sort()).toEqual(expect.arrayContaining([...firstPaths].sort()));
  for (const path of firstPaths) expect(await served(path)).toBe(200);
  await ageMarks(2 * 60_000);

  const gc = await lup(['gc', '--game', 'gc-game', '--apply', ...target, '--json'], dir);
  expect(gc.code).toBe(0);
  // lup local is a development stack: no warning about the short retention.
  expect(gc.stderr).toBe('');
  const report = JSON.parse(gc.stdout) as GcReport;
  expect(report).toMatchObject({ applied: true, graceMinutes: 1, minAgeDays: 0, retainedReleases: [second.releaseId] });
  // Of the released content, exactly v1's; the rest are the private verified copies, which no release serves.
  expect(report.deleted.filter((k) => k.startsWith('content/')).sort()).toEqual([...firstPaths].sort());
  expect(report.deleted.filter((k) => !k.startsWith('content/')).every((k) => k.startsWith('state/gc-game/_verified/'))).toBe(true);

  for (const path of firstPaths) expect(await served(path)).toBe(404);
  for (const path of secondPaths) expect(await served(path)).toBe(200);
  const verify = await lup(['verify', '--game', 'gc-game', '--channel', 'stable', '--endpoint', local!.s3], dir);
  expect(verify.code).toBe(0);
}, 120_000);

describe(unsafeRetention, () => {
  test('names a development retention as unsafe for a deployed stack (lup gc warns with it away from lup local)', () => {
    expect(unsafeRetention({ graceMinutes: 60, minAgeDays: 7 })).toBeUndefined();
    expect(unsafeRetention({ graceMinutes: 15, minAgeDays: 1 })).toBeUndefined();
    const warning = unsafeRetention({ graceMinutes: 0, minAgeDays: 0 });
    expect(warning).toContain('retention.gcGraceMinutes is 0');
    expect(warning).toContain('retention.minAgeDays is 0');
    expect(unsafeRetention({ graceMinutes: 5, minAgeDays: 7 })).toContain('retention.gcGraceMinutes is 5');
  });
});
