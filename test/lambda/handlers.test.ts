/**
 * The deployed handler entries, run as Lambda runs them: an S3 notification event in, the pipeline
 * against a real S3 endpoint (the local server, through LUP_S3_ENDPOINT), configuration from the
 * environment the CDK stack sets. Keys arrive URL-encoded, as in real S3 events.
 */
import { hashHex } from '../../lib/core/format/digest';
import { keys } from '../../lib/core/keys';
import { createContent } from '../../lib/factory/content-factory';
import { zipContent } from '../../lib/factory/write-content';
import { startLocalStack, type LocalStack } from '../../lib/local/local-stack';
import { LAMBDA_ENDPOINT_OVERRIDES, LAMBDA_ENV } from '../../lambda/environment';
import { studioConfigEnv } from '../helpers/studio-config-env';
import { decodeEventKey, type S3Event } from '../../lambda/s3-event';
import { resetPipelineContext } from '../../lambda/runtime';
import { handler as archiveArrived } from '../../lambda/archive-arrived';
import { handler as releaseRequested } from '../../lambda/release-requested';
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** An S3 event notification (structure version 2.1) as Lambda receives it. */
function event(bucket: string, key: string, eventName = 'ObjectCreated:Put'): S3Event {
  return {
    Records: [{
      eventVersion: '2.1', eventSource: 'aws:s3', awsRegion: 'us-east-1', eventTime: new Date().toISOString(), eventName,
      userIdentity: { principalId: 'AWS:AIDAEXAMPLE' }, requestParameters: { sourceIPAddress: '127.0.0.1' },
      responseElements: { 'x-amz-request-id': 'EXAMPLE', 'x-amz-id-2': 'EXAMPLE' },
      s3: {
        s3SchemaVersion: '1.0', configurationId: 'lup',
        bucket: { name: bucket, ownerIdentity: { principalId: 'EXAMPLE' }, arn: `arn:aws:s3:::${bucket}` },
        object: { key: encodeURIComponent(key).replace(/%2F/g, '/').replace(/%20/g, '+'), size: 0, eTag: 'd41d8cd98f00b204e9800998ecf8427e', sequencer: '0055AED6DCD90281E5' },
      },
    }],
  };
}

