/**
 * The console's JSON API on a real local stack: the token and Host checks, ETag polling, the
 * uploads' error text, actions through the control path, and the read-only modes.
 */
import { request as httpRequest } from 'node:http';
import { openTarget, type Target } from '../../lib/cli/target';
import { CONSOLE_ACTIONS, findAction } from '../../lib/console/console-actions';
import { startConsoleServer, TOKEN_COOKIE, TOKEN_HEADER, type ConsoleServer } from '../../lib/console/console-server';
import { keys } from '../../lib/core/keys';
import { captureIo, lup } from '../helpers/cli-run';
import { FIXTURE_ZIPS, startPublishedStack, type PublishedStack } from '../helpers/published-stack';

let published: PublishedStack;
let target: Target;
let server: ConsoleServer;

beforeAll(async () => {
  published = await startPublishedStack();
  await published.publishArchive({ game: 'space', upload: 'build-1', channel: 'stable', zip: FIXTURE_ZIPS.v162 });
  await published.publishArchive({ game: 'space', upload: 'build-2', channel: 'stable', zip: FIXTURE_ZIPS.v1112 });
  await published.publishArchive({ game: 'space', upload: 'build-b', channel: 'beta', zip: FIXTURE_ZIPS.v1112 });
  await published.stack.store.put(keys.releaseRequest('space', 'build-3'), JSON.stringify({
    schemaVersion: 1, game: 'space', upload: 'build-3', channel: 'stable', kind: 'archives',
    archives: [{ name: 'levels.zip', sha256: 'ab'.repeat(32), sizeBytes: 10, priority: 0 }], requestedAt: new Date().toISOString(),
  }));
  await published.stack.router.idle();
  target = await openTarget({ endpoint: published.stack.s3Endpoint, cdn: published.stack.cdnBaseUrl }, captureIo(published.dir));
  server = await startConsoleServer({ backend: target, port: 0, token: 'test-token' });
}, 120_000);

afterAll(async () => {
  await server?.close();
  await target?.close();
  await published?.close();
});

interface Answer { status: number; headers: Record<string, string | string[] | undefined>; body: string; json(): any }

