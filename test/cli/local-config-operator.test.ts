/**
 * An operator command against a `lup local` started with a studio configuration must apply that
 * configuration's rules. Without `--config` it used to run in development mode: a newcomer's
 * `lup promote --to stabel --create-channel` created a channel the configuration does not have
 * (issue 11 review).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lup } from '../helpers/cli-run';
import { ROOT, startLupLocal, stopLupLocal, type LupLocalProcess } from '../helpers/lup-process';

let dir: string;
let local: LupLocalProcess | undefined;
const studio = join(ROOT, 'examples', 'studio.json');
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lup-local-config-'));
  local = await startLupLocal(join(dir, 'data'), ['--config', studio]);
}, 60_000);
afterAll(async () => {
  await stopLupLocal(local);
  await rm(dir, { recursive: true, force: true });
});

test('without --config an operator command is refused, naming the flag; nothing is created', async () => {
  const promote = await lup(['promote', '--game', 'reszip-demo', '--from', 'stable', '--to', 'stabel', '--create-channel', '--endpoint', local!.s3], dir);
  expect(promote.code).toBe(2);
  expect(promote.stderr).toContain('runs with a studio configuration: pass the same --config <file>');
  const pointer = await fetch(new URL('channels/reszip-demo/stabel.json', local!.cdn));
  await pointer.body?.cancel();
  expect(pointer.status).toBe(404);
  const gc = await lup(['gc', '--game', 'reszip-demo', '--endpoint', local!.s3], dir);
  expect(gc.code).toBe(2);
  expect(gc.stderr).toContain('pass the same --config');
});

test('with the same --config the configuration decides: an unknown channel is refused', async () => {
  const promote = await lup(['promote', '--game', 'reszip-demo', '--from', 'stable', '--to', 'stabel', '--create-channel', '--endpoint', local!.s3, '--config', studio, '--json'], dir);
  expect(promote.code).not.toBe(0);
  expect(promote.code).not.toBe(2);
  const pointer = await fetch(new URL('channels/reszip-demo/stabel.json', local!.cdn));
  await pointer.body?.cancel();
  expect(pointer.status).toBe(404);
});
