/**
 * Adversary finding F1 (issue 12 review): an aborted PUT to a staged key leaves s3rver's object half-rewritten under the OLD ETag, so a
 * copy pinned with x-amz-copy-source-if-match on the verified ETag copies unverified bytes to content/.
 */
import { readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { SignatureV4 } from '@smithy/signature-v4';
import { NodeSha256 } from '../../lib/local/request-auth';
import { hashHex } from '../../lib/core/format/digest';
import { lup, pointerOf, startTestStack, writeContent, type TestStack } from '../helpers/pipeline-stack';

const PUBLISHER = { accessKeyId: 'LUPLOCALPUBLISHER', secretAccessKey: 'lup-local-publisher-secret' };

async function abortedPut(endpoint: string, path: string, bytes: Buffer): Promise<void> {
  const url = new URL(endpoint);
  const signer = new SignatureV4({ credentials: PUBLISHER, region: 'us-east-1', service: 's3', sha256: NodeSha256, uriEscapePath: false, applyChecksum: false });
  const signed = await signer.sign({ method: 'PUT', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path,
    headers: { host: url.host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', 'content-length': String(bytes.length + 1) } });
  await new Promise<void>((resolve) => {
    const req = request({ host: url.hostname, port: Number(url.port), method: 'PUT', path, headers: signed.headers });
    req.on('error', () => undefined);
    req.write(bytes);
    setTimeout(() => { req.destroy(); resolve(); }, 500); // all bytes but the last promised one were sent
  });
  await new Promise((r) => setTimeout(r, 300));
}

describe('an aborted PUT between verification and the pinned copy', () => {
  let stack: TestStack;
  beforeEach(async () => { stack = await startTestStack(); });
  afterEach(async () => { await stack.close(); });

  it('cannot make the pipeline serve an archive whose bytes differ from the SHA-256 it verified', async () => {
    const good = await writeContent(stack, 'good', { seed: 1, resourceCount: 10, projectTitle: 'Space Game' });
    const evil = await writeContent(stack, 'evil', { seed: 7, resourceCount: 12, projectTitle: 'Evil' });
    const evilBytes = await readFile(evil.zip);
    const copy = stack.store.copy.bind(stack.store);
    let attacked = false;
    // The attacker (documented publisher key) hits the window between verification and the pinned copy.
    stack.store.copy = async (from, to, options) => {
      if (!attacked && from.startsWith('staging/') && from.endsWith('.zip')) {
        attacked = true;
        await abortedPut(stack.s3Endpoint, `/${stack.bucket}/${from}`, evilBytes);
      }
      return copy(from, to, options);
    };
    const result = await lup(stack, ['publish', good.zip, '--game', 'space', '--channel', 'stable', '--json']);
    expect(attacked).toBe(true);
    expect(result.code).toBe(0);
    const pointer = await pointerOf(stack, 'space', 'stable');
    const served = Buffer.from(await (await fetch(`${stack.cdnBaseUrl}${pointer!.archives[0].path}`)).arrayBuffer());
    // I1: the object under content/ must match its name's digest.
    expect(hashHex('sha256', served)).toBe(pointer!.archives[0].sha256);
  }, 60_000);
});
