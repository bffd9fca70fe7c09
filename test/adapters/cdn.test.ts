import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CloudFrontClient } from '@aws-sdk/client-cloudfront';
import { CloudFrontInvalidator, RecordingInvalidator } from '../../lib/adapters/cdn';

/** A fake CloudFront answering CreateInvalidation from a queue of canned responses. */
class FakeCloudFront {
  readonly requests: { path: string; body: string }[] = [];
  private queue: { status: number; code?: string }[] = [];
  private server?: Server;
  endpoint = '';

  respond(...answers: { status: number; code?: string }[]): void {
    this.queue = answers;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        this.requests.push({ path: req.url ?? '', body });
        const answer = this.queue.shift() ?? { status: 201 };
        const xml =
          answer.status === 201
            ? `<?xml version="1.0"?><Invalidation xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/"><Id>I${this.requests.length}</Id><Status>InProgress</Status><CreateTime>2026-01-01T00:00:00Z</CreateTime></Invalidation>`
            : `<?xml version="1.0"?><ErrorResponse xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/"><Error><Type>Sender</Type><Code>${answer.code}</Code><Message>canned ${answer.code}</Message></Error><RequestId>r</RequestId></ErrorResponse>`;
        res.writeHead(answer.status, { 'Content-Type': 'text/xml', 'Content-Length': Buffer.byteLength(xml) });
        res.end(xml);
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.endpoint = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

const fake = new FakeCloudFront();
let client: CloudFrontClient;
const delays: number[] = [];

function invalidator(maxAttempts?: number): CloudFrontInvalidator {
  return new CloudFrontInvalidator({
    client,
    distributionId: 'E2EXAMPLE123',
    maxAttempts,
    sleep: async (ms) => void delays.push(ms),
  });
}

beforeAll(async () => {
  await fake.start();
  // The SDK's own retries are off so each canned answer maps to one attempt of ours.
  client = new CloudFrontClient({
    endpoint: fake.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AK', secretAccessKey: 'SK' },
    maxAttempts: 1,
  });
});
afterAll(async () => {
  client.destroy();
  await fake.stop();
});
beforeEach(() => {
  fake.requests.length = 0;
  delays.length = 0;
});

describe(CloudFrontInvalidator, () => {
  test('sends one CreateInvalidation with the paths and the caller reference', async () => {
    fake.respond({ status: 201 });
    await invalidator().invalidate(['/channels/g1/stable.json', '/channels/g1/stable.dmanifest'], 'g1-stable-42');
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0].path).toBe('/2020-05-31/distribution/E2EXAMPLE123/invalidation');
    expect(fake.requests[0].body).toContain('<CallerReference>g1-stable-42</CallerReference>');
    expect(fake.requests[0].body).toContain('<Quantity>2</Quantity>');
    expect(fake.requests[0].body).toContain('<Path>/channels/g1/stable.json</Path>');
  });

  test('retries throttling, too many invalidations and 5xx, then succeeds', async () => {
    fake.respond({ status: 400, code: 'Throttling' }, { status: 400, code: 'TooManyInvalidationsInProgress' }, { status: 503, code: 'ServiceUnavailable' }, { status: 201 });
    await invalidator().invalidate(['/channels/g1/stable.json'], 'ref-1');
    expect(fake.requests).toHaveLength(4);
    expect(delays).toHaveLength(3);
    expect(delays.every((d, i) => d >= 0 && d <= 500 * 2 ** i)).toBe(true);
  });

  test('gives up after maxAttempts with CDN_INVALIDATION_FAILED carrying the last SDK error', async () => {
    fake.respond(...Array.from({ length: 5 }, () => ({ status: 400, code: 'Throttling' })));
    const error = await invalidator(3).invalidate(['/channels/g1/stable.json'], 'ref-2').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'CDN_INVALIDATION_FAILED', actual: expect.stringMatching(/^Throttling: /) });
    expect((error as Error).cause).toMatchObject({ name: 'Throttling' });
    expect(fake.requests).toHaveLength(3);
  });

  test('does not retry a refusal that will not change, and never swallows it', async () => {
    fake.respond({ status: 403, code: 'AccessDenied' });
    await expect(invalidator().invalidate(['/channels/g1/stable.json'], 'ref-3')).rejects.toMatchObject({
      code: 'CDN_INVALIDATION_FAILED',
      message: expect.stringContaining('E2EXAMPLE123'),
    });
    expect(fake.requests).toHaveLength(1);
  });

  test('refuses paths without a leading slash before calling CloudFront', async () => {
    await expect(invalidator().invalidate(['channels/g1/stable.json'], 'ref-4')).rejects.toMatchObject({ code: 'CDN_INVALIDATION_FAILED' });
    expect(fake.requests).toHaveLength(0);
  });

  test('reports every problem with its props at once', () => {
    expect(() => new CloudFrontInvalidator({ client, distributionId: 'not an id', maxAttempts: 0 })).toThrow(/distributionId.*maxAttempts/);
  });
});

describe(RecordingInvalidator, () => {
  test('records every call with its paths, caller reference and time', async () => {
    const at = new Date('2026-03-01T12:00:00Z');
    const recording = new RecordingInvalidator({ clock: { now: () => at } });
    await recording.invalidate(['/channels/g1/stable.json'], 'a');
    await recording.invalidate(['/channels/g1/beta.json'], 'b');
    expect(recording.calls).toEqual([
      { paths: ['/channels/g1/stable.json'], callerReference: 'a', at, failed: false },
      { paths: ['/channels/g1/beta.json'], callerReference: 'b', at, failed: false },
    ]);
    expect(recording.invalidatedPaths).toEqual(['/channels/g1/stable.json', '/channels/g1/beta.json']);
  });

  test('failNext(n) makes exactly the next n calls fail loudly, and records them', async () => {
    const recording = new RecordingInvalidator();
    recording.failNext(2);
    await expect(recording.invalidate(['/x'], 'r1')).rejects.toMatchObject({ code: 'CDN_INVALIDATION_FAILED' });
    await expect(recording.invalidate(['/x'], 'r2')).rejects.toMatchObject({ code: 'CDN_INVALIDATION_FAILED' });
    await expect(recording.invalidate(['/x'], 'r3')).resolves.toBeUndefined();
    expect(recording.calls.map((c) => [c.callerReference, c.failed])).toEqual([
      ['r1', true],
      ['r2', true],
      ['r3', false],
    ]);
    expect(recording.invalidatedPaths).toEqual(['/x']);
  });
});
