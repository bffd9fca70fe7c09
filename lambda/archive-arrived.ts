/** Lambda: a zip archive arrived in staging. */
import { onArchiveArrived } from '../lib/core/pipeline/steps';
import { pipelineContext } from './runtime';
import { s3StepHandler } from './s3-event';

export const handler = s3StepHandler(onArchiveArrived, pipelineContext);
