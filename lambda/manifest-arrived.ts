/** Lambda: a manifest arrived in staging. */
import { onManifestArrived } from '../lib/core/pipeline/steps';
import { pipelineContext } from './runtime';
import { s3StepHandler } from './s3-event';

export const handler = s3StepHandler(onManifestArrived, pipelineContext);
