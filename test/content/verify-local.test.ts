import { mkdir, mkdtemp, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyLocalPath } from '../../lib/content/verify-local';
import { MANIFEST_NAME } from '../../lib/core/keys';
import { isExcluded } from '../../lib/core/format/manifest';
import { createContent } from '../../lib/factory/content-factory';
import { writeLooseFolder } from '../../lib/factory/write-content';
import { REAL_BUILDS } from '../helpers/real-fixtures';

const content = createContent({ seed: 31, resourceCount: 20 });
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lup-local-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe(verifyLocalPath, () => {
  it('throws INPUT_NOT_FOUND for a path that does not exist', async () => {
    await expect(verifyLocalPath(join(dir, 'nope'))).rejects.toMatchObject({ code: 'INPUT_NOT_FOUND', location: { file: join(dir, 'nope') } });
  });

  it('recognises a zip by its signature, whatever its name', async () => {
    const { kind, report } = await verifyLocalPath(REAL_BUILDS[1].zipPath);
    expect(kind).toBe('zip');
    expect(report.valid).toBe(true);
  });

  it('reports a .zip file too short to be one as an unreadable archive', async () => {
    await writeFile(join(dir, 'cut.zip'), 'PK');
    const { kind, report } = await verifyLocalPath(join(dir, 'cut.zip'));
    expect(kind).toBe('zip');
    expect(report.errors.map((e) => e.code)).toEqual(['ARCHIVE_UNREADABLE']);
  });

  it('accepts a folder whose only manifest has another *.dmanifest name', async () => {
    await writeLooseFolder(content, dir);
    await rename(join(dir, MANIFEST_NAME), join(dir, 'game.dmanifest'));
    const { kind, report } = await verifyLocalPath(dir);
    expect(kind).toBe('folder');
    expect(report.errors).toEqual([]);
  });

  it('refuses a folder without a manifest (ARCHIVE_NO_MANIFEST)', async () => {
    await writeLooseFolder(content, dir);
    await unlink(join(dir, MANIFEST_NAME));
    const { report } = await verifyLocalPath(dir);
    expect(report.errors).toEqual([expect.objectContaining({ code: 'ARCHIVE_NO_MANIFEST', location: { file: dir } })]);
  });

  it('requires every EXCLUDED resource in a folder, unless the policy says it may be partial', async () => {
    await writeLooseFolder(content, dir);
    const dropped = content.manifest.resources.find(isExcluded)?.hash ?? '';
    await unlink(join(dir, dropped));
    expect((await verifyLocalPath(dir)).report.errors).toEqual([expect.objectContaining({ code: 'RESOURCE_MISSING', location: expect.objectContaining({ entry: dropped }) })]);
    expect((await verifyLocalPath(dir, { requireComplete: false })).report.errors).toEqual([]);
  });

  it('lists files in sub-folders as custom files, hex-named or not', async () => {
    await writeLooseFolder(content, dir);
    await mkdir(join(dir, 'extra'));
    await writeFile(join(dir, 'extra', content.resources[0].name), 'x');
    await writeFile(join(dir, 'extra', 'readme.txt'), 'x');
    const { report } = await verifyLocalPath(dir);
    expect(report.errors).toEqual([]);
    expect(report.customFiles).toEqual([`extra/${content.resources[0].name}`, 'extra/readme.txt']);
  });

  it('resolves a relative path against cwd but reports it as given', async () => {
    await writeLooseFolder(content, join(dir, 'loose'));
    const name = content.resources[0].name;
    await writeFile(join(dir, 'loose', name), 'short');
    const { path, report } = await verifyLocalPath('loose', {}, { cwd: dir });
    expect(path).toBe('loose');
    expect(report.errors).toEqual([expect.objectContaining({ code: 'RESOURCE_HEADER_INVALID', location: { file: join('loose', name), entry: name, offset: 0 } })]);
  });

  it('checks a single resource file for its identity only', async () => {
    const [resource] = content.resources;
    await writeFile(join(dir, resource.name), resource.bytes);
    const { kind, report } = await verifyLocalPath(join(dir, resource.name), { projectTitle: 'anything' });
    expect(kind).toBe('resource');
    expect(report).toMatchObject({ valid: true, resourceCount: 1, resources: [resource.name] });
  });
});
