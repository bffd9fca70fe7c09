/**
 * The one route table: which pipeline step handles an object created under `staging/`.
 * The CDK stack turns it into S3 event notifications; the local stack's event router matches
 * keys against it. One definition, two consumers.
 *
 * S3 refuses two notification rules for the same event whose prefixes overlap unless their
 * suffixes do not overlap either, and a rule cannot say "no suffix". Loose resources are named by
 * a lowercase hex digest, so they are routed by their last character (`0`–`f`): sixteen rules that
 * overlap neither `.zip`, `.dmanifest`, `release-request.json` nor `/null` (the editor's manifest
 * since bob ~1.9.6, see `EDITOR_NULL_MANIFEST_NAME`; it ends in `l`, no hex digit).
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-how-to-filtering.html
 */
import { EDITOR_NULL_MANIFEST_NAME, PREFIX, RELEASE_ATTEMPTS_PREFIX, RELEASE_ATTEMPT_SUFFIX, RELEASE_REQUEST_NAME } from './core/keys';

/** The pipeline steps triggered by objects arriving in staging. */
export type PipelineStep = 'resource' | 'archive' | 'manifest' | 'release';

/** One S3 notification filter and the step it triggers. */
export interface Route {
  readonly step: PipelineStep;
  readonly prefix: string;
  readonly suffix: string;
}

const HEX_DIGITS = '0123456789abcdef'.split('');

/** Every route, in the order they are matched. */
export const ROUTES: readonly Route[] = [
  { step: 'archive', prefix: PREFIX.staging, suffix: '.zip' },
  { step: 'manifest', prefix: PREFIX.staging, suffix: '.dmanifest' },
  { step: 'manifest', prefix: PREFIX.staging, suffix: `/${EDITOR_NULL_MANIFEST_NAME}` },
  { step: 'release', prefix: PREFIX.staging, suffix: RELEASE_REQUEST_NAME },
  // A staging step asking the release function for an attempt (it holds no flip grants itself).
  { step: 'release', prefix: RELEASE_ATTEMPTS_PREFIX, suffix: RELEASE_ATTEMPT_SUFFIX },
  ...HEX_DIGITS.map((d): Route => ({ step: 'resource', prefix: PREFIX.staging, suffix: d })),
];

/** The step an object key triggers, or `undefined` when no route matches (the object is ignored). */
export function routeFor(key: string): PipelineStep | undefined {
  return ROUTES.find((r) => key.startsWith(r.prefix) && key.endsWith(r.suffix))?.step;
}

/** The handler entry file (under `lambda/`) of each step, also used by the CDK stack. */
export const STEP_HANDLER_FILES: Readonly<Record<PipelineStep, string>> = {
  resource: 'resource-arrived.ts',
  archive: 'archive-arrived.ts',
  manifest: 'manifest-arrived.ts',
  release: 'release-requested.ts',
};
