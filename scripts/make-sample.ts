/**
 * Makes the committed sample game under `examples/sample-game/` with the content factory:
 * two versions of one project as zips (for the publish and rollback walkthroughs) and the first
 * version as a loose folder. Deterministic: re-running writes identical bytes.
 *
 *   npx tsx scripts/make-sample.ts                  # (re)write examples/sample-game/
 *   npx tsx scripts/make-sample.ts --generate-keys  # once: create examples/keys/ (refuses to overwrite)
 */
import { generateKeyPairSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parsePrivateKey } from '../lib/core/format/signature';
import {
  createContent,
  planResources,
  reviseResources,
  type ContentFactoryOptions,
  type FactoryContent,
  type SizeDistribution,
} from '../lib/factory/content-factory';
import { writeLooseFolder, writeZip } from '../lib/factory/write-content';

/** Where the sample keys live, relative to the repository root. */
export const SAMPLE_KEYS_DIR = 'examples/keys';
/** The sample's `project.title`. */
export const SAMPLE_PROJECT_TITLE = 'Sample Game';
/** The engine version the sample is "built" for. */
export const SAMPLE_ENGINE_VERSION = '1.9.0';

const SIZES: SizeDistribution = { minBytes: 64, maxBytes: 12_000 };

function levelsJson(version: number, levels: readonly string[]): Uint8Array {
  return Buffer.from(`${JSON.stringify({ version, levels }, null, 2)}\n`, 'utf8');
}

/** The two versions of the sample project, made with the key at `privateKeyDer` (PKCS#8 DER). */
export function sampleContent(privateKeyDer: Uint8Array): { v1: FactoryContent; v2: FactoryContent } {
  const privateKey = parsePrivateKey(privateKeyDer);
  const base: ContentFactoryOptions = {
    seed: 2024,
    resourceCount: 40,
    sizes: SIZES,
    bundledFraction: 0.25,
    resourcesPerLevel: 15,
    compressedFraction: 0.4,
    encryptedFraction: 0.1,
    dependants: true,
    schema: 'v5',
    privateKey,
    projectTitle: SAMPLE_PROJECT_TITLE,
    engineVersions: [SAMPLE_ENGINE_VERSION],
  };
  const plan = planResources(base);
  const v1 = createContent({ ...base, resources: plan, customFiles: [{ name: 'version_levels.json', bytes: levelsJson(1, ['level_001', 'level_002']) }] });
  const revised = reviseResources(plan, { seed: 2025, changedCount: 4, addedCount: 5, sizes: SIZES });
  const v2 = createContent({
    ...base,
    // A different archive identifier, as a rebuild would have.
    seed: 2025,
    resources: revised,
    customFiles: [{ name: 'version_levels.json', bytes: levelsJson(2, ['level_001', 'level_002', 'level_003']) }],
  });
  return { v1, v2 };
}

/**
 * Write the sample game under `outDir` (normally `examples/sample-game`): `v1/sample.zip`,
 * `v2/sample.zip` and `loose-v1/`. The folder is emptied first so no stale file survives.
 */
export async function makeSample(outDir: string, keysDir: string = SAMPLE_KEYS_DIR): Promise<void> {
  const privateKeyDer = await readFile(join(keysDir, 'sample-private.der'));
  const { v1, v2 } = sampleContent(privateKeyDer);
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  // Stored, not deflated: the bytes then do not depend on the zlib build of the Node.js used.
  await writeZip(v1, join(outDir, 'v1', 'sample.zip'), { compress: false });
  await writeZip(v2, join(outDir, 'v2', 'sample.zip'), { compress: false });
  await writeLooseFolder(v1, join(outDir, 'loose-v1'));
}

/** Create the sample key pair once (RSA-2048; private PKCS#8 DER, public SPKI DER). */
export async function generateSampleKeys(keysDir: string = SAMPLE_KEYS_DIR): Promise<void> {
  const privatePath = join(keysDir, 'sample-private.der');
  const publicPath = join(keysDir, 'sample-public.der');
  if (existsSync(privatePath) || existsSync(publicPath)) {
    throw new Error(`${keysDir} already holds sample keys; delete them first if you really want new ones (the committed samples are signed with them).`);
  }
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  await mkdir(keysDir, { recursive: true });
  await writeFile(privatePath, privateKey.export({ format: 'der', type: 'pkcs8' }));
  await writeFile(publicPath, publicKey.export({ format: 'der', type: 'spki' }));
}

async function main(): Promise<void> {
  const root = resolve(__dirname, '..');
  const keysDir = join(root, SAMPLE_KEYS_DIR);
  if (process.argv.includes('--generate-keys')) {
    await generateSampleKeys(keysDir);
    process.stdout.write(`wrote ${keysDir}/sample-private.der and sample-public.der\n`);
    return;
  }
  const outDir = join(root, 'examples', 'sample-game');
  await makeSample(outDir, keysDir);
  process.stdout.write(`wrote ${outDir}/{v1/sample.zip,v2/sample.zip,loose-v1/}\n`);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`make-sample: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
