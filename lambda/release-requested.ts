/** Lambda: a release request arrived in staging. */
import { onReleaseRequested } from '../lib/core/pipeline/steps';
import { pipelineContext } from './runtime';
import { s3StepHandler } from './s3-event';

export const handler = s3StepHandler(onReleaseRequested, pipelineContext);
