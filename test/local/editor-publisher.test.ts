/**
 * The Defold editor's Amazon publisher against a real `lup local` process: the same requests the
 * editor's AWSPublisher makes (list buckets, read the bucket ACL, one PutObject per entry at
 * `<prefix>/<hexDigest>` with no Content-Type), signed with the local publisher key, for every
 * layout bob has written (docs/defold-format.md, "The Defold editor's Amazon publisher"):
 *
 * - bob ≤ 1.4 (manuals): the manifest at `<prefix>/liveupdate.game.dmanifest`;
 * - bob since the streaming publishers (~1.9.6): the manifest has no digest, so its key is
 *   `<prefix>/null` (Java's `prefix + "/" + null`), raw protobuf behind an empty header;
 * - defensively, a `null` object with a 16-byte resource header in front of the manifest.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetBucketAclCommand, ListBucketsCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { EDITOR_UPLOAD, MANIFEST_NAME } from '../../lib/core/keys';
import { encodeResourceHeader } from '../../lib/core/format/resource-header';
import { createContent } from '../../lib/factory/content-factory';
import { LOCAL_BUCKET } from '../../lib/local/defaults';
import { LOCAL_OPERATOR_CREDENTIALS, LOCAL_PUBLISHER_CREDENTIALS } from '../../lib/local/request-auth';
import { lup } from '../helpers/cli-run';
import { ROOT, startLupLocal, stopLupLocal, type LupLocalProcess } from '../helpers/lup-process';

jest.setTimeout(120_000);

function client(endpoint: string, credentials: { accessKeyId: string; secretAccessKey: string }): S3Client {
  return new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials });
}

/**
 * What the editor's AWSPublisher sends for one build: the bucket checks of its start() (the bucket
 * exists; one ACL grant is WRITE or FULL_CONTROL, else it refuses to upload), then every entry.
 */
async function publishAsEditor(s3: S3Client, prefix: string, objects: readonly { name: string; body: Uint8Array }[]): Promise<void> {
  const buckets = await s3.send(new ListBucketsCommand({}));
  expect((buckets.Buckets ?? []).map((b) => b.Name)).toContain(LOCAL_BUCKET);
  const acl = await s3.send(new GetBucketAclCommand({ Bucket: LOCAL_BUCKET }));
  expect((acl.Grants ?? []).some((g) => g.Permission === 'WRITE' || g.Permission === 'FULL_CONTROL')).toBe(true);
  for (const o of objects) {
    // The editor collapses repeated slashes: `prefix + "/" + hexDigest`.
    const key = `${prefix}/${o.name}`.replace(/\/\/+/g, '/');
    await s3.send(new PutObjectCommand({ Bucket: LOCAL_BUCKET, Key: key, Body: o.body }));
  }
}

interface Pointer { releaseId: string; sequence: number; manifest: { path: string } }

