/**
 * Bad content is refused by the pipeline itself (the CLI's local check is skipped with --no-check,
 * as a hostile or broken publisher would): a specific error in the status object, the object in
 * quarantine with its reason, nothing new under content/, and the live pointer untouched.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { keys } from '../../lib/core/keys';
import type { UploadStatus } from '../../lib/core/documents/upload-status';
import { keysUnder, lup, pointerOf, startTestStack, statusOf, studioConfig, testKeyPair, writeContent, type TestStack } from '../helpers/pipeline-stack';

const studioKey = testKeyPair();
const otherKey = testKeyPair();
const config = studioConfig({
  studio: 'test',
  games: [{ id: 'space', projectTitle: 'Space Game', publicKey: studioKey.publicKeyBase64, supportedEngineVersions: ['1.9.0'], channels: ['stable', 'beta', 'live'], publisherChannels: ['stable', 'beta'] }],
});
const good = { projectTitle: 'Space Game', engineVersions: ['1.9.0'], privateKey: studioKey.privateKey };

describe('the pipeline refuses bad content', () => {
  let stack: TestStack;
  let livePointerSequence: number;
  let liveRelease: string;

  beforeEach(async () => {
    stack = await startTestStack({ config });
    const v1 = await writeContent(stack, 'v1', { ...good, seed: 10, resourceCount: 15 });
    const first = await lup(stack, ['publish', v1.zip, '--game', 'space', '--channel', 'stable', '--json']);
    expect(first.code).toBe(0);
    const pointer = await pointerOf(stack, 'space', 'stable');
    livePointerSequence = pointer!.sequence;
    liveRelease = pointer!.releaseId;
  });
  afterEach(async () => { await stack.close(); });

  async function refused(args: string[]): Promise<UploadStatus> {
    const result = await lup(stack, [...args, '--game', 'space', '--channel', 'stable', '--no-check', '--json']);
    expect(result.code).toBe(1);
    const report = JSON.parse(result.out);
    expect(report.state).toBe('refused');
    // The CLI returns at the verdict; the pipeline may still be tidying up (quarantine, staging).
    await stack.router.idle();
    // The live channel did not move.
    const pointer = await pointerOf(stack, 'space', 'stable');
    expect(pointer).toMatchObject({ sequence: livePointerSequence, releaseId: liveRelease });
    // Nothing is left in staging.
    expect(await keysUnder(stack.store, keys.uploadPrefix('space', report.upload))).toEqual([]);
    return (await statusOf(stack, 'space', report.upload))!;
  }

  it('refuses a corrupted resource, quarantines it and never serves it', async () => {
    const bad = await writeContent(stack, 'bad', { ...good, seed: 11, resourceCount: 15 });
    const names = (await readdir(bad.folder)).filter((n) => /^[0-9a-f]{40}$/.test(n));
    const victim = names[0];
    const bytes = await readFile(join(bad.folder, victim));
    bytes[bytes.length - 1] ^= 0xff;
    await writeFile(join(bad.folder, victim), bytes);

    const status = await refused(['publish', bad.folder]);
    expect(status.errors).toEqual(expect.arrayContaining([expect.objectContaining({
      code: 'RESOURCE_DIGEST_MISMATCH', location: expect.objectContaining({ key: keys.staged('space', status.upload, victim) }), expected: expect.stringContaining(victim),
    })]));
    expect(await stack.store.head(keys.resource('space', victim))).toBeUndefined();
    expect(await stack.store.head(keys.quarantine('space', status.upload, victim))).toBeDefined();
    const reason = await stack.store.get(keys.quarantineReason('space', status.upload, victim));
    expect(JSON.parse(Buffer.from(reason!.body).toString()).errors[0].code).toBe('RESOURCE_DIGEST_MISMATCH');
  });

  it('refuses a manifest built from another project, naming both identifiers', async () => {
    const other = await writeContent(stack, 'other', { ...good, seed: 12, projectTitle: 'Other Game' });
    const status = await refused(['publish', other.zip]);
    expect(status.errors[0]).toMatchObject({ code: 'MANIFEST_PROJECT_MISMATCH', expected: expect.stringContaining('Space Game') });
    expect(await keysUnder(stack.store, `quarantine/space/${status.upload}/`)).toEqual(
      expect.arrayContaining([keys.quarantine('space', status.upload, 'other.zip')]),
    );
  });

  it('refuses content that does not support the configured engine version', async () => {
    const old = await writeContent(stack, 'old-engine', { ...good, seed: 13, engineVersions: ['1.8.0'] });
    const status = await refused(['publish', old.zip]);
    expect(status.errors.map((e) => e.code)).toEqual(['MANIFEST_ENGINE_UNSUPPORTED']);
    expect(status.errors[0].message).toContain('1.9.0');
  });

  it('refuses a manifest signed with another key', async () => {
    const forged = await writeContent(stack, 'forged', { ...good, seed: 14, privateKey: otherKey.privateKey });
    const status = await refused(['publish', forged.zip]);
    expect(status.errors.map((e) => e.code)).toEqual(['SIGNATURE_INVALID']);
  });

  it('refuses an unsigned manifest when the game has a key', async () => {
    const unsigned = await writeContent(stack, 'unsigned', { projectTitle: 'Space Game', engineVersions: ['1.9.0'], seed: 15 });
    const status = await refused(['publish', unsigned.zip]);
    expect(status.errors.map((e) => e.code)).toEqual(['SIGNATURE_MISSING']);
  });

  it('refuses an unknown channel before anything is released', async () => {
    const v2 = await writeContent(stack, 'v2', { ...good, seed: 16 });
    const result = await lup(stack, ['publish', v2.zip, '--game', 'space', '--channel', 'nightly', '--json']);
    expect(result.code).toBe(1);
    const status = await statusOf(stack, 'space', JSON.parse(result.out).upload);
    expect(status!.errors.map((e) => e.code)).toEqual(['CHANNEL_UNKNOWN']);
    expect(await pointerOf(stack, 'space', 'nightly')).toBeUndefined();
  });

  it('refuses a release request for a channel only operators may move (a leaked publisher key)', async () => {
    const v2 = await writeContent(stack, 'v2-live', { ...good, seed: 18 });
    const result = await lup(stack, ['publish', v2.zip, '--game', 'space', '--channel', 'live', '--json']);
    expect(result.code).toBe(1);
    const status = await statusOf(stack, 'space', JSON.parse(result.out).upload);
    expect(status!.errors).toEqual([expect.objectContaining({ code: 'CHANNEL_NOT_PUBLISHABLE', actual: 'live' })]);
    expect(await pointerOf(stack, 'space', 'live')).toBeUndefined();
  });

  it('refuses locally, storing nothing, when --no-check is not given (the archive is checked while it uploads; its last bytes wait)', async () => {
    const other = await writeContent(stack, 'other-local', { ...good, seed: 17, resourceCount: 5 });
    const bytes = await readFile(other.zip);
    await writeFile(other.zip, bytes.subarray(0, bytes.length - 100));
    const before = await keysUnder(stack.store, 'staging/');
    const result = await lup(stack, ['publish', other.zip, '--game', 'space', '--channel', 'stable']);
    expect(result.code).toBe(1);
    expect(result.err).toContain('refused: 1 problem(s) found by the local check while uploading (the upload was stopped before its last bytes: nothing was stored)');
    expect(result.err).toContain('ARCHIVE_UNREADABLE');
    expect(await keysUnder(stack.store, 'staging/')).toEqual(before);
  });
});