describe('Lambda handler entries', () => {
  let stack: LocalStack;
  let dir: string;
  const saved = { ...process.env };
  // A stand-in for the CloudFront API on loopback: records CreateInvalidation calls, answers as AWS does.
  const invalidations: { url: string; body: string }[] = [];
  let cloudFront: Server;

  beforeAll(async () => {
    cloudFront = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => {
        invalidations.push({ url: req.url ?? '', body });
        res.writeHead(201, { 'content-type': 'text/xml', location: 'https://cloudfront.amazonaws.com/inv/I1' });
        res.end('<?xml version="1.0"?><Invalidation xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/"><Id>I1</Id><Status>InProgress</Status><CreateTime>2026-11-27T00:00:00Z</CreateTime></Invalidation>');
      });
    });
    await new Promise<void>((resolve) => cloudFront.listen(0, '127.0.0.1', resolve));
    const address = cloudFront.address() as { port: number };
    dir = await mkdtemp(join(tmpdir(), 'lup-lambda-'));
    // No handlers: the test invokes the Lambda entries itself, as S3 notifications would.
    stack = await startLocalStack({ dataDir: dir, handlers: {} });
    Object.assign(process.env, {
      [LAMBDA_ENV.bucketName]: stack.bucket,
      ...studioConfigEnv(dir, { games: [{ id: 'space', projectTitle: 'Factory Game', channels: ['stable'] }] }),
      [LAMBDA_ENV.cdnBaseUrl]: 'https://d111.cloudfront.net/',
      [LAMBDA_ENV.distributionId]: 'E2EXAMPLE',
      [LAMBDA_ENDPOINT_OVERRIDES.s3Endpoint]: stack.s3Endpoint,
      [LAMBDA_ENDPOINT_OVERRIDES.cloudFrontEndpoint]: `http://127.0.0.1:${address.port}`,
      AWS_ACCESS_KEY_ID: stack.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: stack.credentials.secretAccessKey,
      AWS_REGION: 'us-east-1',
    });
    resetPipelineContext();
  });
  afterAll(async () => {
    process.env = saved;
    resetPipelineContext();
    await stack.stop();
    await new Promise((resolve) => cloudFront.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  it('decodes S3 event keys (URL-encoded, + for spaces)', () => {
    expect(decodeEventKey('staging/space/u1/my+levels%281%29.zip')).toBe('staging/space/u1/my levels(1).zip');
  });

  it('verifies an archive and releases it from S3 events, with the configuration from the environment', async () => {
    const zip = await zipContent(createContent({ seed: 5, resourceCount: 8 }));
    const sha = hashHex('sha256', zip);
    await stack.store.put(keys.staged('space', 'u1', 'game.zip'), zip);
    await stack.store.put(keys.releaseRequest('space', 'u1'), JSON.stringify({
      schemaVersion: 1, game: 'space', upload: 'u1', channel: 'stable', kind: 'archives',
      archives: [{ name: 'game.zip', sha256: sha, sizeBytes: zip.length, priority: 10 }], requestedAt: new Date().toISOString(),
    }));
    await archiveArrived(event(stack.bucket, keys.staged('space', 'u1', 'game.zip')));
    // A removal event is not the pipeline's business.
    await releaseRequested(event(stack.bucket, keys.releaseRequest('space', 'u1'), 'ObjectRemoved:Delete'));
    await releaseRequested(event(stack.bucket, keys.releaseRequest('space', 'u1')));
    const pointer = JSON.parse(Buffer.from((await stack.store.get(keys.pointer('space', 'stable')))!.body).toString());
    expect(pointer).toMatchObject({ releaseId: 'u1', sequence: 1 });
    expect(pointer.archives[0].url).toBe(`https://d111.cloudfront.net/${keys.archive('space', sha)}`);
    // The flip invalidated the pointer's paths on the configured distribution, and nothing else.
    expect(invalidations).toHaveLength(1);
    expect(invalidations[0].url).toBe('/2020-05-31/distribution/E2EXAMPLE/invalidation');
    expect(invalidations[0].body).toContain('<Path>/channels/space/stable.json</Path>');
    expect(invalidations[0].body).toContain('<Path>/channels/space/stable.dmanifest</Path>');
  });

  it('fails the invocation (so Lambda retries) when the configuration is invalid', async () => {
    const good = { ...process.env };
    Object.assign(process.env, studioConfigEnv(dir, { games: [{ id: 'Bad Id', projectTitle: '' }] }, 'bad.json'));
    resetPipelineContext();
    await expect(archiveArrived(event(stack.bucket, keys.staged('space', 'u2', 'game.zip')))).rejects.toThrow(/games\[0\]\.id/);
    process.env = good;
    resetPipelineContext();
  });

  it('refuses a configuration file that is not the one it was deployed with (SHA-256)', async () => {
    const good = { ...process.env };
    const env = studioConfigEnv(dir, { games: [{ id: 'space', projectTitle: 'Factory Game' }] }, 'other.json');
    Object.assign(process.env, env, { [LAMBDA_ENV.studioConfigSha256]: 'a'.repeat(64) });
    resetPipelineContext();
    await expect(archiveArrived(event(stack.bucket, keys.staged('space', 'u3', 'game.zip')))).rejects.toThrow(/other\.json has SHA-256 [0-9a-f]{64}, but this function was deployed with a{64}/);
    process.env = good;
    resetPipelineContext();
  });

  it('reads a 200-game configuration, far over the 4 KB Lambda allows in environment variables', async () => {
    const good = { ...process.env };
    const games = Array.from({ length: 200 }, (_, i) => ({ id: `game-${i}`, projectTitle: `Game ${i}`, channels: ['stable', 'beta'], publicKey: readFileSync(join(__dirname, '..', '..', 'examples', 'keys', 'sample-public.der')).toString('base64') }));
    Object.assign(process.env, studioConfigEnv(dir, { games: [...games, { id: 'space', projectTitle: 'Factory Game', channels: ['stable'] }] }, 'big.json'));
    resetPipelineContext();
    const { pipelineContext } = await import('../../lambda/runtime');
    expect(pipelineContext().config?.games).toHaveLength(201);
    process.env = good;
    resetPipelineContext();
  });
});