/** A raw HTTP request, so tests control the Host header (fetch may not set it). */
function call(path: string, options: { method?: string; headers?: Record<string, string>; body?: unknown; to?: ConsoleServer } = {}): Promise<Answer> {
  const to = options.to ?? server;
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const req = httpRequest({
      host: '127.0.0.1', port: to.port, path, method: options.method ?? 'GET',
      headers: { host: `127.0.0.1:${to.port}`, ...(body ? { 'content-type': 'application/json' } : {}), ...options.headers },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, json: () => JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const withToken = (token = server.token): Record<string, string> => ({ [TOKEN_HEADER]: token });

describe('the console API', () => {
  test('refuses a request without the token, with a wrong one, or with the token only in a cookie on a POST', async () => {
    expect((await call('/api/games')).status).toBe(403);
    expect((await call('/api/games')).json().error.code).toBe('CONSOLE_TOKEN_REQUIRED');
    expect((await call('/api/games', { headers: withToken('test-tokem') })).status).toBe(403);
    expect((await call('/static/app.js')).status).toBe(403);
    const post = await call('/api/actions/rollback/run', { method: 'POST', headers: { cookie: `${TOKEN_COOKIE}=test-token` }, body: { game: 'space', channel: 'stable' } });
    expect(post.status).toBe(403);
    const pointer = await published.stack.store.get(keys.pointer('space', 'stable'));
    expect(JSON.parse(Buffer.from(pointer!.body).toString('utf8'))).toMatchObject({ releaseId: 'build-2', sequence: 2 });
  });

  test('refuses another Host (DNS rebinding) and another Origin, even with the token', async () => {
    const rebound = await call('/api/games', { headers: { ...withToken(), host: `evil.example:${server.port}` } });
    expect(rebound.status).toBe(403);
    expect(rebound.json().error.code).toBe('CONSOLE_HOST_REFUSED');
    const foreign = await call('/api/games', { headers: { ...withToken(), origin: 'http://evil.example' } });
    expect(foreign.json().error.code).toBe('CONSOLE_ORIGIN_REFUSED');
  });

  test('the URL token sets a strict HttpOnly cookie that later GETs may use; the page carries no third-party script', async () => {
    const first = await call('/?token=test-token');
    expect(first.status).toBe(200);
    expect(first.headers['set-cookie']).toEqual([`${TOKEN_COOKIE}=test-token; Path=/; HttpOnly; SameSite=Strict`]);
    expect(first.headers['content-security-policy']).toContain("script-src 'self'");
    expect(first.body).not.toMatch(/<script[^>]+src="http/);
    expect((await call('/api/games', { headers: { cookie: `${TOKEN_COOKIE}=test-token` } })).json()).toEqual({ games: ['space'] });
  });

  test('lists channels with the live release; a poll with the same ETag gets 304, a flip a new tag', async () => {
    const first = await call('/api/games/space/channels', { headers: withToken() });
    expect(first.status).toBe(200);
    expect(first.json().channels.find((c: { channel: string }) => c.channel === 'stable')).toMatchObject({
      releaseId: 'build-2', sequence: 2, cause: 'release', archiveCount: 1, kind: 'archives', resourceCount: 0, sizeBytes: expect.any(Number),
      engineVersions: expect.arrayContaining([expect.stringMatching(/^[0-9a-f]{40}$/)]),
    });
    const tag = first.headers.etag as string;
    const again = await call('/api/games/space/channels', { headers: { ...withToken(), 'if-none-match': tag } });
    expect(again.status).toBe(304);
    expect(again.body).toBe('');
    await published.lup(['promote', '--game', 'space', '--from', 'stable', '--to', 'candidate', '--create-channel']);
    const changed = await call('/api/games/space/channels', { headers: { ...withToken(), 'if-none-match': tag } });
    expect(changed.status).toBe(200);
    expect(changed.headers.etag).not.toBe(tag);
  });

  test("lists uploads newest first; a refused one's errors carry the text lup status prints", async () => {
    const { uploads } = (await call('/api/games/space/uploads', { headers: withToken() })).json();
    expect(uploads[0]).toMatchObject({ upload: 'build-3', state: 'refused', errorCount: 1 });
    const [error] = uploads[0].errors;
    expect(error).toMatchObject({ code: 'RELEASE_INCOMPLETE', location: { key: 'staging/space/build-3/levels.zip' }, expected: expect.any(String), actual: expect.any(String) });
    const status = await lup(['status', '--game', 'space', '--upload', 'build-3', ...published.targetArgs], published.dir);
    expect(status.stderr).toBe(`1 error(s):\n${error.text}\n`);
  });

  test('previews and runs a rollback through the control path; history shows it; the release record is linked', async () => {
    const preview = await call('/api/actions/rollback/preview', { method: 'POST', headers: withToken(), body: { game: 'space', channel: 'stable' } });
    expect(preview.json().summary).toBe('Channel stable of game space will serve release build-1 instead of build-2 (sequence 2 → 3). Players get it on their next pointer fetch.');
    const run = await call('/api/actions/rollback/run', { method: 'POST', headers: withToken(), body: { game: 'space', channel: 'stable' } });
    expect(run.status).toBe(200);
    expect(run.json()).toMatchObject({ action: 'rollback', channel: 'stable', releaseId: 'build-1', sequence: 3, applied: true });
    const history = (await call('/api/games/space/channels/stable/history', { headers: withToken() })).json();
    expect(history.flips.map((f: { sequence: number; cause: string; releaseId: string }) => `${f.sequence} ${f.cause} ${f.releaseId}`)).toEqual(['3 rollback build-1', '2 release build-2', '1 release build-1']);
    expect((await call('/api/games/space/releases/build-1', { headers: withToken() })).json()).toMatchObject({ releaseId: 'build-1', upload: 'build-1' });
  });

  test('answers a refused action with the pipeline error, and a bad request naming the field', async () => {
    const refused = await call('/api/actions/rollback/run', { method: 'POST', headers: withToken(), body: { game: 'space', channel: 'beta' } });
    expect(refused.status).toBe(409);
    expect(refused.json().error).toMatchObject({ code: 'RELEASE_NOT_FOUND' });
    const bad = await call('/api/actions/promote/run', { method: 'POST', headers: withToken(), body: { game: 'space', from: 'beta', to: 'Bad/Channel' } });
    expect(bad.status).toBe(400);
    expect(bad.json().error).toMatchObject({ code: 'USAGE_INVALID', location: { field: 'to' } });
    expect(() => findAction('rollout-widen')).toThrow(expect.objectContaining({ code: 'USAGE_INVALID' }));
  });

  test('read-only: offers no actions, says why, and refuses an action', async () => {
    const readOnly = await startConsoleServer({ backend: target, port: 0, readOnlyReason: 'No --control-function.' });
    try {
      const meta = (await call('/api/meta', { to: readOnly, headers: withToken(readOnly.token) })).json();
      expect(meta).toMatchObject({ access: { channels: true, actions: false, reason: 'No --control-function.' }, actions: [] });
      const run = await call('/api/actions/rollback/run', { to: readOnly, method: 'POST', headers: withToken(readOnly.token), body: { game: 'space', channel: 'stable' } });
      expect(run.status).toBe(403);
      expect(run.json().error.code).toBe('CONSOLE_READ_ONLY');
    } finally {
      await readOnly.close();
    }
  });

  test('with publisher credentials: uploads only, read-only, and says so', async () => {
    const publisherTarget = await openTarget({ endpoint: published.stack.s3Endpoint }, captureIo(published.dir), 'publisher');
    const publisher = await startConsoleServer({ backend: publisherTarget, port: 0 });
    try {
      expect(publisher.access).toMatchObject({ channels: false, actions: false, reason: expect.stringContaining('publisher credentials') });
      const h = withToken(publisher.token);
      expect((await call('/api/games', { to: publisher, headers: h })).json()).toEqual({ games: ['space'] });
      expect((await call('/api/games/space/uploads', { to: publisher, headers: h })).json().uploads.length).toBeGreaterThan(0);
      expect((await call('/api/games/space/channels', { to: publisher, headers: h })).json()).toMatchObject({ channels: [], unavailable: expect.any(String) });
    } finally {
      await publisher.close();
      await publisherTarget.close();
    }
  });
});

describe('lup console', () => {
  test('refuses a non-loopback --host, naming the flag', async () => {
    const run = await lup(['console', '--host', '0.0.0.0', '--endpoint', published.stack.s3Endpoint], published.dir);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatchInlineSnapshot(`
"error: --host "0.0.0.0" is not a loopback address: the console can move channel pointers, so it listens on this machine only (127.0.0.1, ::1 or localhost).
"
`);
  });
});

describe('the rollout actions', () => {
  test('send the control request of lup rollout, with the share typed as a percent', () => {
    expect(CONSOLE_ACTIONS.map((a) => a.name)).toEqual(['rollback', 'promote', 'rollout-set', 'rollout-halt', 'rollout-abort', 'rollout-complete']);
    expect(findAction('rollout-set').request({ game: 'space', channel: 'stable', percent: '12.5' }, 'req-1'))
      .toEqual({ action: 'rollout', op: 'set', game: 'space', channel: 'stable', requestId: 'req-1', share: 1250 });
    expect(findAction('rollout-halt').request({ game: 'space', channel: 'stable' }, 'req-2')).toEqual({ action: 'rollout', op: 'halt', game: 'space', channel: 'stable', requestId: 'req-2' });
    expect(findAction('rollout-complete').request({ game: 'space', channel: 'stable', force: 'hotfix' }, 'req-3'))
      .toEqual({ action: 'rollout', op: 'complete', game: 'space', channel: 'stable', requestId: 'req-3', force: 'hotfix' });
    expect(() => findAction('rollout-set').request({ game: 'space', channel: 'stable', percent: '150' }, 'req-4')).toThrow(expect.objectContaining({ code: 'USAGE_INVALID', location: { field: 'percent' } }));
  });
});
