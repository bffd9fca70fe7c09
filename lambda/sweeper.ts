/** Lambda, every few minutes: fails releases that never completed, listing what is missing (I4). */
import type { ScheduledEvent } from 'aws-lambda';
import { sweepIncompleteReleases } from '../lib/core/pipeline/sweeper';
import { pipelineContext } from './runtime';

/** Invoked by the EventBridge schedule (the event carries nothing the sweeper needs). */
export const handler = async (_event?: ScheduledEvent): Promise<{ failed: number; errors: number }> => {
  const report = await sweepIncompleteReleases(pipelineContext());
  return { failed: report.failed.length, errors: report.errors.length };
};
