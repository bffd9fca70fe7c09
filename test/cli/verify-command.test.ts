/**
 * `lup verify` against the real local stack: content published through the pipeline, downloaded
 * back through the local CDN over real HTTP, then tampered with behind the pipeline's back.
 */
import { verifyChannel } from '../../lib/client/verify-channel';
import { keys } from '../../lib/core/keys';
import type { ChannelPointer } from '../../lib/core/documents/pointer';
import { runCli } from '../../lib/cli/run';
import { captureIo } from '../helpers/cli-run';
import { FIXTURE_ZIPS, normalise, startPublishedStack, type PublishedStack } from '../helpers/published-stack';

let published: PublishedStack;
let archivePointer: ChannelPointer;
beforeAll(async () => {
  published = await startPublishedStack();
  archivePointer = await published.publishArchive({ game: 'space', upload: 'build-1', channel: 'stable', zip: FIXTURE_ZIPS.v1112 });
  await published.publishLoose({ game: 'old-space', upload: 'build-1', channel: 'stable', zip: FIXTURE_ZIPS.legacy });
});
afterAll(async () => {
  await published?.close();
});

/** Output without the byte counts, which depend on the length of the stack's URLs inside the pointer. */
function withoutByteCounts(text: string): string {
  return text.replace(/\d+ bytes( \([\d.]+ \w+\))?/g, '<n> bytes');
}

/** Replace one byte of a stored object, keeping its size: what a bad actor or a broken tool would do. */
async function flipByte(key: string, offset?: number): Promise<void> {
  const object = await published.stack.store.get(key);
  if (!object) throw new Error(`no ${key}`);
  const bytes = Buffer.from(object.body);
  const at = offset ?? Math.floor(bytes.length / 2);
  bytes[at] ^= 0xff;
  await published.stack.store.put(key, bytes);
}

