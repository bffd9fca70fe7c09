/**
 * The committed sample game (examples/sample-game) is what scripts/make-sample.ts makes, and it
 * passes the validation a real build passes.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { verifyLocalPath } from '../../lib/content/verify-local';
import { parsePublicKey } from '../../lib/core/config';
import { isExcluded } from '../../lib/core/format/manifest';
import { SAMPLE_ENGINE_VERSION, SAMPLE_PROJECT_TITLE, makeSample } from '../../scripts/make-sample';

const ROOT = join(__dirname, '..', '..');
const SAMPLE_DIR = join(ROOT, 'examples', 'sample-game');
const KEYS_DIR = join(ROOT, 'examples', 'keys');
const publicKey = parsePublicKey(readFileSync(join(KEYS_DIR, 'sample-public.der')).toString('base64'));
const policy = { projectTitle: SAMPLE_PROJECT_TITLE, publicKey, supportedEngineVersions: [SAMPLE_ENGINE_VERSION] };

async function listTree(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name))).sort();
}

describe('examples/sample-game', () => {
  it.each(['v1/sample.zip', 'v2/sample.zip', 'loose-v1'])('%s validates with the sample key, project and engine', async (path) => {
    const { report } = await verifyLocalPath(join(SAMPLE_DIR, path), policy);
    expect(report.errors).toEqual([]);
    expect(report.signature).toBe('valid');
    expect(report.customFiles).toEqual(['version_levels.json']);
  });

  it('has about 40 resources in v1 and a v2 that changes and adds some', async () => {
    const v1 = (await verifyLocalPath(join(SAMPLE_DIR, 'v1/sample.zip'), policy)).report;
    const v2 = (await verifyLocalPath(join(SAMPLE_DIR, 'v2/sample.zip'), policy)).report;
    expect(v1.manifest?.resources).toHaveLength(40);
    const v1Excluded = new Set(v1.manifest?.resources.filter(isExcluded).map((e) => e.hash));
    const v2New = (v2.manifest?.resources ?? []).filter((e) => isExcluded(e) && !v1Excluded.has(e.hash));
    expect(v2New.length).toBeGreaterThan(0);
    expect(v2New.length).toBeLessThan(v1Excluded.size);
  });

  it('stays small: under 2 MB committed, under 1 MB per zip', async () => {
    const files = await listTree(SAMPLE_DIR);
    const sizes = await Promise.all(files.map(async (f) => (await readFile(join(SAMPLE_DIR, f))).length));
    expect(sizes.reduce((a, b) => a + b, 0)).toBeLessThan(2 * 1024 * 1024);
    expect((await readFile(join(SAMPLE_DIR, 'v1/sample.zip'))).length).toBeLessThan(1024 * 1024);
  });

  it('is exactly what scripts/make-sample.ts makes (re-running gives identical bytes)', async () => {
    const out = await mkdtemp(join(tmpdir(), 'lup-sample-'));
    try {
      await makeSample(out, KEYS_DIR);
      const made = await listTree(out);
      expect(made).toEqual(await listTree(SAMPLE_DIR));
      for (const file of made) {
        const same = (await readFile(join(out, file))).equals(await readFile(join(SAMPLE_DIR, file)));
        expect({ file, same }).toEqual({ file, same: true });
      }
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });
});
