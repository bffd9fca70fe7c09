/**
 * Where the CDK app gets the studio configuration: `-c studioConfig='{…json…}'`, or the file of
 * `-c config=path/to/studio.json`, or, only when asked with `-c example=true`, `examples/studio.json`.
 * Loaded and validated before any construct exists, every problem reported at once.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ConfigResult, validateStudioConfig } from '../core/config';
import { formatError, LupError, lupError } from '../core/errors';

/** The example configuration (`-c example=true`), relative to the project. */
export const EXAMPLE_CONFIG_FILE = 'examples/studio.json';

/** What to load, as given on the command line (`cdk … -c config=… | -c studioConfig=…`). */
export interface LoadStudioConfigRequest {
  /** Value of the `config` context: a path to a JSON file. @default - none: the configuration is required */
  readonly configFile?: string;
  /**
   * Value of the `example` context: with neither `configFile` nor `configJson`, load
   * EXAMPLE_CONFIG_FILE (its example games). Without it, a missing configuration is an error, so a
   * `cdk deploy` that forgot `-c config=…` never deploys the example games.
   * @default false
   */
  readonly example?: boolean;
  /** Value of the `studioConfig` context: the JSON document itself. Wins over `configFile`. @default - read `configFile` */
  readonly configJson?: unknown;
  /** Folder relative paths start from. @default process.cwd() */
  readonly cwd?: string;
}

/** The outcome, naming the source it was read from. */
export type LoadStudioConfigResponse = ConfigResult & { readonly source: string };

/** Read, parse and validate the studio configuration; never throws for bad input. */
export function loadStudioConfig(request: LoadStudioConfigRequest = {}): LoadStudioConfigResponse {
  if (request.configJson !== undefined) {
    const source = '-c studioConfig';
    // The CDK CLI hands `-c key=value` over as a string; a context set in code may be an object.
    if (typeof request.configJson !== 'string') return { ...validateStudioConfig(request.configJson), source };
    return parse(request.configJson, source, { flag: '-c studioConfig' });
  }
  if (request.configFile === undefined && !request.example) {
    return {
      ok: false,
      source: 'the command line',
      errors: [
        lupError({
          code: 'USAGE_INVALID',
          location: { flag: '-c config' },
          expected: '-c config=path/to/studio.json, -c studioConfig=\'{…}\' or -c example=true',
          actual: 'no studio configuration',
          message: `No studio configuration given: pass -c config=path/to/studio.json (start from ${EXAMPLE_CONFIG_FILE}), or -c example=true to synthesise or deploy the example games of ${EXAMPLE_CONFIG_FILE}.`,
        }),
      ],
    };
  }
  const file = path.resolve(request.cwd ?? process.cwd(), request.configFile ?? EXAMPLE_CONFIG_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    return {
      ok: false,
      source: file,
      errors: [
        lupError(
          {
            code: 'INPUT_NOT_FOUND',
            location: { file, flag: '-c config' },
            expected: 'a readable JSON file',
            actual: (cause as NodeJS.ErrnoException).code ?? String(cause),
            message: `Cannot read the studio configuration ${file}; pass -c config=path/to/studio.json.`,
          },
          cause,
        ),
      ],
    };
  }
  return parse(text, file, { file, flag: '-c config' });
}

function parse(text: string, source: string, location: { file?: string; flag: string }): LoadStudioConfigResponse {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    return {
      ok: false,
      source,
      errors: [
        lupError(
          { code: 'CONFIG_INVALID', location, expected: 'a JSON document', actual: (cause as Error).message, message: `The studio configuration from ${source} is not valid JSON.` },
          cause,
        ),
      ],
    };
  }
  return { ...validateStudioConfig(raw), source };
}

/** Render every problem for a terminal, one block per problem, each naming its field. */
export function formatConfigErrors(source: string, errors: readonly LupError[]): string {
  const header = `The studio configuration (${source}) has ${errors.length} problem${errors.length === 1 ? '' : 's'}; nothing was synthesised:`;
  return [header, ...errors.map((e) => formatError(e).split('\n').map((l, i) => (i === 0 ? `  - ${l}` : `    ${l}`)).join('\n'))].join('\n');
}
