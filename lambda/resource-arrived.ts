/** Lambda: a loose resource arrived in staging. */
import { onResourceArrived } from '../lib/core/pipeline/steps';
import { pipelineContext } from './runtime';
import { s3StepHandler } from './s3-event';

export const handler = s3StepHandler(onResourceArrived, pipelineContext);
