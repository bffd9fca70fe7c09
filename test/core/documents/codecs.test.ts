/**
 * The document codecs: one JSON Schema per kind, checked on every read and write. The documents
 * below are written out literally (not built by the code under test).
 */
import { pointerCodec } from '../../../lib/core/documents/pointer';
import { releaseRecordCodec } from '../../../lib/core/documents/release-record';
import { releaseRequestCodec } from '../../../lib/core/documents/release-request';
import { uploadStatusCodec } from '../../../lib/core/documents/upload-status';

const SHA = 'a'.repeat(64);
const POINTER = {
  schemaVersion: 1, game: 'space', channel: 'stable', sequence: 3, releaseId: 'r3', cause: 'release', publishedAt: '2026-12-01T10:00:00.000Z',
  manifest: { path: `content/space/manifests/${SHA}.dmanifest`, url: `https://cdn.example/content/space/manifests/${SHA}.dmanifest`, sha256: SHA, sizeBytes: 1200, schema: 'v5' },
  stableManifest: { path: 'channels/space/stable.dmanifest', url: 'https://cdn.example/channels/space/stable.dmanifest' },
  archives: [{ name: 'levels.zip', priority: 10, path: `content/space/archives/${'b'.repeat(64)}.zip`, url: 'https://cdn.example/x', sha256: 'b'.repeat(64), sizeBytes: 5000 }],
  resourcesBase: { path: 'content/space/resources/', url: 'https://cdn.example/content/space/resources/' },
  engineVersions: ['c'.repeat(40)],
  history: [
    { sequence: 3, releaseId: 'r3', requestId: 'release:space:r3', cause: 'release', at: '2026-12-01T10:00:00.000Z' },
    { sequence: 2, releaseId: 'r2', requestId: 'release:space:r2', cause: 'release', at: '2026-11-30T10:00:00.000Z' },
  ],
};

describe('pointerCodec', () => {
  it('accepts a pointer as the pipeline writes it, and fields it does not know', () => {
    expect(pointerCodec.check(POINTER, {})).toEqual([]);
    expect(pointerCodec.check({ ...POINTER, somethingNew: { a: 1 } }, {})).toEqual([]);
  });

  it('names every field that is wrong, with what was expected', () => {
    const bad = { ...POINTER, sequence: 0, game: 'Space', archives: [{ ...POINTER.archives[0], sha256: 'xyz' }] };
    const errors = pointerCodec.check(bad, { key: 'channels/space/stable.json' });
    expect(errors.map((e) => e.location?.field)).toEqual(expect.arrayContaining(['game', 'sequence', 'archives[0].sha256']));
    expect(errors.every((e) => e.code === 'DOCUMENT_INVALID' && e.location?.key === 'channels/space/stable.json')).toBe(true);
    expect(errors.find((e) => e.location?.field === 'sequence')?.expected).toBe('a positive integer that grows by one on every flip, rollbacks included');
  });

  it('refuses paths that do not follow the bucket layout of the pointer\'s own game', () => {
    const errors = pointerCodec.check({ ...POINTER, manifest: { ...POINTER.manifest, path: `content/other/manifests/${SHA}.dmanifest` } }, {});
    expect(errors.map((e) => e.toJSON())).toEqual([expect.objectContaining({ location: { field: 'manifest.path' }, expected: `content/space/manifests/${SHA}.dmanifest` })]);
  });

  it('refuses a history that does not start with the current flip', () => {
    const errors = pointerCodec.check({ ...POINTER, history: [...POINTER.history].reverse() }, {});
    expect(errors.map((e) => e.location?.field)).toEqual(['history[0]', 'history']);
  });

  it('refuses a pointer larger than 1 MiB unread, and text that is not JSON', () => {
    expect(pointerCodec.decode(' '.repeat(1024 * 1024 + 1), {})).toMatchObject({ ok: false, errors: [{ expected: 'at most 1048576 bytes', actual: '1048577 bytes' }] });
    expect(pointerCodec.decode('{"schemaVersion":', {})).toMatchObject({ ok: false, errors: [{ actual: 'unparseable JSON' }] });
  });

  it('will not encode a pointer that does not match its schema', () => {
    expect(() => pointerCodec.encode({ ...POINTER, cause: 'whim' } as never)).toThrow(expect.objectContaining({ code: 'INTERNAL' }));
  });
});

describe('releaseRequestCodec', () => {
  const REQUEST = { schemaVersion: 1, game: 'space', upload: 'u1', channel: 'stable', kind: 'archives', archives: [{ name: 'a.zip', sha256: SHA, sizeBytes: 10, priority: 1 }], requestedAt: '2026-12-01T10:00:00.000Z' };

  it('accepts a request as lup publish writes it', () => {
    expect(releaseRequestCodec.check(REQUEST, {})).toEqual([]);
  });

  it('requires an archive for kind archives and the manifest digest for kind loose', () => {
    expect(releaseRequestCodec.check({ ...REQUEST, archives: [] }, {}).map((e) => e.location?.field)).toEqual(['archives']);
    expect(releaseRequestCodec.check({ ...REQUEST, kind: 'loose', archives: [] }, {}).map((e) => [e.location?.field, e.expected])).toEqual([['manifestSha256', 'this field (it is required)']]);
  });

  it('refuses a request over 64 KiB unread, naming the limit', () => {
    const big = JSON.stringify({ ...REQUEST, note: 'x'.repeat(70_000) });
    expect(releaseRequestCodec.decode(big, { key: 'k' })).toMatchObject({ ok: false, errors: [{ code: 'RELEASE_REQUEST_INVALID', expected: 'at most 65536 bytes' }] });
  });

  it('refuses ids with "..", archive names that are paths, and malformed keys', () => {
    const errors = releaseRequestCodec.check({ ...REQUEST, upload: 'a..b', archives: [{ ...REQUEST.archives[0], name: '../x.zip' }], publicKey: 'not base64!' }, {});
    expect(errors.map((e) => e.location?.field).sort()).toEqual(['archives[0].name', 'publicKey', 'upload']);
  });
});

describe('uploadStatusCodec and releaseRecordCodec', () => {
  it('refuse a status listing more than 50 errors', () => {
    const error = { code: 'RESOURCE_DIGEST_MISMATCH', message: 'm' };
    const status = { schemaVersion: 1, game: 'g', upload: 'u', state: 'refused', errors: Array.from({ length: 51 }, () => error), events: [], createdAt: '2026-12-01T10:00:00Z', updatedAt: '2026-12-01T10:00:00Z' };
    expect(uploadStatusCodec.check(status, {}).map((e) => [e.location?.field, e.expected])).toEqual([['errors', 'must NOT have more than 50 items']]);
  });

  it('refuse a release record whose archive path names another digest', () => {
    const record = {
      schemaVersion: 1, game: 'space', releaseId: 'r1', upload: 'r1', kind: 'archives', createdAt: '2026-12-01T10:00:00.000Z',
      manifest: POINTER.manifest, archives: [{ ...POINTER.archives[0], path: `content/space/archives/${'c'.repeat(64)}.zip` }],
      resourcesBase: POINTER.resourcesBase, resources: [], engineVersions: POINTER.engineVersions, projectIdentifier: 'd'.repeat(40),
    };
    expect(releaseRecordCodec.check(record, {}).map((e) => e.location?.field)).toEqual(['archives[0].path']);
  });
});
