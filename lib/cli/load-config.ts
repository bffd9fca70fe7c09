/**
 * Reading a studio configuration file for `lup local --config` and the other commands.
 */
import { readFileSync } from 'node:fs';
import { validateStudioConfig, type StudioConfig } from '../core/config';
import { formatError } from '../core/errors';
import { UsageError } from './io';

/** Load and validate a configuration file; every problem is listed in one error. */
export function loadStudioConfig(path: string, flag = '--config'): StudioConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new UsageError(`${flag} ${path}: cannot read it as JSON (${error instanceof Error ? error.message : String(error)}).`);
  }
  const result = validateStudioConfig(raw);
  if (!result.ok) {
    throw new UsageError(`${flag} ${path} has ${result.errors.length} problem(s):\n${result.errors.map((e) => formatError(e.toJSON())).join('\n')}`);
  }
  return result.config;
}
