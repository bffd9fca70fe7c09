/**
 * The real bob-built artifacts in `test/fixtures/defold-real/` (CC0; see its SOURCES.md): one
 * record per build, with the facts its SOURCES.md states. Tests read the project-local copy only.
 */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Root of the copied fixtures. */
export const FIXTURE_ROOT = join(__dirname, '..', 'fixtures', 'defold-real', 'indiesoftby__defold-liveupdate-reszip');

/** `project.title` of the game.project every build comes from. */
export const FIXTURE_PROJECT_TITLE = 'liveupdate_reszip_demo';

/** One real build. */
export interface RealBuild {
  readonly name: string;
  readonly engineVersion: string;
  readonly schema: 'v5' | 'legacy';
  /** The zip bob wrote to build/liveupdate_output. */
  readonly zipPath: string;
  /** The manifest bundled in the game (byte-identical to the zip's). */
  readonly manifestPath: string;
  readonly resourceCount: number;
}

export const REAL_BUILDS: readonly RealBuild[] = [
  {
    name: '1.2.192 (old schema)', engineVersion: '1.2.192', schema: 'legacy', resourceCount: 33,
    zipPath: join(FIXTURE_ROOT, '89185263829a/alt-version/resources.zip'),
    manifestPath: join(FIXTURE_ROOT, '89185263829a/alt-version/archive/game.dmanifest0'),
  },
  {
    name: '1.6.2', engineVersion: '1.6.2', schema: 'v5', resourceCount: 46,
    zipPath: join(FIXTURE_ROOT, '17d18b9f7ff0/old-version/defold.resourcepack_wasm-web_9499809176164071047.zip'),
    manifestPath: join(FIXTURE_ROOT, '17d18b9f7ff0/old-version/archive/game.dmanifest0'),
  },
  {
    name: '1.11.2', engineVersion: '1.11.2', schema: 'v5', resourceCount: 44,
    zipPath: join(FIXTURE_ROOT, '1f2d09bbbc22/old-version/resources.zip'),
    manifestPath: join(FIXTURE_ROOT, '1f2d09bbbc22/old-version/archive/game0.dmanifest'),
  },
];

/** The public key (RSA-2048, SPKI DER) that verifies every real manifest. */
export const FIXTURE_PUBLIC_KEY_PATH = join(FIXTURE_ROOT, '416908c390e1/liveupdate_public.der');
/** The matching private key (PKCS#8 DER). */
export const FIXTURE_PRIVATE_KEY_PATH = join(FIXTURE_ROOT, '416908c390e1/liveupdate_private.der');

export function fixturePublicKey(): KeyObject {
  return createPublicKey({ key: readFileSync(FIXTURE_PUBLIC_KEY_PATH), format: 'der', type: 'spki' });
}

export function fixturePrivateKey(): KeyObject {
  return createPrivateKey({ key: readFileSync(FIXTURE_PRIVATE_KEY_PATH), format: 'der', type: 'pkcs8' });
}
