/**
 * Which principal a command needs (issue 11, item 6): the publisher key may not list `channels/`
 * or `releases/`, so `lup status` / `lup releases` run with it (as from CI) must say that they need
 * the operator role or key, and which credentials they were given, not a bare AccessDenied.
 * Against `lup local`, AWS_ACCESS_KEY_ID set to one of its documented keys signs with that key.
 */
import { principalError } from '../../lib/cli/operator-support';
import { runCli } from '../../lib/cli/run';
import { LOCAL_PUBLISHER_CREDENTIALS } from '../../lib/local/request-auth';
import { captureIo } from '../helpers/cli-run';
import { FIXTURE_ZIPS, startPublishedStack, type PublishedStack } from '../helpers/published-stack';

let published: PublishedStack;
beforeAll(async () => {
  published = await startPublishedStack();
  await published.publishArchive({ game: 'space', upload: 'build-1', channel: 'stable', zip: FIXTURE_ZIPS.v162 });
});
afterAll(async () => {
  await published?.close();
});

/** Run `lup` against the stack with the publisher key in the environment, as a CI job has it. */
async function asPublisher(args: readonly string[]): Promise<{ code: number; out: string; err: string }> {
  const io = { ...captureIo(published.dir), env: { AWS_ACCESS_KEY_ID: LOCAL_PUBLISHER_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: LOCAL_PUBLISHER_CREDENTIALS.secretAccessKey } };
  const code = await runCli([...args, ...published.targetArgs], io);
  return { code, out: io.out(), err: io.err() };
}

describe('a command run with the wrong principal', () => {
  for (const command of [['status', '--game', 'space'], ['releases', '--game', 'space']]) {
    test(`lup ${command[0]} with the publisher key names the operator role and key it needs, and the key it was given`, async () => {
      const run = await asPublisher(command);
      expect(run.code).toBe(1);
      const [first] = run.err.split('\n');
      expect(first).toMatch(/^ACCESS_DENIED: /);
      expect(first).toContain('operator role');
      expect(first).toContain('LUPLOCALOPERATOR');
      expect(first).toContain('the local publisher key (LUPLOCALPUBLISHER)');
    });
  }

  test('--json carries the same error', async () => {
    const run = await asPublisher(['status', '--game', 'space', '--json']);
    expect(run.code).toBe(1);
    expect(JSON.parse(run.out)).toMatchObject({ ok: false, error: { code: 'ACCESS_DENIED', actual: 'the local publisher key (LUPLOCALPUBLISHER)' } });
  });

  test('the publisher key may still read its own upload\'s status', async () => {
    const run = await asPublisher(['status', '--game', 'space', '--upload', 'build-1']);
    expect(run.code).toBe(0);
  });
});

describe(principalError, () => {
  test('names the AWS principal S3 refused, and the operator role needed', () => {
    const denied = Object.assign(new Error('User: arn:aws:iam::123456789012:user/Lup-studio-PublisherUser is not authorized to perform: s3:ListBucket on resource: "arn:aws:s3:::studio-content" because no identity-based policy allows the s3:ListBucket action'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
    const error = principalError(denied);
    expect(error.code).toBe('ACCESS_DENIED');
    expect(error.actual).toBe('arn:aws:iam::123456789012:user/Lup-studio-PublisherUser');
    expect(error.message).toContain('operator role');
    expect(error.message).toContain('arn:aws:iam::123456789012:user/Lup-studio-PublisherUser');
  });
});
