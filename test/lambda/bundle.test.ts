/**
 * The deployed artifact, not its sources: the archive handler bundled with the stack's esbuild
 * options, loaded with require as Lambda loads it, handling an S3 event against the local S3 server.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { hashHex } from '../../lib/core/format/digest';
import { keys } from '../../lib/core/keys';
import { HANDLER_BUNDLING } from '../../lib/constructs/handler-bundling';
import { createContent } from '../../lib/factory/content-factory';
import { zipContent } from '../../lib/factory/write-content';
import { startLocalStack, type LocalStack } from '../../lib/local/local-stack';
import { LAMBDA_ENDPOINT_OVERRIDES, LAMBDA_ENV } from '../../lambda/environment';
import { studioConfigEnv } from '../helpers/studio-config-env';

describe('the bundled archive handler', () => {
  let dir: string;
  let stack: LocalStack;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lup-bundle-'));
    stack = await startLocalStack({ dataDir: join(dir, 'data'), handlers: {} });
  });
  afterAll(async () => {
    await stack.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('verifies an archive from an S3 event', async () => {
    const outfile = join(dir, 'archive', 'index.js');
    await build({
      entryPoints: [join(__dirname, '..', '..', 'lambda', 'archive-arrived.ts')], outfile,
      bundle: true, platform: 'node', format: 'cjs', target: `node${process.versions.node.split('.')[0]}`,
      minify: HANDLER_BUNDLING.minify, mainFields: [...HANDLER_BUNDLING.mainFields], logLevel: 'silent',
    });
    const env = {
      ...process.env,
      [LAMBDA_ENV.bucketName]: stack.bucket,
      ...studioConfigEnv(dir, { games: [{ id: 'space', projectTitle: 'Factory Game' }] }),
      [LAMBDA_ENV.cdnBaseUrl]: 'https://d111.cloudfront.net/',
      [LAMBDA_ENV.distributionId]: 'E2EXAMPLE',
      [LAMBDA_ENDPOINT_OVERRIDES.s3Endpoint]: stack.s3Endpoint,
      AWS_ACCESS_KEY_ID: stack.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: stack.credentials.secretAccessKey,
      AWS_REGION: 'us-east-1',
    };
    const zip = await zipContent(createContent({ seed: 9, resourceCount: 6 }));
    const key = keys.staged('space', 'u1', 'game.zip');
    await stack.store.put(key, zip);
    // A separate Node process, as Lambda runs it (jest's module sandbox lacks dynamic import()).
    const event = { Records: [{ eventName: 'ObjectCreated:Put', s3: { bucket: { name: stack.bucket }, object: { key } } }] };
    const script = `require(${JSON.stringify(outfile)}).handler(${JSON.stringify(event)}).then(() => process.exit(0), (e) => { console.error(e); process.exit(1); })`;
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ['-e', script], { env });
      let err = '';
      child.stderr.on('data', (c) => { err += c; });
      child.on('exit', (c) => resolve({ code: c, stderr: err }));
    });
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    // Verified into the private area (content/ only once a release serves it), staging emptied.
    expect(await stack.store.head(keys.verifiedArchive('space', hashHex('sha256', zip)))).toBeDefined();
    expect(await stack.store.head(keys.archive('space', hashHex('sha256', zip)))).toBeUndefined();
    expect(await stack.store.head(key)).toBeUndefined();
  });
});
