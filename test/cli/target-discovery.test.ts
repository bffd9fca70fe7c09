/**
 * `--endpoint` names one stack, CDN included (issue 11, item 1): `lup verify` and `lup publish`
 * against a `lup local` on non-default ports use that stack's CDN, never the default port's, and
 * refuse without `--cdn` when the endpoint cannot say where its CDN is.
 */
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { listen } from '../../lib/local/listen';
import { lup } from '../helpers/cli-run';
import { startTestStack, type TestStack } from '../helpers/pipeline-stack';

const SAMPLE = join(__dirname, '..', '..', 'examples', 'sample-game', 'v1', 'sample.zip');

describe('a target given by --endpoint alone', () => {
  let stack: TestStack;
  beforeAll(async () => { stack = await startTestStack(); });
  afterAll(async () => { await stack.close(); });

  it('publishes and prints the pointer URL of that stack\'s CDN', async () => {
    const run = await lup(['publish', SAMPLE, '--game', 'sample', '--channel', 'stable', '--endpoint', stack.s3Endpoint, '--json'], stack.dir);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).pointerUrl).toBe(`${stack.cdnBaseUrl}channels/sample/stable.json`);
  });

  it('verifies through that stack\'s CDN', async () => {
    const run = await lup(['verify', '--game', 'sample', '--channel', 'stable', '--endpoint', stack.s3Endpoint, '--json'], stack.dir);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ ok: true, cdnBaseUrl: stack.cdnBaseUrl, releaseId: expect.any(String) });
  });

  it('fails verify for a game that stack does not have', async () => {
    const run = await lup(['verify', '--game', 'nosuch', '--channel', 'stable', '--endpoint', stack.s3Endpoint, '--json'], stack.dir);
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({ ok: false, cdnBaseUrl: stack.cdnBaseUrl });
  });

  it('refuses verify without --cdn when the endpoint is not a lup local', async () => {
    const other: Server = createServer((_req, res) => { res.writeHead(404); res.end(); });
    const port = await listen(other, 0, '127.0.0.1');
    try {
      const run = await lup(['verify', '--game', 'sample', '--channel', 'stable', '--endpoint', `http://127.0.0.1:${port}`], stack.dir);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(`error: --cdn is required: http://127.0.0.1:${port} did not say where its CDN is`);
    } finally {
      other.close();
    }
  });

  it('names the missing scheme of --endpoint localhost:4569', async () => {
    const run = await lup(['status', '--game', 'sample', '--endpoint', 'localhost:4569'], stack.dir);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe('error: --endpoint "localhost:4569" is not an http:// or https:// URL, nor "aws"; did you mean --endpoint http://localhost:4569?\n');
  });

  it('names the missing scheme of --endpoint 127.0.0.1:4569 on publish too, before sending anything', async () => {
    const run = await lup(['publish', SAMPLE, '--game', 'sample', '--channel', 'stable', '--endpoint', '127.0.0.1:4569'], stack.dir);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe('error: --endpoint "127.0.0.1:4569" is not an http:// or https:// URL, nor "aws"; did you mean --endpoint http://127.0.0.1:4569?\n');
  });
});
