/**
 * The configuration a deployed handler reads: a file (in the stack, from the configuration layer)
 * and the SHA-256 the stack deployed with it, as `lambda/environment.ts` names them.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LAMBDA_ENV } from '../../lambda/environment';

/** Write `raw` as the studio configuration file in `dir`; returns the environment that names it. */
export function studioConfigEnv(dir: string, raw: unknown, name = 'studio-config.json'): Record<string, string> {
  const json = JSON.stringify(raw);
  const file = join(dir, name);
  writeFileSync(file, json);
  return { [LAMBDA_ENV.studioConfigFile]: file, [LAMBDA_ENV.studioConfigSha256]: createHash('sha256').update(json).digest('hex') };
}
