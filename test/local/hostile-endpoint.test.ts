/**
 * The local S3 endpoint from a hostile point of view (issue 9, item 6), against a real `lup local`
 * process: path tricks that reach outside the data folder or onto another game's key, unsigned and
 * mis-signed writes, a web page's form POST, a DNS-rebinding Host, the publisher key beyond the
 * publisher's grants, and the real clients (aws-cli, rclone) that must keep working.
 */
import { spawn, spawnSync } from 'node:child_process';
import { startLupLocal, stopLupLocal, type LupLocalProcess } from '../helpers/lup-process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DOCUMENTED_OPERATOR, DOCUMENTED_PUBLISHER, s3Request } from '../helpers/sigv4-request';

const BUCKET = 'lup-local';

/** Every file below `dir`, relative. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1));
}

let dir: string;
let local: LupLocalProcess;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lup-hostile-'));
  local = await startLupLocal(join(dir, 'data'));
}, 30_000);
afterAll(async () => {
  await stopLupLocal(local);
  await rm(dir, { recursive: true, force: true });
});

const operatorGet = (key: string) => s3Request(local.s3, `/${BUCKET}/${key}`, { sign: DOCUMENTED_OPERATOR });

describe('lup local refuses hostile requests', () => {
  test.each([
    ['a ".." walk out of the data folder', 'staging/../../../../escape-a'],
    ['a ".." walk with encoded dots', 'staging/%2e%2e/%2E%2E/%2e%2e/%2e%2e/escape-b'],
    ['a ".." walk with an encoded slash', 'staging/..%2F..%2F..%2F..%2Fescape-c'],
    ['a "." segment', 'staging/./alpha/u1/escape-d'],
    ['an empty segment', 'staging//alpha/u1/escape-e'],
    ['a NUL', 'staging/alpha/u1/escape-f%00.zip'],
  ])('refuses %s, signed or not, and writes nothing', async (_, path) => {
    for (const sign of [undefined, DOCUMENTED_PUBLISHER, DOCUMENTED_OPERATOR]) {
      const answer = await s3Request(local.s3, `/${BUCKET}/${path}`, { method: 'PUT', body: 'x', sign });
      expect(answer.status).toBeGreaterThanOrEqual(400);
    }
    expect((await filesUnder(dir)).filter((f) => f.includes('escape'))).toEqual([]);
  });

  test('refuses a key that aliases another game\'s key, and the aliased key stays absent', async () => {
    const alias = `/${BUCKET}/staging/alpha/u1/../../bravo/u2/x.zip`;
    expect(await s3Request(local.s3, alias, { method: 'PUT', body: 'zip' })).toMatchObject({ status: 400, code: 'InvalidArgument' });
    expect(await s3Request(local.s3, alias, { method: 'PUT', body: 'zip', sign: DOCUMENTED_PUBLISHER })).toMatchObject({ status: 400, code: 'InvalidArgument' });
    expect(await operatorGet('staging/bravo/u2/x.zip')).toMatchObject({ status: 404 });
  });

  test('refuses an unsigned PUT of a channel pointer; the local CDN keeps serving none', async () => {
    const answer = await s3Request(local.s3, `/${BUCKET}/channels/bravo/stable.json`, { method: 'PUT', body: '{"hacked":true}', headers: { 'content-type': 'application/json' } });
    expect(answer).toMatchObject({ status: 403, code: 'AccessDenied' });
    expect((await fetch(`${local.cdn}channels/bravo/stable.json`)).status).toBe(404);
  });

  test('refuses a web page\'s form POST (no preflight needed) and a CORS preflight', async () => {
    const boundary = 'xyzzy';
    const form = [`--${boundary}`, 'Content-Disposition: form-data; name="key"', '', 'staging/alpha/u1/form.zip', `--${boundary}`,
      'Content-Disposition: form-data; name="file"; filename="form.zip"', 'Content-Type: application/zip', '', 'PK', `--${boundary}--`, ''].join('\r\n');
    const post = await s3Request(local.s3, `/${BUCKET}`, { method: 'POST', body: form, headers: { origin: 'http://evil.example', 'content-type': `multipart/form-data; boundary=${boundary}` } });
    expect(post).toMatchObject({ status: 403 });
    const noOrigin = await s3Request(local.s3, `/${BUCKET}`, { method: 'POST', body: form, headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } });
    expect(noOrigin).toMatchObject({ status: 403 });
    const urlencoded = await s3Request(local.s3, `/${BUCKET}/staging/alpha/u1/form2.zip?uploads`, { method: 'POST', body: 'a=b', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(urlencoded).toMatchObject({ status: 403 });
    const preflight = await s3Request(local.s3, `/${BUCKET}/staging/alpha/u1/x`, { method: 'OPTIONS', headers: { origin: 'http://evil.example', 'access-control-request-method': 'PUT' } });
    expect(preflight.status).toBe(403);
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
    expect((await filesUnder(dir)).filter((f) => f.includes('form'))).toEqual([]);
    expect(await operatorGet('staging/alpha/u1/form.zip')).toMatchObject({ status: 404 });
  });

  test('refuses a signature made with another secret or an unknown key (s3rver\'s own S3RVER key included)', async () => {
    const key = `/${BUCKET}/staging/alpha/u1/wrong-secret.zip`;
    expect(await s3Request(local.s3, key, { method: 'PUT', body: 'x', sign: { accessKeyId: DOCUMENTED_PUBLISHER.accessKeyId, secretAccessKey: 'guess' } }))
      .toMatchObject({ status: 403, code: 'SignatureDoesNotMatch' });
    expect(await s3Request(local.s3, key, { method: 'PUT', body: 'x', sign: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } }))
      .toMatchObject({ status: 403, code: 'InvalidAccessKeyId' });
    expect(await operatorGet('staging/alpha/u1/wrong-secret.zip')).toMatchObject({ status: 404 });
  });

  test('refuses a Host it does not serve (DNS rebinding), signed with a valid key', async () => {
    const key = `/${BUCKET}/staging/alpha/u1/rebinding.zip`;
    expect(await s3Request(local.s3, key, { method: 'PUT', body: 'x', sign: DOCUMENTED_PUBLISHER, host: `evil.example:${new URL(local.s3).port}` })).toMatchObject({ status: 403 });
    expect(await s3Request(local.s3, key, { method: 'PUT', body: 'x', sign: DOCUMENTED_PUBLISHER, host: `localhost:${new URL(local.s3).port}` })).toMatchObject({ status: 200 });
  });

  test('accepts a presigned URL within its validity and refuses an expired one or a skewed clock', async () => {
    const key = `/${BUCKET}/staging/alpha/u1/presigned.zip`;
    expect(await s3Request(local.s3, key, { method: 'PUT', body: 'p', sign: DOCUMENTED_PUBLISHER, presignSeconds: 60 })).toMatchObject({ status: 200 });
    const anHourAgo = new Date(Date.now() - 3_600_000);
    expect(await s3Request(local.s3, key, { method: 'PUT', body: 'p', sign: DOCUMENTED_PUBLISHER, presignSeconds: 60, signingDate: anHourAgo })).toMatchObject({ status: 403, code: 'AccessDenied' });
    expect(await s3Request(local.s3, key, { method: 'PUT', body: 'p', sign: DOCUMENTED_PUBLISHER, signingDate: anHourAgo })).toMatchObject({ status: 403, code: 'RequestTimeTooSkewed' });
  });
});

describe('lup local gives the publisher key the publisher user\'s grants', () => {
  const as = (method: string, path: string, query?: Record<string, string>) =>
    s3Request(local.s3, `/${BUCKET}/${path}`, { method, query, body: method === 'PUT' ? 'x' : undefined, sign: DOCUMENTED_PUBLISHER });

  test('may stage under staging/<game>/, read status/, list content/ and status/', async () => {
    expect(await as('PUT', 'staging/alpha/u1/ok.txt')).toMatchObject({ status: 200 });
    // Allowed, just absent (u1's status may exist by now: the archive step refuses the zip staged above).
    expect((await as('GET', 'status/alpha/no-such-upload.json')).status).toBe(404);
    expect(await s3Request(local.s3, `/${BUCKET}`, { query: { 'list-type': '2', prefix: 'content/alpha/' }, sign: DOCUMENTED_PUBLISHER })).toMatchObject({ status: 200 });
    expect(await s3Request(local.s3, `/${BUCKET}`, { query: { 'list-type': '2', prefix: 'status/alpha/' }, sign: DOCUMENTED_PUBLISHER })).toMatchObject({ status: 200 });
  });

  test.each([
    ['PUT', 'channels/bravo/stable.json'],
    ['PUT', 'content/bravo/resources/00'],
    ['PUT', 'releases/bravo/r1.json'],
    ['PUT', 'state/bravo/_game/pin.json'],
    ['PUT', 'status/bravo/u1.json'],
    ['PUT', 'staging/loose-file-without-game'],
    ['GET', 'staging/alpha/u1/ok.txt'],
    ['GET', 'content/alpha/resources/00'],
    ['GET', 'releases/alpha/r1.json'],
    ['DELETE', 'staging/alpha/u1/ok.txt'],
    ['DELETE', 'channels/bravo/stable.json'],
  ])('refuses %s %s', async (method, path) => {
    expect(await as(method, path)).toMatchObject({ status: 403, code: 'AccessDenied' });
  });

  test('refuses listings outside content/ and status/', async () => {
    for (const prefix of ['', 'channels/', 'staging/alpha/', 'releases/']) {
      expect(await s3Request(local.s3, `/${BUCKET}`, { query: { 'list-type': '2', prefix }, sign: DOCUMENTED_PUBLISHER })).toMatchObject({ status: 403 });
    }
  });

  test('the operator key reaches everything, as the control function does on AWS', async () => {
    expect(await operatorGet('staging/alpha/u1/ok.txt')).toMatchObject({ status: 200, body: 'x' });
  });
});

describe('lup local --host', () => {
  test('binds loopback by default and warns when asked to listen beyond it', async () => {
    expect(local.s3).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const wide = await startLupLocal(join(dir, 'wide'), ['--host', '0.0.0.0']);
    try {
      expect(wide.s3).toMatch(/^http:\/\/0\.0\.0\.0:\d+$/);
      expect(wide.stderr()).toContain('warning: --host 0.0.0.0 exposes the local S3 endpoint');
    } finally {
      await stopLupLocal(wide);
    }
  }, 30_000);
});

const AWS_CLI = existsSync('/usr/bin/aws') ? '/usr/bin/aws' : 'aws';
const hasAws = spawnSync(AWS_CLI, ['--version']).status === 0;
const hasRclone = spawnSync('rclone', ['version']).status === 0;

function cliEnv(keyPair: typeof DOCUMENTED_PUBLISHER): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    AWS_ACCESS_KEY_ID: keyPair.accessKeyId,
    AWS_SECRET_ACCESS_KEY: keyPair.secretAccessKey,
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_CONFIG_FILE: join(dir, 'aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(dir, 'no-credentials'),
    AWS_PAGER: '',
    RCLONE_CONFIG_LUP_TYPE: 's3',
    RCLONE_CONFIG_LUP_PROVIDER: 'Other',
    RCLONE_CONFIG_LUP_ENDPOINT: local.s3,
    RCLONE_CONFIG_LUP_ACCESS_KEY_ID: keyPair.accessKeyId,
    RCLONE_CONFIG_LUP_SECRET_ACCESS_KEY: keyPair.secretAccessKey,
    RCLONE_CONFIG_LUP_FORCE_PATH_STYLE: 'true',
    RCLONE_CONFIG_LUP_REGION: 'us-east-1',
  };
  delete env.AWS_CA_BUNDLE;
  delete env.AWS_PROFILE;
  return env;
}

function runTool(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env });
    let out = '';
    child.stdout.on('data', (c) => { out += c; });
    child.stderr.on('data', (c) => { out += c; });
    child.once('exit', (code) => resolve({ code, out }));
  });
}

describe('real S3 clients with the documented publisher key', () => {
  const big = () => join(dir, 'big.bin');
  beforeAll(async () => {
    await writeFile(join(dir, 'aws-config'), '[default]\nregion = us-east-1\ns3 =\n  addressing_style = path\n');
    await writeFile(join(dir, 'small.bin'), 'small');
    await writeFile(big(), Buffer.alloc(20 * 1024 * 1024, 7)); // above aws-cli's 8 MiB multipart threshold
  });

  (hasAws ? test : test.skip)('aws-cli stages a small and a multipart object, and is refused a channel pointer', async () => {
    const env = cliEnv(DOCUMENTED_PUBLISHER);
    const small = await runTool(AWS_CLI, ['s3', 'cp', join(dir, 'small.bin'), `s3://${BUCKET}/staging/alpha/aws/small.bin`, '--endpoint-url', local.s3], env);
    expect(small).toMatchObject({ code: 0 });
    const multipart = await runTool(AWS_CLI, ['s3', 'cp', big(), `s3://${BUCKET}/staging/alpha/aws/big.bin`, '--endpoint-url', local.s3], env);
    expect(multipart).toMatchObject({ code: 0 });
    const pointer = await runTool(AWS_CLI, ['s3', 'cp', join(dir, 'small.bin'), `s3://${BUCKET}/channels/bravo/stable.json`, '--endpoint-url', local.s3], env);
    expect(pointer.code).not.toBe(0);
    expect(pointer.out).toContain('AccessDenied');
    const stored = await operatorGet('staging/alpha/aws/big.bin');
    expect(stored.status).toBe(200);
    expect(Number(stored.headers['content-length'])).toBe(20 * 1024 * 1024);
  }, 60_000);

  (hasRclone ? test : test.skip)('rclone stages a small and a multipart object (write-only flags, as with the AWS publisher)', async () => {
    const env = cliEnv(DOCUMENTED_PUBLISHER);
    // The publisher may not read staging/ nor create buckets, on AWS or locally: tell rclone not to look.
    const flags = ['--s3-no-check-bucket', '--s3-no-head', '--no-check-dest', '--s3-upload-cutoff', '5M', '--s3-chunk-size', '5M'];
    const small = await runTool('rclone', ['copyto', join(dir, 'small.bin'), `lup:${BUCKET}/staging/alpha/rclone/small.bin`, ...flags], env);
    expect(small).toMatchObject({ code: 0 });
    const multipart = await runTool('rclone', ['copyto', big(), `lup:${BUCKET}/staging/alpha/rclone/big.bin`, ...flags], env);
    expect(multipart).toMatchObject({ code: 0 });
    const stored = await operatorGet('staging/alpha/rclone/big.bin');
    expect(stored.status).toBe(200);
    expect(Number(stored.headers['content-length'])).toBe(20 * 1024 * 1024);
  }, 60_000);
});
