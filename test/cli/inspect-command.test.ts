import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InspectJson } from '../../lib/cli/inspect-command';
import { sha1OfText } from '../../lib/core/format/digest';
import { createContent } from '../../lib/factory/content-factory';
import { writeLooseFolder } from '../../lib/factory/write-content';
import { lup, lupJson } from '../helpers/cli-run';
import { FIXTURE_PROJECT_TITLE, FIXTURE_PUBLIC_KEY_PATH, FIXTURE_ROOT, REAL_BUILDS } from '../helpers/real-fixtures';

const REAL = REAL_BUILDS[2];

describe('lup inspect', () => {
  it('describes a real zip with stable --json keys', async () => {
    const { code, json } = await lupJson<InspectJson>(['inspect', REAL.zipPath, '--public-key', FIXTURE_PUBLIC_KEY_PATH, '--engine-version', '1.11.2', '--project-title', FIXTURE_PROJECT_TITLE]);
    expect(code).toBe(0);
    expect(json).toEqual({
      path: REAL.zipPath,
      kind: 'zip',
      sizeBytes: 2004737,
      entryCount: 8,
      totalUncompressedBytes: expect.any(Number),
      customFiles: [],
      manifest: {
        schema: 'v5',
        version: 5,
        resourceHashAlgorithm: 'sha1',
        signatureHashAlgorithm: 'sha256',
        signAlgorithm: 'rsa',
        projectIdentifier: sha1OfText(FIXTURE_PROJECT_TITLE),
        projectTitle: FIXTURE_PROJECT_TITLE,
        engineVersions: [
          { digest: sha1OfText(''), version: '' },
          { digest: sha1OfText('1.11.2'), version: '1.11.2' },
        ],
        counts: { resources: 44, bundled: 37, excluded: 7, compressed: 33, encrypted: 7 },
        signature: { present: true, sizeBytes: 256, status: 'valid' },
        archiveIdentifier: '242a4816c1351479daf5b79d4e75c382',
        sha256: 'c27f20bcd7bf31583779dd180cc262bfa58aec61edc6a417f4ddb16a3804cb9c',
        sizeBytes: 3976,
      },
      resource: null,
      valid: true,
      errors: [],
    });
    expect(json.totalUncompressedBytes).toBeGreaterThan(json.sizeBytes);
  });

  it('leaves unknown engine versions and project titles unnamed, and the signature unchecked without a key', async () => {
    const { json } = await lupJson<InspectJson>(['inspect', REAL_BUILDS[1].manifestPath]);
    expect(json.kind).toBe('manifest');
    expect(json.manifest?.engineVersions.map((v) => v.version).sort()).toEqual(['', null]);
    expect(json.manifest?.projectTitle).toBeNull();
    expect(json.manifest?.signature).toEqual({ present: true, sizeBytes: 256, status: 'unchecked' });
  });

  it('does not count compression in the old schema, which does not record it', async () => {
    const { json } = await lupJson<InspectJson>(['inspect', REAL_BUILDS[0].zipPath]);
    expect(json.manifest).toMatchObject({ schema: 'legacy', version: 4, counts: { resources: 33, bundled: 26, excluded: 7, compressed: null, encrypted: null } });
  });

  it('prints an aligned summary', async () => {
    const run = await lup(['inspect', '1f2d09bbbc22/old-version/resources.zip', '--engine-version', '1.11.2'], FIXTURE_ROOT);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatchInlineSnapshot(`
"path                1f2d09bbbc22/old-version/resources.zip
kind                zip (2004737 bytes, 8 entries, 3022172 bytes uncompressed)
schema              5 (ManifestFile.version 5)
algorithms          resources sha1, signature sha256 + rsa
project identifier  82547cf07098501a597cdc53426a04b15825edee
engine versions     da39a3ee5e6b4b0d3255bfef95601890afd80709 (SHA-1 of "": no supported-versions set)
                    aa8d05244067e63778197cff65d9209d713328a4 (engine 1.11.2)
resources           44 (37 bundled, 7 excluded; 33 compressed, 7 encrypted)
signature           256 bytes, present, not checked (pass --public-key)
archive identifier  242a4816c1351479daf5b79d4e75c382
manifest            3976 bytes, sha256 c27f20bcd7bf31583779dd180cc262bfa58aec61edc6a417f4ddb16a3804cb9c
custom files        none
validation          valid
"
`);
  });

  describe('on generated content', () => {
    let dir: string;
    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), 'lup-inspect-'));
    });
    afterEach(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('describes a loose folder with its custom files', async () => {
      const content = createContent({ seed: 2, resourceCount: 20, customFiles: [{ name: 'version_levels.json', bytes: Buffer.from('{}') }] });
      await writeLooseFolder(content, dir);
      const { code, json } = await lupJson<InspectJson>(['inspect', dir]);
      expect(code).toBe(0);
      expect(json).toMatchObject({ kind: 'folder', entryCount: content.resources.length + 2, customFiles: ['version_levels.json'], valid: true });
      expect(json.manifest?.signature).toEqual({ present: false, sizeBytes: 0, status: 'missing' });
    });

    it('describes a single resource by its header', async () => {
      const content = createContent({ seed: 2, resourceCount: 20, compressedFraction: 1, bundledFraction: 0 });
      const [resource] = content.resources;
      const entry = content.manifest.resources.find((e) => e.hash === resource.name);
      await writeFile(join(dir, resource.name), resource.bytes);
      const { code, json } = await lupJson<InspectJson>(['inspect', resource.name], dir);
      expect(code).toBe(0);
      expect(json).toMatchObject({ kind: 'resource', manifest: null, valid: true, resource: { name: resource.name, header: { uncompressedSizeBytes: entry?.size, compressed: true } } });
    });

    it('exits 1 when nothing can be read', async () => {
      await writeFile(join(dir, 'x.dmanifest'), 'not a manifest');
      const run = await lup(['inspect', 'x.dmanifest'], dir);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('MANIFEST_UNREADABLE');
    });
  });

  it('exits 2 naming a missing path', async () => {
    const run = await lup(['inspect', '/nonexistent/content.zip']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('"/nonexistent/content.zip" does not exist');
  });

  it('explains every option with an example in --help', async () => {
    const run = await lup(['inspect', '--help']);
    expect(run.code).toBe(0);
    for (const text of ['--project-title "My Game"', '--public-key game.public.der', '--engine-version 1.9.0', '--json', 'Examples:']) expect(run.stdout).toContain(text);
  });
});
