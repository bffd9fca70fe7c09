/**
 * A loose folder without its manifest (issue 11, item 3): `lup publish` and `lup validate` agree on
 * the code and the exit status, and the message names the folder and every manifest name accepted.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lup } from '../helpers/cli-run';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lup-no-manifest-'));
  // A resource named by a hex digest, as bob writes them, but no manifest beside it.
  await writeFile(join(dir, 'a'.repeat(40)), 'payload');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('a folder without a manifest', () => {
  test('publish and validate both refuse it with ARCHIVE_NO_MANIFEST and exit 1', async () => {
    const validate = await lup(['validate', dir, '--json']);
    const publish = await lup(['publish', dir, '--game', 'space', '--channel', 'stable', '--json']);
    expect([validate.code, publish.code]).toEqual([1, 1]);
    const validateError = (JSON.parse(validate.stdout) as { inputs: { errors: { code: string; message: string }[] }[] }).inputs[0].errors[0];
    const publishError = (JSON.parse(publish.stdout) as { errors: { code: string; message: string }[] }).errors[0];
    expect(validateError.code).toBe('ARCHIVE_NO_MANIFEST');
    expect(publishError.code).toBe('ARCHIVE_NO_MANIFEST');
  });

  test('the message names the folder and each manifest file name accepted', async () => {
    const publish = await lup(['publish', dir, '--game', 'space', '--channel', 'stable']);
    const validate = await lup(['validate', dir]);
    for (const text of [publish.stderr, validate.stdout]) {
      expect(text).toContain(dir);
      expect(text).toContain('liveupdate.game.dmanifest');
      // game.dmanifest on its own, not only as the end of liveupdate.game.dmanifest.
      expect(text).toMatch(/(^|[^.\w])game\.dmanifest/);
      expect(text).toContain('ARCHIVE_NO_MANIFEST');
    }
    expect(publish.stderr).toContain('nothing was sent');
  });

  test('publish accepts game.dmanifest as the one manifest of a folder (the local check reads it)', async () => {
    await writeFile(join(dir, 'game.dmanifest'), 'not a manifest');
    const publish = await lup(['publish', dir, '--game', 'space', '--channel', 'stable', '--json']);
    expect(publish.code).toBe(1);
    expect((JSON.parse(publish.stdout) as { errors: { code: string }[] }).errors[0].code).toBe('MANIFEST_UNREADABLE');
  });
});
