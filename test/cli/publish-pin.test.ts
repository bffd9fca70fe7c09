/**
 * Development mode pins a game to the Defold project of its first release (issue 11, item 1):
 * `lup publish` reads the pin before it sends a byte, so content from another project is refused
 * at once rather than after every resource was uploaded. A counting proxy in front of the local
 * S3 endpoint counts the PUTs (and multipart POSTs) to staging.
 */
import { createHash } from 'node:crypto';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createContent } from '../../lib/factory/content-factory';
import { writeZip } from '../../lib/factory/write-content';
import { lup } from '../helpers/cli-run';
import { FIXTURE_ZIPS, startPublishedStack, type PublishedStack } from '../helpers/published-stack';
import { FIXTURE_PROJECT_TITLE } from '../helpers/real-fixtures';

const sha1 = (text: string): string => createHash('sha1').update(text, 'utf8').digest('hex');

let published: PublishedStack;
let proxy: Server;
let proxyEndpoint: string;
const stagingWrites: string[] = [];

beforeAll(async () => {
  published = await startPublishedStack();
  // The game's first release pins the fixture's project.
  await published.publishArchive({ game: 'space', upload: 'build-1', channel: 'stable', zip: FIXTURE_ZIPS.v162 });
  const gate = new URL(published.stack.s3Endpoint);
  proxy = createServer((req, res) => {
    if ((req.method === 'PUT' || req.method === 'POST') && (req.url ?? '').includes('/staging/')) stagingWrites.push(`${req.method} ${req.url}`);
    const upstream = httpRequest({ host: gate.hostname, port: gate.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  proxyEndpoint = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => proxy?.close(resolve));
  await published?.close();
});

describe('lup publish in development mode', () => {
  test('refuses content from another project before sending a byte, naming the game and both projects', async () => {
    const zip = join(published.dir, 'other.zip');
    await writeZip(createContent({ seed: 3, resourceCount: 300, projectTitle: 'Other Game' }), zip);
    stagingWrites.length = 0;
    const run = await lup(['publish', zip, '--game', 'space', '--channel', 'stable', '--endpoint', proxyEndpoint, '--json'], published.dir);
    expect(run.code).toBe(1);
    expect(stagingWrites).toEqual([]);
    const result = JSON.parse(run.stdout) as { state: string; phase: string; errors: { code: string; message: string; expected: string; actual: string }[] };
    expect(result).toMatchObject({ state: 'refused', phase: 'pin-check' });
    expect(result.errors).toHaveLength(1);
    const [error] = result.errors;
    expect(error.code).toBe('PINNED_PROJECT_MISMATCH');
    expect(error.message).toContain('"space"');
    expect(error.message).toContain(sha1(FIXTURE_PROJECT_TITLE));
    expect(error.message).toContain(sha1('Other Game'));
    expect(error.actual).toBe(sha1('Other Game'));
  });

  test('the text output says nothing was sent', async () => {
    const zip = join(published.dir, 'other-text.zip');
    await writeZip(createContent({ seed: 4, resourceCount: 5, projectTitle: 'Other Game' }), zip);
    stagingWrites.length = 0;
    const run = await lup(['publish', zip, '--game', 'space', '--channel', 'stable', '--endpoint', proxyEndpoint], published.dir);
    expect(run.code).toBe(1);
    expect(stagingWrites).toEqual([]);
    expect(run.stderr).toContain('nothing was sent');
    expect(run.stderr).toContain('PINNED_PROJECT_MISMATCH');
  });

  test('--no-check skips the local check but not the pin check, and --help says so', async () => {
    const zip = join(published.dir, 'other-no-check.zip');
    await writeZip(createContent({ seed: 5, resourceCount: 5, projectTitle: 'Other Game' }), zip);
    stagingWrites.length = 0;
    const run = await lup(['publish', zip, '--game', 'space', '--channel', 'stable', '--endpoint', proxyEndpoint, '--no-check', '--json'], published.dir);
    expect(run.code).toBe(1);
    expect(stagingWrites).toEqual([]);
    expect(JSON.parse(run.stdout)).toMatchObject({ state: 'refused', phase: 'pin-check', errors: [{ code: 'PINNED_PROJECT_MISMATCH' }] });
    const help = (await lup(['publish', '--help'], published.dir)).stdout.replace(/\s+/g, ' ');
    expect(help).toMatch(/--no-check +skip the local check of the content .*the development-mode pin is still checked/);
  });

  test('publishes content of the pinned project, and a new game, through the same proxy (it counts what is sent)', async () => {
    const zip = join(published.dir, 'moon.zip');
    await writeZip(createContent({ seed: 5, resourceCount: 5, projectTitle: 'Moon Game' }), zip);
    stagingWrites.length = 0;
    const fresh = await lup(['publish', zip, '--game', 'moon', '--channel', 'stable', '--endpoint', proxyEndpoint, '--json'], published.dir);
    expect(fresh.code).toBe(0);
    expect(stagingWrites.length).toBeGreaterThan(0);
    const same = await lup(['publish', FIXTURE_ZIPS.v1112, '--game', 'space', '--channel', 'stable', '--endpoint', proxyEndpoint, '--json'], published.dir);
    expect(same.code).toBe(0);
  });
});