async function waitForPointer(cdn: string, game: string, channel: string, releaseId: string): Promise<Pointer> {
  const deadline = Date.now() + 30_000;
  let last = '';
  while (Date.now() < deadline) {
    const response = await fetch(`${cdn}channels/${game}/${channel}.json`);
    if (response.status === 200) {
      const pointer = (await response.json()) as Pointer;
      if (pointer.releaseId === releaseId) return pointer;
      last = JSON.stringify(pointer);
    } else {
      last = `HTTP ${response.status}`;
      await response.arrayBuffer();
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`channels/${game}/${channel}.json never served release ${releaseId}; last: ${last}`);
}

async function stagedKeys(endpoint: string, game: string): Promise<string[]> {
  const operator = client(endpoint, LOCAL_OPERATOR_CREDENTIALS);
  try {
    const listed = await operator.send(new ListObjectsV2Command({ Bucket: LOCAL_BUCKET, Prefix: `staging/${game}/` }));
    return (listed.Contents ?? []).map((o) => o.Key as string);
  } finally {
    operator.destroy();
  }
}

function editorReleaseIdOf(manifestBytes: Uint8Array): string {
  return `editor-${createHash('sha256').update(manifestBytes).digest('hex').slice(0, 16)}`;
}

describe('the Defold editor publishing to lup local', () => {
  let dir: string;
  let local: LupLocalProcess | undefined;
  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'lup-editor-')); });
  afterEach(async () => {
    await stopLupLocal(local);
    local = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  const layouts = [
    { layout: 'bob ≤ 1.4: <prefix>/liveupdate.game.dmanifest', game: 'old-bob', manifestName: MANIFEST_NAME, withHeader: false },
    { layout: 'bob ≥ 1.9.6: <prefix>/null, raw protobuf', game: 'new-bob', manifestName: 'null', withHeader: false },
    { layout: '<prefix>/null with a 16-byte resource header in front', game: 'headed-bob', manifestName: 'null', withHeader: true },
  ];

  it.each(layouts)('releases a build whose manifest is at $layout to stable (development mode)', async ({ game, manifestName, withHeader }) => {
    local = await startLupLocal(join(dir, 'data'));
    const content = createContent({ seed: 71, resourceCount: 9 });
    const manifestBody = withHeader
      ? Buffer.concat([encodeResourceHeader({ uncompressedSizeBytes: content.manifestBytes.length, flags: 0 }), content.manifestBytes])
      : content.manifestBytes;
    const publisher = client(local.s3, LOCAL_PUBLISHER_CREDENTIALS);
    try {
      // The editor's prefix as the README tells studios to set it, with the trailing slash people type.
      await publishAsEditor(publisher, `staging/${game}/${EDITOR_UPLOAD}/`, [
        ...content.resources.map((r) => ({ name: r.name, body: r.bytes })),
        { name: manifestName, body: manifestBody },
      ]);
    } finally {
      publisher.destroy();
    }
    // The release is named after the manifest the game reads: the raw protobuf, header or not.
    const pointer = await waitForPointer(local.cdn, game, 'stable', editorReleaseIdOf(content.manifestBytes));
    expect(pointer.sequence).toBe(1);
    const manifest = await fetch(`${local.cdn}${pointer.manifest.path}`);
    expect(Buffer.from(await manifest.arrayBuffer()).equals(Buffer.from(content.manifestBytes))).toBe(true);
    expect(await stagedKeys(local.s3, game)).toEqual([]);
  });

  it('releases editor builds to the channel of --editor-channel, leaving stable alone', async () => {
    local = await startLupLocal(join(dir, 'data'), ['--editor-channel', 'dev']);
    const content = createContent({ seed: 72, resourceCount: 6 });
    const publisher = client(local.s3, LOCAL_PUBLISHER_CREDENTIALS);
    try {
      await publishAsEditor(publisher, `staging/space/${EDITOR_UPLOAD}`, [
        { name: 'null', body: content.manifestBytes },
        ...content.resources.map((r) => ({ name: r.name, body: r.bytes })),
      ]);
    } finally {
      publisher.destroy();
    }
    expect((await waitForPointer(local.cdn, 'space', 'dev', editorReleaseIdOf(content.manifestBytes))).sequence).toBe(1);
    const stable = await fetch(`${local.cdn}channels/space/stable.json`);
    expect(stable.status).toBe(404);
  });
});

describe('lup local --editor-channel', () => {
  it('refuses a name that is no channel id, naming the flag (exit 2)', async () => {
    const run = await lup(['local', '--editor-channel', 'Dev Builds', '--s3-port', '0', '--cdn-port', '0']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--editor-channel "Dev Builds" is not a channel name');
  });

  it('refuses to be combined with --config, where autoReleaseChannel decides (exit 2)', async () => {
    const run = await lup(['local', '--editor-channel', 'dev', '--config', join(ROOT, 'examples', 'studio.json'), '--s3-port', '0', '--cdn-port', '0']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("cannot be combined with --config: with a studio configuration, editor uploads go to each game's autoReleaseChannel");
  });

  it('is explained in lup local --help', async () => {
    const run = await lup(['local', '--help']);
    expect(run.stdout).toMatch(/--editor-channel <name>\s+development mode: the channel Defold editor uploads/);
    expect(run.stdout).toContain('Default: stable');
  });
});