describe('lup verify', () => {
  test('passes on a published zip release', async () => {
    const run = await published.lup(['verify', '--game', 'space', '--channel', 'stable']);
    expect(run.code).toBe(0);
    expect(run.err).toBe('');
    expect(withoutByteCounts(normalise(run.out, published))).toMatchInlineSnapshot(`
"Channel stable of game space, as served by http://cdn/
  pointer:  http://cdn/channels/space/stable.json
  release:  build-1 (sequence 1, archives)
  checked:  4 object(s), <n> bytes downloaded
OK: every object is served with the digest, size and cache headers the pointer promises.
"
`);
  });

  test('reports the release and what it downloaded with --json', async () => {
    const run = await published.lup(['verify', '--game', 'space', '--channel', 'stable', '--json']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.out)).toEqual({
      ok: true, game: 'space', channel: 'stable', cdnBaseUrl: published.stack.cdnBaseUrl,
      pointerUrl: `${published.stack.cdnBaseUrl}channels/space/stable.json`,
      releaseId: 'build-1', sequence: 1, kind: 'archives', objectsChecked: 4,
      bytesDownloaded: expect.any(Number), retries: 0, mismatches: [],
    });
    expect(JSON.parse(run.out).bytesDownloaded).toBeGreaterThan(archivePointer.archives[0].sizeBytes);
  });

  test('passes on a loose release, downloading every EXCLUDED resource', async () => {
    const resources = await published.stack.store.list(keys.resourcesPrefix('old-space'));
    const run = await published.lup(['verify', '--game', 'old-space', '--channel', 'stable', '--json']);
    expect(run.code).toBe(0);
    // pointer + manifest + stable manifest + one GET per resource
    expect(JSON.parse(run.out)).toMatchObject({ ok: true, kind: 'loose', objectsChecked: 3 + resources.length, mismatches: [] });
    expect(resources.length).toBeGreaterThan(0);
  });

  test('fails naming the URL when a loose resource was changed behind the pipeline', async () => {
    await published.publishLoose({ game: 'tampered-loose', upload: 'build-1', channel: 'stable', zip: FIXTURE_ZIPS.legacy });
    const [victim] = await published.stack.store.list(keys.resourcesPrefix('tampered-loose'));
    await flipByte(victim.key);
    const run = await published.lup(['verify', '--game', 'tampered-loose', '--channel', 'stable', '--json']);
    expect(run.code).toBe(1);
    const report = JSON.parse(run.out);
    expect(report.ok).toBe(false);
    expect(report.mismatches).toEqual([
      expect.objectContaining({
        code: 'VERIFY_MISMATCH',
        location: { key: victim.key },
        message: expect.stringContaining(`${published.stack.cdnBaseUrl}${victim.key} fails RESOURCE_DIGEST_MISMATCH`),
        expected: expect.stringContaining(victim.key.split('/').pop() as string),
      }),
    ]);
  });

  test('fails naming the URL, the expected and the actual SHA-256 when an archive was changed', async () => {
    const pointer = await published.publishArchive({ game: 'tampered-zip', upload: 'build-1', channel: 'stable', zip: FIXTURE_ZIPS.v1112 });
    const archive = pointer.archives[0];
    await flipByte(archive.path, 100);
    const run = await published.lup(['verify', '--game', 'tampered-zip', '--channel', 'stable']);
    expect(run.code).toBe(1);
    const err = normalise(run.err, published)
      .replace(/SHA-256 [0-9a-f]{64}/g, (m) => (m.includes(archive.sha256) ? 'SHA-256 <published>' : 'SHA-256 <tampered>'))
      .split(archive.sha256).join('<sha256>');
    // The digest of the whole archive, then what reading it found.
    expect(err).toMatchInlineSnapshot(`
"VERIFY_MISMATCH: http://cdn/content/tampered-zip/archives/<sha256>.zip: the archive game.zip does not have the SHA-256 the pointer says: its bytes were changed after the pipeline verified them.
  at s3 key content/tampered-zip/archives/<sha256>.zip, field sha256
  expected: SHA-256 <published>
  actual:   SHA-256 <tampered>
VERIFY_MISMATCH: http://cdn/content/tampered-zip/archives/<sha256>.zip fails ARCHIVE_ENTRY_CORRUPT: Entry c17808b15f8985f65f44e720d0353ca8aa13dbe3 is corrupt: its data does not match the central directory; rebuild or re-upload the archive.
  at s3 key content/tampered-zip/archives/<sha256>.zip, entry c17808b15f8985f65f44e720d0353ca8aa13dbe3, field entries[0]
  expected: CRC-32 0f8253a3 (declared)
  actual:   CRC-32 2441d5f1
"
`);
    expect(normalise(run.out, published)).toContain('FAILED:');
  });

  test('fails naming the URL when an archive was deleted', async () => {
    const pointer = await published.publishArchive({ game: 'deleted-zip', upload: 'build-1', channel: 'stable', zip: FIXTURE_ZIPS.v162 });
    await published.stack.store.delete(pointer.archives[0].path);
    const run = await published.lup(['verify', '--game', 'deleted-zip', '--channel', 'stable']);
    expect(run.code).toBe(1);
    expect(normalise(run.err, published).split(pointer.archives[0].sha256).join('<sha256>')).toMatchInlineSnapshot(`
"VERIFY_MISMATCH: http://cdn/content/deleted-zip/archives/<sha256>.zip: the archive game.zip is missing: the pointer references an object the CDN does not serve; roll the channel back (lup rollback --game deleted-zip --channel stable) or publish again.
  at s3 key content/deleted-zip/archives/<sha256>.zip
  expected: HTTP 200
  actual:   HTTP 404 (missing)
"
`);
    expect(withoutByteCounts(normalise(run.out, published))).toMatchInlineSnapshot(`
"Channel stable of game deleted-zip, as served by http://cdn/
  pointer:  http://cdn/channels/deleted-zip/stable.json
  release:  build-1 (sequence 1, archives)
  checked:  4 object(s), <n> bytes downloaded
FAILED: 1 mismatch(es); players of this channel may get content the pipeline did not verify.
  Roll back with \`lup rollback --game deleted-zip --channel stable\`, or publish the release again.
"
`);
  });

  test('fails when the stable manifest beside the pointer differs from the manifest', async () => {
    await published.publishLoose({ game: 'stale-stable', upload: 'build-1', channel: 'stable', zip: FIXTURE_ZIPS.legacy });
    await flipByte(keys.stableManifest('stale-stable', 'stable'), 0);
    const run = await published.lup(['verify', '--game', 'stale-stable', '--channel', 'stable', '--json']);
    expect(run.code).toBe(1);
    expect(JSON.parse(run.out).mismatches).toEqual([
      expect.objectContaining({ code: 'VERIFY_MISMATCH', location: { key: 'channels/stale-stable/stable.dmanifest', field: 'sha256' } }),
    ]);
  });

  test('fails when the channel has no pointer, and says how to find the channels', async () => {
    const run = await published.lup(['verify', '--game', 'space', '--channel', 'beta']);
    expect(run.code).toBe(1);
    expect(normalise(run.err, published)).toMatchInlineSnapshot(`
"VERIFY_MISMATCH: http://cdn/channels/space/beta.json: the channel pointer is missing: nothing was released to channel "beta" of game "space", or a name is misspelled; list the channels with \`lup status --game space\`.
  at s3 key channels/space/beta.json
  expected: HTTP 200
  actual:   HTTP 404 (missing)
"
`);
  });

  test('exits 2 naming the flag when --game is missing', async () => {
    const run = await published.lup(['verify', '--channel', 'stable']);
    expect(run.code).toBe(2);
    expect(run.err).toMatchInlineSnapshot(`
"error: required option '--game <id>' not specified
(run with --help for usage)
"
`);
  });

  test('exits 2 naming the flag, the value and the rule for a bad --concurrency', async () => {
    const run = await published.lup(['verify', '--game', 'space', '--channel', 'stable', '--concurrency', '0']);
    expect(run.code).toBe(2);
    expect(run.err).toMatchInlineSnapshot(`
"error: --concurrency "0" is not a whole number from 1 to 256, for example --concurrency 16.
"
`);
  });

  test('draws a progress line on a terminal, and none with --json', async () => {
    const args = ['verify', '--game', 'old-space', '--channel', 'stable', ...published.targetArgs];
    const terminal = { ...captureIo(published.dir), isTTY: true };
    let err = '';
    expect(await runCli(args, { ...terminal, stderr: (t) => { err += t; } })).toBe(0);
    expect(err).toContain('verifying ');
    expect(err).toMatch(/\d+\/\d+ objects/);
    let jsonErr = '';
    expect(await runCli([...args, '--json'], { ...terminal, stderr: (t) => { jsonErr += t; } })).toBe(0);
    expect(jsonErr).toBe('');
  });

  test('--help explains the checks and gives examples', async () => {
    const run = await published.lup(['verify', '--help']);
    expect(run.code).toBe(0);
    expect(run.out).toContain('--cdn <url>');
    expect(run.out).toContain('Examples:\n  $ lup verify --game space-game --channel stable');
  });
});

