/**
 * How tests run `lup` as a separate process from the checkout: the TypeScript entry through tsx,
 * so a test never runs a stale `dist/` (test/package/ runs the built, packed and installed one).
 */
import { join } from 'node:path';

/** The project root. */
export const ROOT = join(__dirname, '..', '..');

/** `spawn(process.execPath, [...LUP_NODE_ARGS, 'local', ...])` runs `lup local` from the sources. */
export const LUP_NODE_ARGS: readonly string[] = ['--import', 'tsx', join(ROOT, 'bin', 'lup.ts')];
