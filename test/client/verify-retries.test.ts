/**
 * `lup verify` behind a CDN with transient errors (issue 11, item 5): one 503 or one dropped
 * connection is retried (bounded, counted), and only a persistent error fails the audit.
 */
import { verifyChannel } from '../../lib/client/verify-channel';
import { FIXTURE_ZIPS, startPublishedStack, type PublishedStack } from '../helpers/published-stack';

let published: PublishedStack;
beforeAll(async () => {
  published = await startPublishedStack();
  await published.publishArchive({ game: 'space', upload: 'build-1', channel: 'stable', zip: FIXTURE_ZIPS.v1112 });
});
afterAll(async () => {
  await published?.close();
});

/** A fetch whose first call for each matching URL fails the given way, then behaves. */
function flaky(match: RegExp, failure: 'http503' | 'drop', times = 1): typeof fetch {
  const failed = new Map<string, number>();
  return async (input, init) => {
    const url = String(input);
    if (match.test(url) && (failed.get(url) ?? 0) < times) {
      failed.set(url, (failed.get(url) ?? 0) + 1);
      if (failure === 'drop') throw new TypeError('fetch failed', { cause: new Error('socket hang up') });
      return new Response('Service Unavailable', { status: 503 });
    }
    return fetch(input, init);
  };
}

describe(verifyChannel, () => {
  const verify = (fetchFn: typeof fetch) =>
    verifyChannel({ cdnBaseUrl: published.stack.cdnBaseUrl, game: 'space', channel: 'stable', fetch: fetchFn, retryDelaysMs: [1, 1, 1] });

  it('passes when the pointer is answered with one 503, and reports the retry', async () => {
    const report = await verify(flaky(/stable\.json$/, 'http503'));
    expect(report).toMatchObject({ ok: true, retries: 1, mismatches: [] });
  });

  it('passes when one archive download drops its connection', async () => {
    const report = await verify(flaky(/\.zip$/, 'drop'));
    expect(report).toMatchObject({ ok: true, retries: 1 });
  });

  it('fails on a persistent 503, after the bounded retries', async () => {
    const report = await verify(flaky(/stable\.json$/, 'http503', 10));
    expect(report.ok).toBe(false);
    expect(report.retries).toBe(3);
    expect(report.mismatches[0]).toMatchObject({ code: 'VERIFY_MISMATCH', actual: 'HTTP 503' });
  });
});