describe(verifyChannel, () => {
  /** The real fetch, with one response changed. */
  function fetchChanging(path: string, change: (response: Response) => Promise<Response>): typeof fetch {
    return async (input, init) => {
      const response = await fetch(input, init);
      return String(input).endsWith(path) ? change(response) : response;
    };
  }

  test('reports content served with another Cache-Control than the policy', async () => {
    const manifestPath = archivePointer.manifest.path;
    const report = await verifyChannel({
      cdnBaseUrl: published.stack.cdnBaseUrl, game: 'space', channel: 'stable',
      fetch: fetchChanging(manifestPath, async (r) => new Response(await r.arrayBuffer(), { status: 200, headers: { 'Cache-Control': 'max-age=60' } })),
    });
    expect(report.ok).toBe(false);
    expect(report.mismatches.map((m) => m.toJSON())).toEqual([{
      code: 'VERIFY_MISMATCH', location: { key: manifestPath, field: 'Cache-Control' },
      expected: 'Cache-Control: public, max-age=31536000, immutable', actual: 'Cache-Control: max-age=60',
      message: expect.stringContaining(`${published.stack.cdnBaseUrl}${manifestPath}: the manifest is served with another Cache-Control`),
    }]);
  });

  test('reports every field of a pointer that is not what the pipeline writes', async () => {
    const report = await verifyChannel({
      cdnBaseUrl: published.stack.cdnBaseUrl, game: 'space', channel: 'stable',
      fetch: fetchChanging(keys.pointer('space', 'stable'), async (r) => {
        const pointer = (await r.json()) as Record<string, unknown>;
        const changed = { ...pointer, sequence: 0, manifest: { ...(pointer.manifest as object), path: 'content/other-game/manifests/x.dmanifest' } };
        return new Response(JSON.stringify(changed), { status: 200, headers: { 'Cache-Control': r.headers.get('cache-control') ?? '' } });
      }),
    });
    expect(report.ok).toBe(false);
    expect(report.objectsChecked).toBe(1);
    expect(report.mismatches.map((m) => m.location?.field)).toEqual(['sequence', 'manifest.path', 'history[0]']);
    expect(report.mismatches[1].toJSON()).toMatchObject({ expected: archivePointer.manifest.path, actual: '"content/other-game/manifests/x.dmanifest"' });
  });

  test("resolves paths against the CDN it is given, not the pointer's url fields", async () => {
    const report = await verifyChannel({
      cdnBaseUrl: published.stack.cdnBaseUrl, game: 'space', channel: 'stable',
      fetch: fetchChanging(keys.pointer('space', 'stable'), async (r) => {
        const text = (await r.text()).split(published.stack.cdnBaseUrl).join('https://cdn.elsewhere.invalid/');
        return new Response(text, { status: 200, headers: { 'Cache-Control': r.headers.get('cache-control') ?? '' } });
      }),
    });
    expect(report.mismatches).toEqual([]);
    expect(report.objectsChecked).toBe(4);
  });

  test('reports progress for every object, ending at the total', async () => {
    const events: { checkedObjects: number; totalObjects: number }[] = [];
    const report = await verifyChannel({
      cdnBaseUrl: published.stack.cdnBaseUrl, game: 'old-space', channel: 'stable', concurrency: 2,
      onProgress: (e) => events.push({ checkedObjects: e.checkedObjects, totalObjects: e.totalObjects }),
    });
    expect(report.ok).toBe(true);
    expect(events.map((e) => e.checkedObjects)).toEqual(Array.from({ length: report.objectsChecked }, (_, i) => i + 1));
    expect(events[events.length - 1]).toEqual({ checkedObjects: report.objectsChecked, totalObjects: report.objectsChecked });
  });
});
